#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Failure paths: each asserts the message, that the call failed, and (in teardown) that
# nothing leaked: no state, mount, cgroup or process.

load helpers

# create_fails ISOLAZI_TEXT SHARED_TEXT: create must fail with that message and leave no state
create_fails() {
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "$1" "$2"
	local create_output="$output"
	run -1 runtime state "$CID"
	assert_contains "does not exist"
	output="$create_output" # for further checks by the caller
}

@test "malformed config.json" {
	echo '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
	create_fails "config.json: invalid JSON" ""
}

@test "wrong type: process.args is a string" {
	update_config '.process.args = "sh"'
	create_fails "config.json: process.args: expected an array of strings" "process.args"
}

@test "missing config.json" {
	rm "$BUNDLE/config.json"
	create_fails "open \`$BUNDLE/config.json\`: no such file or directory" "config.json"
}

@test "missing rootfs" {
	update_config '.root.path = "nope"'
	create_fails "rootfs" "no such file or directory"
	assert_contains "no such file or directory"
}

@test "duplicate id" {
	set_args sleep 100
	create_container
	create_container "$CID" "$BUNDLE" || true
	[ "$status" -ne 0 ]
	assert_error "container \`$CID\` already exists" "exists"
	[ "$(state_field "$CID" status)" = created ]
}

@test "unknown id: state, start, kill, delete" {
	for verb in state start "kill" delete; do
		run -1 runtime "$verb" "nosuch-$CID"
		assert_error "container \`nosuch-$CID\` does not exist" "does not exist"
	done
}

@test "bad signal" {
	set_args sleep 100
	start_container
	run -1 runtime kill "$CID" NOTASIGNAL
	assert_error 'unknown signal `NOTASIGNAL`' 'unknown signal'
}

@test "failing hook" {
	update_config '.hooks.createRuntime = [{"path": "/bin/false", "args": ["false"]}]'
	create_fails "createRuntime" "exit status 1"
	assert_error "/bin/false" "exit status 1"
	assert_contains "exit status 1"
}

@test "missing binary by path" {
	set_args /nope
	create_fails 'exec `/nope`: no such file or directory' '/nope'
}

@test "missing binary via PATH" {
	set_args nope
	create_fails 'exec `nope`: executable file not found in $PATH' 'executable file not found in $PATH'
}

@test "a binary that is not executable" {
	set_args /etc/passwd
	create_fails 'exec `/etc/passwd`: permission denied' 'permission denied'
}

@test "bad cwd" {
	isolazi_only "runc 1.1.5 creates a missing cwd"
	update_config '.process.cwd = "/nope"'
	set_args true
	create_fails 'cwd' '/nope'
	assert_contains 'cwd' '`/nope`' 'no such file or directory'
}

@test "cwd that is a file" {
	update_config '.process.cwd = "/etc/passwd"'
	set_args true
	create_fails 'not a directory' 'not a directory'
}

@test "invalid namespace type" {
	update_config '.linux.namespaces += [{"type": "foo"}]'
	idx="$(jq '.linux.namespaces | length - 1' "$BUNDLE/config.json")"
	create_fails "config.json: linux.namespaces[$idx].type: unknown namespace type \"foo\"" "foo"
}

@test "joining a namespace path that does not exist" {
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/proc/999999999/ns/net" else . end)'
	create_fails "/proc/999999999/ns/net" "/proc/999999999/ns/net"
}

@test "a mount with an unknown type" {
	update_config '.mounts += [{"destination": "/x", "type": "nosuchfs", "source": "none"}]'
	create_fails "/x" "no such device"
}

@test "a bind mount whose source is missing" {
	update_config '.mounts += [{"destination": "/x", "type": "bind", "source": "/nonexistent-src", "options": ["bind"]}]'
	create_fails "/nonexistent-src" "no such file or directory"
}

@test "an rlimit above the hard limit (no CAP_SYS_RESOURCE)" {
	hard="$(ulimit -Hn)"
	[ "$hard" != unlimited ] || skip "hard NOFILE limit is unlimited"
	capsh --has-p=cap_sys_resource 2>/dev/null && skip "root has CAP_SYS_RESOURCE"
	update_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 1)), \"hard\": $((hard + 1))}]"
	set_args true
	create_fails "RLIMIT_NOFILE" "operation not permitted"
	assert_contains "operation not permitted"
}

@test "start, kill, delete after a failed create find nothing" {
	set_args /nope
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	run -1 runtime start "$CID"
	run -1 runtime kill "$CID" KILL
	run -0 runtime delete --force "$CID"
}

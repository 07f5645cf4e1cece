#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# namespaces: new ones differ from the host's, joined ones are shared.

load helpers

@test "the container process is pid 1 in its pid namespace" {
	set_args payload pid
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "pid=1 ppid=0" ]
}

@test "ps in the container sees only the container's processes" {
	set_args sh -c 'sleep 100 & sleep 0.2; ps -o pid,comm; exit 0'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	# header, sh, sleep, ps; sh is pid 1
	[ "$(wc -l <<<"$output")" -eq 4 ]
	[ "$(awk 'NR == 2 {print $1}' <<<"$output")" = 1 ]
}

@test "hostname" {
	update_config '.hostname = "box1"'
	set_args payload hostname
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(head -n1 <<<"$output")" = nodename=box1 ]
	[ "$(hostname)" != box1 ]
}

@test "domainname" {
	isolazi_only "runc 1.1.5 ignores domainname (runtime-spec 1.1)"
	update_config '.hostname = "box1" | .domainname = "example.org"'
	set_args payload hostname
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf 'nodename=box1\ndomainname=example.org')" ]
}

@test "uts, ipc, net, mnt, pid and cgroup namespaces differ from the host's" {
	requires cgroupns
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	for ns in uts ipc net mnt pid cgroup; do
		[ "$(ns_inode "$pid" "$ns")" != "$(ns_inode $$ "$ns")" ]
	done
	# not asked for: shared with the host
	[ "$(ns_inode "$pid" user)" = "$(ns_inode $$ user)" ]
}

@test "a namespace left out of the config is the host's" {
	update_config 'del(.hostname) | .linux.namespaces |= map(select(.type != "network" and .type != "uts"))'
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	[ "$(ns_inode "$pid" net)" = "$(ns_inode $$ net)" ]
	[ "$(ns_inode "$pid" uts)" = "$(ns_inode $$ uts)" ]
	[ "$(ns_inode "$pid" ipc)" != "$(ns_inode $$ ipc)" ]
}

@test "the new network namespace has only a loopback device" {
	set_args cat /proc/net/dev
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(tail -n +3 <<<"$output" | awk -F: '{gsub(/ /, "", $1); print $1}')" = lo ]
}

@test "a second container joins the first one's namespaces by path" {
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	setup_bundle2
	update_config "
		.process.args = [\"sleep\", \"100\"] |
		.linux.namespaces |= map(
			if .type == \"network\" then .path = \"/proc/$pid/ns/net\"
			elif .type == \"ipc\" then .path = \"/proc/$pid/ns/ipc\"
			elif .type == \"uts\" then .path = \"/proc/$pid/ns/uts\"
			else . end)" "$BUNDLE2"
	start_container "$CID2" "$BUNDLE2"
	pid2="$(container_pid "$CID2")"
	[ "$pid2" != "$pid" ]
	for ns in net ipc uts; do
		[ "$(ns_inode "$pid2" "$ns")" = "$(ns_inode "$pid" "$ns")" ]
	done
	[ "$(ns_inode "$pid2" mnt)" != "$(ns_inode "$pid" mnt)" ]
	[ "$(ns_inode "$pid2" pid)" != "$(ns_inode "$pid" pid)" ]
}

teardown() {
	if [ -n "${NETNS:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	teardown_bundle
}

@test "a container joins a network namespace made by ip netns add (a CNI's)" {
	command -v ip >/dev/null || skip "requires ip (iproute2)"
	NETNS="isolazi-$CID"
	ip netns add "$NETNS"
	ip -n "$NETNS" link add vtest0 type veth peer name vtest1
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end)'
	set_args sh -c 'readlink /proc/self/ns/net; cat /proc/net/dev'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" "vtest0:" "vtest1:"
	# The runtime itself stayed in its own network namespace, and the namespace outlives the
	# container.
	[ "$(readlink /proc/self/ns/net)" != "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" ]
	ip -n "$NETNS" link show vtest0 >/dev/null
}

@test "joining a network namespace path that does not exist fails clearly and leaves nothing" {
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/isolazi-missing-'"$CID"'" else . end)'
	i="$(jq '[.linux.namespaces[].type] | index("network")' "$BUNDLE/config.json")"
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "open network namespace \`/var/run/netns/isolazi-missing-$CID\` (linux.namespaces[$i].path): no such file or directory" \
		"no such file or directory"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "cgroup namespace: the container sees its cgroup as the root" {
	requires cgroupns
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	set_args payload cgroup
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ -n "$output" ]
	# every hierarchy's path is / inside
	[ -z "$(grep -v ':/$' <<<"$output")" ]
}

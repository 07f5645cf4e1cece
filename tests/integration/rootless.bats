#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Rootless: an unprivileged user runs `spec --rootless` and `run`.  Each test makes its own user
# (removed in teardown) and runs the runtime as that user with its own XDG_RUNTIME_DIR.

load helpers

setup() {
	setup_bundle
	command -v runuser >/dev/null || skip "requires runuser (util-linux)"
	TUSER="isolazitest-$$-${BATS_TEST_NUMBER}"
	useradd -m "$TUSER"
	TUID="$(id -u "$TUSER")"
	TGID="$(id -g "$TUSER")"
	THOME="$(getent passwd "$TUSER" | cut -d: -f6)"
	XDG="$THOME/run"
	mkdir -p "$XDG" "$THOME/bundle"
	cp -a "$BUNDLE/rootfs" "$THOME/bundle/rootfs"
	chown -R "$TUSER:" "$XDG" "$THOME/bundle"
	chmod 700 "$XDG"
	# The runtime binary must be reachable by the user.
	d="$(dirname "$RUNTIME")"
	while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
	as_user sh -c 'cd ~/bundle && "$0" spec --rootless' "$RUNTIME"
	# runc's rootless spec: read-only root; /tmp is a tmpfs for writing.
	user_config '.process.terminal = false
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}]'
}

teardown() {
	if [ -n "${TUSER:-}" ]; then
		for id in $(as_user "$RUNTIME" list -q 2>/dev/null); do
			as_user "$RUNTIME" delete --force "$id" >/dev/null 2>&1 || true
		done
		pkill -9 -u "$TUSER" 2>/dev/null || true
		sed -i "/^$TUSER:/d" /etc/subuid /etc/subgid 2>/dev/null || true
		userdel -r "$TUSER" >/dev/null 2>&1 || true
	fi
	teardown_bundle
}

# as_user CMD...: CMD as the test user, with its XDG_RUNTIME_DIR, bounded.
as_user() {
	bounded runuser -u "$TUSER" -- env XDG_RUNTIME_DIR="$XDG" HOME="$THOME" PATH="${USER_PATH:-$PATH}" "$@"
}

user_config() {
	local cfg="$THOME/bundle/config.json"
	jq "$1" "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg" && chown "$TUSER:" "$cfg"
}

user_run() {
	run as_user /bin/sh -c 'cd ~/bundle && exec "$@"' sh "$RUNTIME" "$@"
}

@test "rootless: spec --rootless maps the caller's ids to root" {
	run -0 jq -c '[.linux.uidMappings, .linux.gidMappings]' "$THOME/bundle/config.json"
	[ "$output" = "[[{\"containerID\":0,\"hostID\":$TUID,\"size\":1}],[{\"containerID\":0,\"hostID\":$TGID,\"size\":1}]]" ]
}

@test "rootless: run as an unprivileged user: root inside, mapped to the user, writable /tmp" {
	user_config '.process.args = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; payload ids; echo x > /tmp/f && cat /tmp/f"]'
	user_run run "$CID"
	[ "$status" -eq 0 ]
	[ "$(awk 'NR == 1 {print $1, $2, $3}' <<<"$output")" = "0 $TUID 1" ]
	[ "$(awk 'NR == 2 {print $1, $2, $3}' <<<"$output")" = "0 $TGID 1" ]
	assert_contains "uid=0 gid=0 euid=0 egid=0" $'\nx'
}

@test "rootless: the state lives under XDG_RUNTIME_DIR, and no cgroup is made when not delegated" {
	isolazi_only "state layout and debug text"
	user_config '.process.args = ["sleep", "100"]'
	# Output to a file, not a pipe: the created init keeps the caller's stdio open.
	status=0
	as_user /bin/sh -c 'cd ~/bundle && exec "$@"' sh "$RUNTIME" --debug create "$CID" \
		</dev/null >"$BATS_TEST_TMPDIR/create.log" 2>&1 || status=$?
	output="$(cat "$BATS_TEST_TMPDIR/create.log")"
	[ "$status" -eq 0 ]
	assert_contains "is not delegated to uid $TUID" "no cgroup"
	[ -d "$XDG/isolazi/$CID" ]
	run -0 as_user "$RUNTIME" state "$CID"
	[ "$(jq -r .status <<<"$output")" = created ]
	pid="$(jq -r .pid <<<"$output")"
	[ "$(stat -c %u "/proc/$pid")" = "$TUID" ] || [ "$(stat -c %u "/proc/$pid")" = 0 ]
	[ "$(awk '{print $2}' "/proc/$pid/uid_map")" = "$TUID" ]
	run -0 as_user "$RUNTIME" delete --force "$CID"
	[ ! -e "$XDG/isolazi/$CID" ]
	# Gone (a zombie waiting for its reaper counts as gone).
	for _ in $(seq 20); do alive "$pid" || break; sleep 0.1; done
	! alive "$pid"
}

@test "rootless: several ranges through newuidmap/newgidmap with /etc/subuid and /etc/subgid" {
	command -v newuidmap >/dev/null || skip "requires newuidmap (Debian package uidmap)"
	usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$TUSER"
	user_config '.linux.uidMappings = [{"containerID": 0, "hostID": '"$TUID"', "size": 1}, {"containerID": 1, "hostID": 300000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": '"$TGID"', "size": 1}, {"containerID": 1, "hostID": 300000, "size": 65536}]
		| .process.user = {"uid": 1000, "gid": 1000}
		| .process.args = ["sh", "-c", "cat /proc/self/uid_map; payload ids; echo y > /tmp/g && ls -n /tmp/g"]'
	user_run run "$CID"
	[ "$status" -eq 0 ]
	[ "$(awk 'NR == 1 {print $1, $2, $3}' <<<"$output")" = "0 $TUID 1" ]
	[ "$(awk 'NR == 2 {print $1, $2, $3}' <<<"$output")" = "1 300000 65536" ]
	assert_contains "uid=1000 gid=1000"
}

@test "rootless: a range not granted in /etc/subuid is refused by newuidmap, clearly" {
	isolazi_only "error text"
	command -v newuidmap >/dev/null || skip "requires newuidmap (Debian package uidmap)"
	user_config '.linux.uidMappings += [{"containerID": 1, "hostID": 400000, "size": 10}]'
	user_run run "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.uidMappings: \`newuidmap\` refused the mapping" "/etc/subuid"
	[ -z "$(ls -A "$XDG/isolazi" 2>/dev/null)" ]
}

@test "rootless: several ranges without newuidmap give a clear error" {
	isolazi_only "error text"
	mkdir -p "$THOME/emptybin"
	chmod 755 "$THOME/emptybin"
	user_config '.linux.uidMappings += [{"containerID": 1, "hostID": 400000, "size": 10}]'
	USER_PATH="$THOME/emptybin" user_run run "$CID"
	[ "$status" -ne 0 ]
	assert_contains "\`newuidmap\` (Debian package uidmap), which is not installed"
	[ -z "$(ls -A "$XDG/isolazi" 2>/dev/null)" ]
}

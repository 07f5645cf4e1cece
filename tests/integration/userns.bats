#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# User namespaces: linux.uidMappings/gidMappings, the container's root mapped to an unprivileged
# host range, joining another container's user namespace by path (pods: with a new or a joined
# pid namespace), and namespaces owned by the host's user namespace (ip netns add) joined
# together with a new or joined user namespace.

load helpers

# A new user namespace mapping container 0-65535 to host 100000-165535 (uids) and
# 200000-265535 (gids): different bases, so a swapped uid/gid map shows.
userns_config() {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	# The container's root must own its rootfs to write into it.
	chown -R 100000:200000 "$BUNDLE/rootfs"
	traversable "$BUNDLE"
}

# traversable DIR: let every user search DIR and its parents.  The init works as the user
# namespace's root, which is an unprivileged uid on the host: bats' private 0700 temporary
# directories would hide the bundle from it (as they would with runc).
traversable() {
	local d="$1"
	while [ "$d" != / ] && [ -n "$d" ]; do
		chmod o+x "$d"
		d="$(dirname "$d")"
	done
}

@test "userns: uid_map and gid_map inside match the config" {
	userns_config
	set_args sh -c 'cat /proc/self/uid_map /proc/self/gid_map; payload ids'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(awk 'NR == 1 {print $1, $2, $3}' <<<"$output")" = "0 100000 65536" ]
	[ "$(awk 'NR == 2 {print $1, $2, $3}' <<<"$output")" = "0 200000 65536" ]
	assert_contains "uid=0 gid=0 euid=0 egid=0"
}

@test "userns: several ranges" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000},
			{"containerID": 1000, "hostID": 300000, "size": 10}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	chown -R 100000:200000 "$BUNDLE/rootfs"
	traversable "$BUNDLE"
	update_config '.process.user = {"uid": 1005, "gid": 7}'
	set_args sh -c 'cat /proc/self/uid_map; payload ids'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(awk 'NR == 2 {print $1, $2, $3}' <<<"$output")" = "1000 300000 10" ]
	assert_contains "uid=1005 gid=7 euid=1005 egid=7"
}

@test "userns: a file created by root inside belongs to the mapped host ids" {
	userns_config
	mkdir "$BATS_TEST_TMPDIR/shared"
	chown 100000:200000 "$BATS_TEST_TMPDIR/shared"
	update_config '.mounts += [{"destination": "/shared", "type": "bind", "source": "'"$BATS_TEST_TMPDIR/shared"'", "options": ["rbind"]}]'
	update_config '.process.capabilities.bounding += ["CAP_CHOWN"] | .process.capabilities.effective += ["CAP_CHOWN"] | .process.capabilities.permitted += ["CAP_CHOWN"]'
	set_args sh -c 'touch /shared/f && mkdir /shared/d && chown 5:6 /shared/d && ls -ln /shared'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(stat -c %u:%g "$BATS_TEST_TMPDIR/shared/f")" = "100000:200000" ]
	[ "$(stat -c %u:%g "$BATS_TEST_TMPDIR/shared/d")" = "100005:200006" ]
}

@test "userns: host files owned by unmapped ids show as the overflow id" {
	userns_config
	set_args sh -c 'stat -c %u:%g /proc/1/environ /etc/passwd'
	chown 0:0 "$BUNDLE/rootfs/etc/passwd"
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "$(cat /proc/sys/kernel/overflowuid):$(cat /proc/sys/kernel/overflowgid)"
}

@test "userns: root inside has its capabilities only in its own user namespace" {
	local caps='["CAP_MKNOD", "CAP_SYS_ADMIN", "CAP_SYS_MODULE"]'
	update_config '.process.capabilities.bounding += '"$caps"' | .process.capabilities.effective += '"$caps"' | .process.capabilities.permitted += '"$caps"
	set_args sh -c 'payload caps; mknod /tmp/null2 c 1 3 && echo MKNOD-OK; mount -t tmpfs none /tmp && echo MOUNT-OK; echo done'
	# Control: without a user namespace, the same capabilities make a device node.
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains MKNOD-OK
	rm -f "$BUNDLE/rootfs/tmp/null2"
	userns_config
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	# The capabilities are there, but only over the container's own user namespace: a tmpfs
	# in its mount namespace works, a device node needs CAP_MKNOD in the host's (mknod(2)).
	eff="$(awk '/^CapEff/ {print $2}' <<<"$output")"
	[ $(((0x$eff >> 27) & 1)) -eq 1 ] # CAP_MKNOD
	assert_contains "MOUNT-OK" "done"
	[[ "$output" != *MKNOD-OK* ]]
	[ ! -e "$BUNDLE/rootfs/tmp/null2" ]
}

@test "userns: /dev nodes are bind mounts from the host and work" {
	userns_config
	set_args sh -c 'echo hi > /dev/null && head -c 4 /dev/zero | od -An -tx1 && grep -c " /dev/null " /proc/self/mountinfo'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "00 00 00 00"
	[ "$(tail -n1 <<<"$output")" = 1 ]
}

@test "userns: devpts, mqueue and a new sysfs with its own network namespace" {
	userns_config
	update_config '.mounts |= map(select(.destination != "/sys/fs/cgroup"))'
	set_args sh -c 'grep -E " /dev/pts | /dev/mqueue | /sys " /proc/self/mountinfo | awk "{print \$5, \$9}"'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "/dev/pts devpts" "/dev/mqueue mqueue" "/sys sysfs"
}

# A pod: container A (the infra container) owns a new user namespace; members join it.
# pod_infra: A in a new user namespace, running; sets POD_PID (its init's host pid).
pod_infra() {
	userns_config
	set_args sleep 100
	start_container
	POD_PID="$(container_pid)"
}

# pod_member JQ_FILTER...: BUNDLE2 joins A's user namespace by path, with A's mappings (runc
# wants them in the config, though a joined namespace keeps its own), then each filter.
pod_member() {
	local f
	setup_bundle2
	chown -R 100000:200000 "$BUNDLE2/rootfs"
	traversable "$BUNDLE2"
	update_config '.linux.namespaces += [{"type": "user", "path": "/proc/'"$POD_PID"'/ns/user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]' "$BUNDLE2"
	for f in "$@"; do
		update_config "$f" "$BUNDLE2"
	done
}

# ns_owner PID TYPE: the inode of the user namespace that owns PID's TYPE namespace.
ns_owner() {
	lsns -n -p "$1" -t "$2" -o ONS | tr -d ' '
}

# user_ns_ino PID: the inode of PID's user namespace.
user_ns_ino() {
	stat -L -c %i "/proc/$1/ns/user"
}

@test "userns: a pod member joins the pod's user namespace with a new pid namespace" {
	pod_infra
	pod_member '.process.args = ["sh", "-c", "echo pid=$$; payload ids; cat /proc/self/uid_map; readlink /proc/self/ns/user; ps -o pid,args; exit 3"]'
	# `run` returns the member's exit status: its init is the runtime's child.
	run -3 runtime run --bundle "$BUNDLE2" "$CID2"
	# Its shell is pid 1 of its own pid namespace, and proc could be mounted there: the pid
	# namespace is owned by the joined user namespace.
	assert_contains "pid=1" "uid=0 gid=0 euid=0 egid=0" "$(ns_inode "$POD_PID" user)"
	[ "$(awk '$1 == 0 {print $1, $2, $3; exit}' <<<"$output")" = "0 100000 65536" ]
	# Only its own processes: the shell (pid 1) and ps.
	[[ "$output" != *"sleep 100"* ]]
	[ "$(sed -n '/^PID/,$p' <<<"$output" | awk '$1 ~ /^[0-9]+$/' | wc -l)" -eq 2 ]
	[ "$(sed -n '/^PID/,$p' <<<"$output" | awk '$1 == 1 {print $2, $3}')" = "sh -c" ]
}

@test "userns: create, exec, kill and delete of a pod member with its own pid namespace" {
	pod_infra
	pod_member '.process.args = ["sleep", "100"]'
	create_container "$CID2" "$BUNDLE2"
	pid2="$(container_pid "$CID2")"
	# The state's pid is the init's host pid, the runtime's child until create returned.
	[ -d "/proc/$pid2" ] && [ "$pid2" != "$POD_PID" ]
	[ "$(state_field "$CID2" status)" = created ]
	run -0 runtime start "$CID2"
	wait_status "$CID2" running
	[ "$(ns_inode "$pid2" user)" = "$(ns_inode "$POD_PID" user)" ]
	[ "$(ns_inode "$pid2" pid)" != "$(ns_inode "$POD_PID" pid)" ]
	[ "$(ns_inode "$pid2" pid)" != "$(ns_inode $$ pid)" ]
	[ "$(ns_owner "$pid2" pid)" = "$(user_ns_ino "$POD_PID")" ]
	[ "$(ns_owner "$pid2" mnt)" = "$(user_ns_ino "$POD_PID")" ]
	[ "$(tr -d '\0' <"/proc/$pid2/cmdline")" = sleep100 ]
	# exec joins the member's namespaces, its pid namespace included.
	run -0 runtime exec "$CID2" sh -c 'echo pid=$$; readlink /proc/self/ns/user; id -u; ps -o pid,args'
	assert_contains "$(ns_inode "$POD_PID" user)" "1 sleep 100"
	[ "$(sed -n 's/^pid=//p' <<<"$output")" -gt 1 ]
	[ "$(sed -n 3p <<<"$output")" = 0 ]
	run -0 runtime kill "$CID2" KILL
	wait_status "$CID2" stopped
	run -0 runtime delete "$CID2"
	! alive "$pid2"
	run ! runtime state "$CID2"
	# The pod's infra container is untouched.
	[ "$(state_field "$CID" status)" = running ]
}

@test "userns: a pod member joins the pod's user and pid namespaces" {
	pod_infra
	pod_member '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/'"$POD_PID"'/ns/pid" else . end)
		| .process.args = ["sh", "-c", "cat /proc/self/uid_map; payload ids; ps -o pid,args; exit 4"]'
	run -4 runtime run --bundle "$BUNDLE2" "$CID2"
	[ "$(awk 'NR == 1 {print $1, $2, $3}' <<<"$output")" = "0 100000 65536" ]
	assert_contains "uid=0 gid=0" "1 sleep 100"
	# Both in the same user and pid namespaces.
	update_config '.process.args = ["sleep", "100"]' "$BUNDLE2"
	start_container "$CID2" "$BUNDLE2"
	pid2="$(container_pid "$CID2")"
	[ "$(ns_inode "$pid2" user)" = "$(ns_inode "$POD_PID" user)" ]
	[ "$(ns_inode "$pid2" pid)" = "$(ns_inode "$POD_PID" pid)" ]
	[ "$(ns_inode "$POD_PID" user)" != "$(ns_inode $$ user)" ]
	run -0 runtime exec "$CID2" sh -c 'ps -o pid,args'
	assert_contains "1 sleep 100"
	[ "$(grep -c 'sleep 100' <<<"$output")" -eq 2 ]
	run -0 runtime delete --force "$CID2"
	! alive "$pid2"
	[ "$(state_field "$CID" status)" = running ]
}

# A network namespace made by `ip netns add`, owned by the host's user namespace, with a veth
# pair in it; sets NETNS.  Deleted by teardown.
host_netns() {
	command -v ip >/dev/null || skip "requires ip (iproute2)"
	NETNS="isolazi-$CID"
	ip netns add "$NETNS"
	ip -n "$NETNS" link add vtest0 type veth peer name vtest1
}

teardown() {
	if [ -n "${NETNS:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	teardown_bundle
}

@test "userns: a new user namespace joins a network namespace from ip netns add" {
	host_netns
	userns_config
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end)'
	# createRuntime hooks run in the runtime's namespaces: it must be back in its own.
	update_config '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "readlink /proc/self/ns/net > '"$BATS_TEST_TMPDIR"'/hook-net"]}]'
	set_args sh -c 'readlink /proc/self/ns/net; payload ids; cat /proc/net/dev; grep " /sys " /proc/self/mountinfo | awk "{print \"sys:\" \$5, \$6}"'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" "uid=0 gid=0" "vtest0:" "vtest1:"
	# A new sysfs needs the user namespace that owns the network namespace (the kernel's
	# net_current_may_mount): the host's /sys is bound in its place, read-only (runc 1.1.5 fails).
	assert_contains "sys:/sys ro,nosuid,nodev,noexec"
	[ "$(cat "$BATS_TEST_TMPDIR/hook-net")" = "$(readlink /proc/self/ns/net)" ]
	# A running one: the rest of its namespaces are owned by its new user namespace.
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	[ "$(ns_inode "$pid" net)" = "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" ]
	[ "$(ns_owner "$pid" net)" = "$(user_ns_ino $$)" ]
	for t in mnt pid uts ipc; do
		[ "$(ns_owner "$pid" "$t")" = "$(user_ns_ino "$pid")" ]
	done
	run -0 runtime delete --force "$CID"
	! alive "$pid"
	# The namespace outlives the container.
	ip -n "$NETNS" link show vtest0 >/dev/null
}

@test "userns: exec into a container with a new user namespace and a host network namespace" {
	isolazi_only "runc 1.1.5's exec joins the user namespace first, then gets EPERM on the network namespace"
	host_netns
	userns_config
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end)'
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	run -0 runtime exec "$CID" sh -c 'readlink /proc/self/ns/net; readlink /proc/self/ns/user; cat /proc/net/dev'
	assert_contains "vtest0:" "$(ns_inode "$pid" net)" "$(ns_inode "$pid" user)"
	run -0 runtime delete --force "$CID"
	! alive "$pid"
}

@test "userns: a pod member joins the pod's user namespace and a host network namespace" {
	isolazi_only "runc 1.1.5 joins the user namespace first, then gets EPERM on the network namespace"
	host_netns
	pod_infra
	pod_member '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end)
		| .process.args = ["sh", "-c", "echo pid=$$; readlink /proc/self/ns/net; readlink /proc/self/ns/user; cat /proc/net/dev"]'
	run -0 runtime run --bundle "$BUNDLE2" "$CID2"
	assert_contains "pid=1" "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" "$(ns_inode "$POD_PID" user)" "vtest1:"
	update_config '.process.args = ["sleep", "100"]' "$BUNDLE2"
	start_container "$CID2" "$BUNDLE2"
	pid2="$(container_pid "$CID2")"
	[ "$(ns_owner "$pid2" pid)" = "$(user_ns_ino "$POD_PID")" ]
	[ "$(ns_owner "$pid2" net)" = "$(user_ns_ino $$)" ]
	run -0 runtime exec "$CID2" sh -c 'readlink /proc/self/ns/net; cat /proc/net/dev'
	assert_contains "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]" "vtest0:"
}

@test "userns: joining a path that is not a user namespace fails clearly and leaves nothing" {
	update_config '.linux.namespaces += [{"type": "user", "path": "/proc/self/ns/net"}]'
	i="$(jq '.linux.namespaces | length - 1' "$BUNDLE/config.json")"
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "\`/proc/self/ns/net\` (linux.namespaces[$i].path) is not a user namespace" "namespace"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: joining a missing user namespace path fails clearly and leaves nothing" {
	update_config '.linux.namespaces += [{"type": "user", "path": "/nonexistent/ns/user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	i="$(jq '.linux.namespaces | length - 1' "$BUNDLE/config.json")"
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "open user namespace \`/nonexistent/ns/user\` (linux.namespaces[$i].path): no such file or directory" \
		"no such file or directory"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: an intermediate process that cannot join reports why and leaves nothing" {
	isolazi_only "error text"
	# The runtime's own user namespace: setns(2) refuses to re-enter it (EINVAL), in the
	# process that would clone the new pid namespace.
	update_config '.linux.namespaces += [{"type": "user", "path": "/proc/'"$$"'/ns/user"}]'
	i="$(jq '.linux.namespaces | length - 1' "$BUNDLE/config.json")"
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "join user namespace \`/proc/$$/ns/user\` (linux.namespaces[$i].path): invalid argument"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: overlapping containerID ranges are refused with the JSON path" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 100}, {"containerID": 50, "hostID": 300000, "size": 10}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]" ""
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: a mapping of size 0 is refused with the JSON path" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 0}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "config.json: linux.gidMappings[0].size: must be greater than 0" ""
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: a new user namespace without mappings is refused" {
	isolazi_only "runc 1.1.5 accepts it and fails later with a different text"
	update_config '.linux.namespaces += [{"type": "user"}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "config.json: linux.uidMappings: a new user namespace needs mappings"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: mappings without a user namespace are refused" {
	update_config '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "linux.uidMappings: mappings need a user namespace" "user namespace"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "userns: a mapping the kernel refuses fails create and leaves nothing" {
	isolazi_only "error text"
	# Container root mapped, but uid 0 of the namespace is not: the init cannot become it.
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 1, "hostID": 100000, "size": 10}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 10}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "become uid 0 in the user namespace"
	[ -z "$(ls -A "$ROOT")" ]
}

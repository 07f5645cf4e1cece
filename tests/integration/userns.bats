#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# User namespaces: linux.uidMappings/gidMappings, the container's root mapped to an unprivileged
# host range, and joining another container's user namespace by path.

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

@test "userns: joining another container's user namespace by path" {
	userns_config
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	setup_bundle2
	chown -R 100000:200000 "$BUNDLE2/rootfs"
	traversable "$BUNDLE2"
	# The user and pid namespaces joined (a new pid namespace would be the host's), the rest new.
	update_config '.linux.namespaces |= map(select(.type != "pid"))
		| .linux.namespaces += [{"type": "user", "path": "/proc/'"$pid"'/ns/user"}, {"type": "pid", "path": "/proc/'"$pid"'/ns/pid"}]
		| .process.args = ["sh", "-c", "cat /proc/self/uid_map; payload ids"]' "$BUNDLE2"
	run -0 runtime run --bundle "$BUNDLE2" "$CID2"
	[ "$(awk 'NR == 1 {print $1, $2, $3}' <<<"$output")" = "0 100000 65536" ]
	assert_contains "uid=0 gid=0"
	# Both in the same user namespace.
	update_config '.process.args = ["sleep", "100"]' "$BUNDLE2"
	start_container "$CID2" "$BUNDLE2"
	[ "$(ns_inode "$(container_pid "$CID2")" user)" = "$(ns_inode "$pid" user)" ]
	[ "$(ns_inode "$pid" user)" != "$(ns_inode $$ user)" ]
}

@test "userns: a joined user namespace with a new pid namespace is refused clearly" {
	isolazi_only "runc supports it through its intermediate process"
	update_config '.linux.namespaces += [{"type": "user", "path": "/proc/1/ns/user"}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "joining a user namespace with a new pid namespace is not supported yet"
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

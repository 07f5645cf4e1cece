#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# mounts: binds, tmpfs, propagation, readonly root, masked and readonly paths, /dev.

load helpers

setup() {
	setup_bundle
	VOL="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$VOL"
	echo host-data >"$VOL/file"
}

teardown() {
	local ret=0
	teardown_bundle || ret=$?
	# host mounts some tests make under $VOL
	awk -v v="$VOL" 'index($5, v) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || true; done
	return $ret
}

add_mount() {
	update_config ".mounts += [$1]"
}

# mountinfo line of DEST as the container's init sees it
ctr_mount() {
	awk -v d="$2" '$5 == d' "/proc/$1/mountinfo"
}

@test "read-only bind mount" {
	add_mount "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"bind\", \"ro\"]}"
	set_args sh -c 'cat /mnt/file; payload write /mnt/new x'
	run -1 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains host-data "Read-only file system"
	[ ! -e "$VOL/new" ]
}

@test "read-write bind mount, file bind mount" {
	echo single >"$BATS_TEST_TMPDIR/single"
	add_mount "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"bind\", \"rw\"]}"
	add_mount "{\"destination\": \"/etc/single\", \"type\": \"bind\", \"source\": \"$BATS_TEST_TMPDIR/single\", \"options\": [\"bind\"]}"
	set_args sh -c 'payload write /mnt/new from-container && cat /etc/single'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = single ]
	[ "$(cat "$VOL/new")" = from-container ]
}

@test "a bind mount destination is created when missing" {
	add_mount "{\"destination\": \"/new/deep/dir\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"bind\"]}"
	set_args cat /new/deep/dir/file
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = host-data ]
}

@test "tmpfs with size and mode" {
	add_mount '{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=0700", "nosuid"]}'
	set_args sh -c 'stat -c %a /scratch; grep " /scratch " /proc/self/mountinfo'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(head -n1 <<<"$output")" = 700 ]
	assert_contains " - tmpfs " "size=1024k" "nosuid"
}

@test "rbind brings submounts, bind does not" {
	mkdir -p "$VOL/sub"
	mount -t tmpfs -o size=1m tmpfs "$VOL/sub"
	echo in-submount >"$VOL/sub/f"
	add_mount "{\"destination\": \"/r\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"rbind\"]}"
	add_mount "{\"destination\": \"/b\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"bind\"]}"
	set_args sh -c 'cat /r/sub/f; ls -A /b/sub | wc -l'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf 'in-submount\n0')" ]
}

@test "propagation: rslave sees later host mounts, rprivate does not" {
	mkdir -p "$VOL/slave" "$VOL/private"
	# a shared mount on the host to propagate from
	mount --bind "$VOL" "$VOL"
	mount --make-shared "$VOL"
	add_mount "{\"destination\": \"/slave\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"rbind\", \"rslave\"]}"
	add_mount "{\"destination\": \"/private\", \"type\": \"bind\", \"source\": \"$VOL\", \"options\": [\"rbind\", \"rprivate\"]}"
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	mkdir -p "$VOL/later"
	mount -t tmpfs -o size=1m tmpfs "$VOL/later"
	sleep 0.2
	[ -n "$(ctr_mount "$pid" /slave/later)" ]
	[ -z "$(ctr_mount "$pid" /private/later)" ]
	# and the container's mounts never reach the host
	[ -z "$(awk -v b="$VOL" '$5 == b "/slave"' /proc/self/mountinfo)" ]
}

@test "readonly root filesystem" {
	update_config '.root.readonly = true'
	set_args sh -c 'payload write /x y; payload write /tmp/x y; payload write /dev/shm/x y && echo shm-ok'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "open \`/x\`: Read-only file system" "open \`/tmp/x\`: Read-only file system" shm-ok
}

@test "maskedPaths hide files and directories" {
	mkdir -p "$BUNDLE/rootfs/secret-dir"
	echo s >"$BUNDLE/rootfs/secret-dir/f"
	echo s >"$BUNDLE/rootfs/secret-file"
	update_config '.linux.maskedPaths += ["/secret-dir", "/secret-file", "/does-not-exist"]'
	set_args sh -c 'wc -c < /proc/timer_list; ls -A /secret-dir | wc -l; wc -c < /secret-file; ls -A /sys/firmware | wc -l'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf '0\n0\n0\n0')" ]
}

@test "readonlyPaths are read-only" {
	mkdir -p "$BUNDLE/rootfs/data"
	update_config '.linux.readonlyPaths += ["/data"]'
	set_args sh -c 'payload write /data/x y; payload write /proc/sys/kernel/hostname z; payload write /tmp/ok y && echo tmp-ok'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "open \`/data/x\`: Read-only file system" "/proc/sys/kernel/hostname\`: Read-only file system" tmp-ok
}

@test "/dev has the default nodes and symlinks" {
	set_args sh -c 'for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done
		for l in fd stdin stdout stderr ptmx; do [ -L /dev/$l ] && echo "$l -> $(readlink /dev/$l)"; done
		echo x > /dev/null && echo null-writable
		head -c 4 /dev/zero | wc -c'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf '%s\n' null zero full random urandom tty \
		'fd -> /proc/self/fd' 'stdin -> /proc/self/fd/0' 'stdout -> /proc/self/fd/1' \
		'stderr -> /proc/self/fd/2' 'ptmx -> pts/ptmx' null-writable 4)" ]
}

@test "linux.devices creates a device node" {
	update_config '.linux.devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 0, "gid": 0}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
	set_args sh -c 'stat -c "%F %t:%T %a" /dev/mynull; echo x > /dev/mynull && echo ok'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf 'character special file 1:3 660\nok')" ]
}

@test "the devices cgroup denies what is not allowed" {
	requires cgroup_v1
	# /dev/sda-like node made by hand inside: deny-all must block it
	set_args sh -c 'mknod /dev/blk b 8 0 2>&1; head -c1 /dev/blk >/dev/null 2>&1 && echo readable || echo denied'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains denied
}

@test "/dev/shm, /dev/mqueue, /dev/pts and the cgroup mount" {
	set_args sh -c 'grep -E " /(dev/shm|dev/mqueue|dev/pts|sys/fs/cgroup|sys|proc) " /proc/self/mountinfo'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[[ "$(awk '$5 == "/dev/shm"' <<<"$output")" == *" - tmpfs "* ]]
	[[ "$(awk '$5 == "/dev/mqueue"' <<<"$output")" == *" - mqueue "* ]]
	[[ "$(awk '$5 == "/dev/pts"' <<<"$output")" == *" - devpts "* ]]
	[[ "$(awk '$5 == "/proc"' <<<"$output")" == *" - proc "* ]]
	[[ "$(awk '$5 == "/sys"' <<<"$output")" == *" ro,"* ]]
	# hybrid host: /sys/fs/cgroup is a tmpfs holding one cgroup mount per hierarchy, read-only
	set_args sh -c 'ls /sys/fs/cgroup; grep " /sys/fs/cgroup/" /proc/self/mountinfo; payload write /sys/fs/cgroup/pids/x y'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains pids memory "Read-only file system"
	[[ "$(awk '$5 == "/sys/fs/cgroup/pids"' <<<"$output")" == *" - cgroup "*pids* ]]
}

@test "symlinks in the rootfs cannot redirect a mount onto the host" {
	ln -s "$VOL" "$BUNDLE/rootfs/escape"
	add_mount '{"destination": "/escape/m", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	# whatever the outcome, nothing may be mounted on the host directory
	[ -z "$(awk -v v="$VOL" 'index($5, v) == 1' /proc/self/mountinfo)" ]
	[ ! -e "$VOL/m" ] || [ -z "$(ls -A "$VOL/m")" ]
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# escapes: each test plants a known container-escape attack and checks that it fails.

load helpers

setup() {
	setup_bundle
	VOL="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$VOL"
	echo host-data >"$VOL/file"
	local attack="$BUILDDIR/tests/payload/attack"
	[ -x "$attack" ] || attack="$BATS_RUN_TMPDIR/attack"
	if [ ! -x "$attack" ]; then
		cc -static -O1 -Wall -Wextra -Werror -o "$attack" "$SRCDIR/tests/payload/attack.c"
	fi
	cp "$attack" "$BUNDLE/rootfs/bin/attack"
}

teardown() {
	local ret=0
	teardown_bundle || ret=$?
	awk -v v="$VOL" 'index($5, v) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || true; done
	return $ret
}

# nothing mounted on or under VOL on the host, and VOL holds only what setup put there
assert_vol_untouched() {
	[ -z "$(awk -v v="$VOL" 'index($5, v) == 1' /proc/self/mountinfo)" ]
	[ "$(ls -A "$VOL")" = file ]
	[ "$(cat "$VOL/file")" = host-data ]
}

@test "CVE-2019-5736: a container cannot open or trace the runtime's process or binary" {
	local sum pid alog
	sum="$(sha256sum "$RUNTIME" | cut -d' ' -f1)"
	# the attacker's container outlives the second one's start (a pid namespace ends with its init)
	set_args sh -c 'attack procs 3; sleep 3'
	create_container
	alog="$LOG"
	pid="$(container_pid)"
	run -0 runtime start "$CID"
	# A second container in the first one's pid namespace: its init (the runtime's code, before
	# exec) is visible to the attacker while it is created and waits for start.
	setup_bundle2
	update_config "(.linux.namespaces[] | select(.type == \"pid\")) |= {\"type\": \"pid\", \"path\": \"/proc/$pid/ns/pid\"}" "$BUNDLE2"
	update_config '.process.args = ["true"]' "$BUNDLE2"
	create_container "$CID2" "$BUNDLE2"
	sleep 3.5
	run -0 runtime start "$CID2"
	wait_status "$CID" stopped 80
	run cat "$alog"
	echo "$output" >&2
	# the attack saw the runtime's process (else it proves nothing) and got nowhere
	assert_contains "SEEN" "tries="
	[[ "$output" != *HIT* ]]
	[ "$(sha256sum "$RUNTIME" | cut -d' ' -f1)" = "$sum" ]
}

@test "CVE-2024-21626: process.cwd through /proc/self/fd/N cannot reach the host" {
	local n
	set_args sh -c 'pwd; ls /proc/self/fd'
	for n in 3 4 5 6 7 8 9; do
		update_config ".process.cwd = \"/proc/self/fd/$n\""
		run runtime run --bundle "$BUNDLE" "$CID-$n"
		# either refused, or a directory inside the container
		[[ "$output" != *unreachable* ]]
		if [ "$status" -eq 0 ]; then
			[[ "${lines[0]}" == /* ]]
			[ "$(echo "$output" | tail -n +2 | tr '\n' ' ')" = "0 1 2 3 " ]
		fi
	done
}

@test "CVE-2024-21626: only fds 0-2 reach the container, even when the caller leaks more" {
	set_args attack fds
	exec 7<"$VOL/file" 8<"$BATS_TEST_TMPDIR"
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	exec 7<&- 8<&-
	[ "$(echo "$output" | cut -d' ' -f1 | tr '\n' ' ')" = "0 1 2 " ]
	[[ "$output" != *"$BATS_TEST_TMPDIR"* ]]
}

@test "CVE-2019-19921/CVE-2021-30465: nested symlinks cannot redirect a mount onto the host" {
	ln -s /n2 "$BUNDLE/rootfs/n1"
	ln -s "$VOL" "$BUNDLE/rootfs/n2"
	update_config '.mounts += [{"destination": "/n1/m", "type": "tmpfs", "source": "tmpfs"}]'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_vol_untouched
}

@test "CVE-2021-30465: a ../ chain in a symlink stays inside the rootfs" {
	ln -s "../../../../../../../../../../..$VOL" "$BUNDLE/rootfs/dots"
	update_config '.mounts += [{"destination": "/dots/m", "type": "tmpfs", "source": "tmpfs"},
		{"destination": "/../../../../..'"$VOL"'/m2", "type": "tmpfs", "source": "tmpfs"}]'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_vol_untouched
}

@test "CVE-2023-27561: a symlink as the final component of a tmpfs destination" {
	ln -s "$VOL" "$BUNDLE/rootfs/fin"
	update_config '.mounts += [{"destination": "/fin", "type": "tmpfs", "source": "tmpfs"}]'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_vol_untouched
}

@test "/proc replaced by a symlink cannot put procfs on the host" {
	rm -rf "$BUNDLE/rootfs/proc"
	ln -s "$VOL" "$BUNDLE/rootfs/proc"
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_vol_untouched
}

@test "CVE-2025-31133: a maskedPaths target replaced by a symlink masks nothing on the host" {
	ln -s "$VOL/file" "$BUNDLE/rootfs/secret"
	ln -s "$VOL" "$BUNDLE/rootfs/secretdir"
	update_config '.linux.maskedPaths += ["/secret", "/secretdir"]'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_vol_untouched
}

@test "CVE-2025-52565: /dev/console replaced by a symlink is not bound on the host" {
	local recvtty="$BUILDDIR/tests/payload/recvtty"
	[ -x "$recvtty" ] || skip "tests/payload/recvtty is not built"
	# a bind of the bundle's /dev: the symlink survives into the container's /dev
	mkdir -p "$BUNDLE/devdir"
	ln -s "$VOL/file" "$BUNDLE/devdir/console"
	update_config '.mounts = [.mounts[] | select(.destination != "/dev")] + [{"destination": "/dev", "type": "bind", "source": "'"$BUNDLE/devdir"'", "options": ["rbind"]}]
		| .process.terminal = true'
	local sock="$BATS_TEST_TMPDIR/console.sock"
	"$recvtty" "$sock" >/dev/null 2>&1 &
	wait_file "$sock"
	set_args true
	rt run --console-socket "$sock" --bundle "$BUNDLE" "$CID"
	kill %1 2>/dev/null || true
	wait || true
	assert_vol_untouched
}

# hook_mount SCRIPT: a createContainer hook (it runs in the container's mount namespace, before
# pivot_root) running SCRIPT with $R set to the container's rootfs: a stand-in for whatever a
# malicious image or a shared mount can do to the container's /proc before the runtime writes to it.
hook_mount() {
	printf '#!/bin/sh\nR=%s\n%s\n' "$BUNDLE/rootfs" "$1" >"$BATS_TEST_TMPDIR/hook.sh"
	chmod +x "$BATS_TEST_TMPDIR/hook.sh"
	update_config '.hooks.createContainer = [{"path": "'"$BATS_TEST_TMPDIR/hook.sh"'"}]'
}

@test "CVE-2025-52881: mounts over /proc/sys in the config are refused" {
	mkdir -p "$BUNDLE/fakesys/kernel"
	echo orig >"$BUNDLE/fakesys/kernel/shmmax"
	update_config '.mounts += [{"destination": "/proc/sys", "type": "bind", "source": "'"$BUNDLE/fakesys"'", "options": ["rbind"]}]
		| .linux.sysctl = {"kernel.shmmax": "12345678"}'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	[ "$(cat "$BUNDLE/fakesys/kernel/shmmax")" = orig ]
}

@test "CVE-2025-52881: a tmpfs planted over /proc/sys cannot take or redirect the sysctl writes" {
	isolazi_only "runc 1.1.5 writes through the planted files"
	echo orig >"$BUNDLE/rootfs/victim"
	hook_mount 'mount -t tmpfs tmpfs $R/proc/sys && mkdir $R/proc/sys/kernel && echo orig >$R/proc/sys/kernel/shmmax && ln -s /victim $R/proc/sys/kernel/shmmni'
	update_config '.linux.sysctl = {"kernel.shmmax": "12345678", "kernel.shmmni": "1234"}'
	set_args sh -c 'cat /proc/sys/kernel/shmmax; cat /victim'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	# the planted files were not written (the writes went to the real procfs)
	[ "$output" = "$(printf 'orig\norig')" ]
}

@test "CVE-2025-52881: a bind over /proc/self/oom_score_adj cannot take the runtime's write" {
	echo orig >"$BUNDLE/fake-oom"
	update_config '.mounts += [{"destination": "/proc/self/oom_score_adj", "type": "bind", "source": "'"$BUNDLE/fake-oom"'", "options": ["bind"]}]
		| .process.oomScoreAdj = 123'
	set_args true
	run runtime run --bundle "$BUNDLE" "$CID"
	[ "$(cat "$BUNDLE/fake-oom")" = orig ]
}

@test "CVE-2025-52881: a file planted over /proc/PID/oom_score_adj by a hook is not written" {
	isolazi_only "runc 1.1.5 writes through the planted file"
	echo orig >"$BUNDLE/fake-oom"
	hook_mount 'mount --bind '"$BUNDLE/fake-oom"' $R/proc/1/oom_score_adj'
	update_config '.process.oomScoreAdj = 123'
	set_args cat /proc/1/oom_score_adj
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(cat "$BUNDLE/fake-oom")" = orig ]
	[ "$output" = orig ]
}

@test "CVE-2019-16884: a /proc that is not procfs is refused for the runtime's writes" {
	isolazi_only "runc does not check"
	hook_mount 'mount -t tmpfs tmpfs $R/proc'
	update_config '.linux.sysctl = {"kernel.shmmax": "12345678"}'
	set_args true
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "is not the root of a procfs mount"
	run -1 runtime state "$CID"
}

@test "CVE-2022-29162: the inheritable set is exactly the configured one" {
	set_args payload caps
	update_config '.process.capabilities.inheritable = ["CAP_KILL"]'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "CapInh:	0000000000000020"
	update_config 'del(.process.capabilities.inheritable)'
	run -0 runtime run --bundle "$BUNDLE" "${CID}0"
	assert_contains "CapInh:	0000000000000000"
}

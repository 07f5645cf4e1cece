#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# seccomp: linux.seccomp filters the container process; `isolazi spec --seccomp` profiles.

load helpers

# Errno 18 (EXDEV, "Invalid cross-device link") is what no syscall here returns on its own: seeing
# it proves the filter answered, not a missing capability.
errno_rule() {
	update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\",
		\"syscalls\": [{\"names\": [$1], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 18}]}"
}

add_caps() {
	local c
	for c in "$@"; do
		update_config ".process.capabilities.bounding += [\"$c\"] | .process.capabilities.effective += [\"$c\"]
			| .process.capabilities.permitted += [\"$c\"]"
	done
}

# use_profile NAME: linux.seccomp from `isolazi spec --seccomp NAME`.
use_profile() {
	local d="$BATS_TEST_TMPDIR/spec-$1"
	mkdir -p "$d"
	"$BUILDDIR/src/isolazi/isolazi" spec --seccomp "$1" -b "$d"
	update_config ".linux.seccomp = $(jq .linux.seccomp "$d/config.json")"
}

@test "a blocked syscall returns the profile's errno; without the rule it works" {
	add_caps CAP_SYS_ADMIN
	set_args sh -c 'hostname x 2>&1; echo rc=$?; hostname'
	run -0 runtime run --bundle "$BUNDLE" "${CID}0"
	[ "$output" = "$(printf 'rc=0\nx')" ]
	errno_rule '"sethostname"'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "sethostname: Invalid cross-device link" "rc=1"
}

@test "ordinary work still runs under a filter" {
	errno_rule '"sethostname"'
	set_args sh -c 'ls / | grep -c bin; cat /etc/passwd | head -1; echo hi; sleep 0; payload ids'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "root:x:0:0" "hi" "uid=0 gid=0"
}

@test "argument comparisons: MASKED_EQ on the mode, one argument per rule" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
		 "args": [{"index": 1, "value": 511, "valueTwo": 448, "op": "SCMP_CMP_MASKED_EQ"}]},
		{"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
		 "args": [{"index": 2, "value": 511, "valueTwo": 448, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
	set_args sh -c 'touch /tmp/f; chmod 700 /tmp/f 2>&1; echo rc=$?; chmod 755 /tmp/f && stat -c %a /tmp/f'
	run runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf 'chmod: /tmp/f: Invalid cross-device link\nrc=1\n755')" ]
}

@test "the filter applies after set_user with and without noNewPrivileges" {
	errno_rule '"sethostname"'
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	set_args sh -c 'hostname x 2>&1'
	update_config '.process.noNewPrivileges = true'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "Invalid cross-device link"
	update_config '.process.noNewPrivileges = false'
	run runtime run --bundle "$BUNDLE" "${CID}0"
	assert_contains "Invalid cross-device link"
}

@test "filter flags and extra architectures are accepted" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		"flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
		"syscalls": [{"names": ["sethostname", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}'
	set_args sh -c 'hostname x 2>&1; echo done'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "Invalid cross-device link" "done"
}

@test "spec --seccomp default: a shell and tools run; mount, unshare, sethostname are blocked" {
	use_profile default
	add_caps CAP_SYS_ADMIN
	set_args sh -c 'ls / >/dev/null && cat /etc/passwd >/dev/null && ps >/dev/null && echo tools-ok; payload ids
		hostname x 2>&1; unshare -m true 2>&1; mount -t tmpfs t /mnt 2>&1; echo end'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "tools-ok" "uid=0" "sethostname: Operation not permitted" "unshare(0x20000): Operation not permitted" "end"
	# with CAP_SYS_ADMIN and no filter the same mount works: the filter blocked it
	[[ "$(echo "$output" | grep -c 'mount')" -ge 1 ]]
}

@test "spec --seccomp minimal: only machine-wide calls are blocked" {
	use_profile minimal
	add_caps CAP_SYS_ADMIN CAP_SYS_BOOT
	# reboot(2) in a pid namespace only ends that namespace's init: safe to try here
	set_args sh -c 'unshare -m true && echo unshare-ok; reboot -f 2>&1; sleep 0.2; echo still-here'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "unshare-ok" "still-here"
}

@test "without a filter, reboot(2) ends the container (the minimal test above means something)" {
	add_caps CAP_SYS_BOOT
	set_args sh -c 'reboot -f; sleep 2; echo still-here'
	run runtime run --bundle "$BUNDLE" "$CID"
	[[ "$output" != *still-here* ]]
}

@test "spec --seccomp strict: an allowlist that runs a shell, tools and the payload" {
	use_profile strict
	add_caps CAP_SYS_ADMIN
	set_args sh -c 'ls / | grep -c bin; cat /etc/passwd | head -1; ps | head -1; echo hi; sleep 0.1; payload ids
		payload caps | grep -c Cap; mount -t tmpfs t /mnt 2>&1 && echo mounted; unshare -m true 2>&1; echo end'
	run runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "root:x:0:0" "PID" "hi" "uid=0 gid=0" "end"
	[[ "$output" != *mounted* ]]
}

@test "spec --seccomp none writes no profile; an unknown profile is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2"
	run -0 "$BUILDDIR/src/isolazi/isolazi" spec --seccomp none -b "$BATS_TEST_TMPDIR/s1"
	[ "$(jq .linux.seccomp "$BATS_TEST_TMPDIR/s1/config.json")" = null ]
	run -1 "$BUILDDIR/src/isolazi/isolazi" spec --seccomp lax -b "$BATS_TEST_TMPDIR/s2"
	assert_contains "unknown seccomp profile \`lax\`"
	[ ! -e "$BATS_TEST_TMPDIR/s2/config.json" ]
}

@test "an invalid profile fails create with the JSON path, leaving nothing" {
	isolazi_only "error texts"
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]}'
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.seccomp.architectures[0]: unknown architecture \`SCMP_ARCH_PDP11\`"
	run -1 runtime state "$CID"
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG", "errnoRet": 1}]}'
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.seccomp.syscalls[0]: errnoRet is only valid with SCMP_ACT_ERRNO"
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY"
}

@test "SCMP_ACT_NOTIFY: the listener receives one notify fd and the container process state" {
	isolazi_only "python listener"
	command -v python3 >/dev/null || skip "needs python3"
	local sock="$BATS_TEST_TMPDIR/l.sock" out="$BATS_TEST_TMPDIR/l.out"
	cat >"$BATS_TEST_TMPDIR/listener.py" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(20)
c, _ = s.accept()
data, fds = b"", []
while True:
    msg, got, _, _ = socket.recv_fds(c, 65536, 8)
    fds += got
    if not msg:
        break
    data += msg
st = json.loads(data)
kind = os.readlink("/proc/self/fd/%d" % fds[0]) if fds else ""
with open(sys.argv[2], "w") as f:
    f.write("nfds=%d kind=%s pid=%s fds=%s metadata=%s id=%s\n" % (len(fds), kind, st["pid"], st["fds"], st["metadata"], st["state"]["id"]))
# closing the notify fd: the notified syscall fails with ENOSYS from now on
for fd in fds:
    os.close(fd)
PY
	python3 "$BATS_TEST_TMPDIR/listener.py" "$sock" "$out" &
	wait_file "$sock.ready"
	update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$sock\",
		\"listenerMetadata\": \"hello\", \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
	set_args sh -c 'sleep 0.5; mkdir /tmp/n 2>&1; echo rc=$?'
	create_container
	local pid
	pid="$(container_pid)"
	run -0 runtime start "$CID"
	wait
	wait_status "$CID" stopped
	run cat "$out"
	assert_contains "nfds=1" "kind=anon_inode:seccomp notify" "pid=$pid" "fds=['seccompFd']" "metadata=hello" "id=$CID"
	run cat "$LOG"
	assert_contains "Function not implemented" "rc=1"
}

@test "the seccomp profiles podman and containerd generate load and run a shell" {
	# Both are default-deny profiles; podman's returns ENOSYS by default (defaultErrnoRet 38),
	# which once collided with the ENOSYS rules added for syscalls newer than a profile.
	for sample in podman-config.json containerd-seccomp-config.json; do
		update_config ".linux.seccomp = $(jq -c .linux.seccomp "$SRCDIR/tests/unit/data/$sample")"
		set_args sh -c 'echo ok; ls / >/dev/null && echo listed'
		run -0 runtime run --bundle "$BUNDLE" "$CID"
		[ "$output" = "$(printf 'ok\nlisted')" ]
	done
}

@test "exec'd processes get the container's seccomp filter" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_args sleep 100
	start_container
	run runtime exec "$CID" hostname blocked
	[ "$status" -ne 0 ]
	assert_contains "Operation not permitted"
	run -0 runtime exec "$CID" sh -c 'grep "^Seccomp:" /proc/self/status'
	[[ "$output" == *2* ]]
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm --backend libkrun.  libkrun is not packaged in Debian 12 and cannot be built here,
# so the backend is exercised against a stand-in libkrun.so.1 (tests/payload/fake-libkrun.c,
# loaded through LD_LIBRARY_PATH, which dlopen honours): it records the krun_* calls and their
# arguments in $FAKE_KRUN_LOG and, in krun_start_enter, chroots into the root and execs the
# program, so that a workload really runs (on the host, not in a VM).  What these tests prove
# is isolazi-vm's side: which calls it makes with which arguments, the lifecycle around the
# process that becomes the VM, and the errors; not that a real libkrun boots a guest.

load helpers

VM_RUNTIME="$BUILDDIR/src/isolazi-vm/isolazi-vm"
FAKE_KRUN_DIR="$BUILDDIR/tests/payload"

setup() {
	requires root
	[ -x "$VM_RUNTIME" ] || skip "isolazi-vm not built: $VM_RUNTIME"
	setup_bundle
	RUNTIME="$VM_RUNTIME"
	RUNTIME_NAME=isolazi-vm
	export RUNTIME RUNTIME_NAME
	# No cgroup for a VM's process; the runc default spec's is meaningless here.
	update_config 'del(.linux.cgroupsPath)'
	KLOG="$BATS_TEST_TMPDIR/krun.log"
	unset FAKE_KRUN_FAIL
}

teardown() {
	teardown_bundle
}

# with_fake_krun: the stand-in is libkrun.so.1 for the runtime calls that follow.
with_fake_krun() {
	[ -e "$FAKE_KRUN_DIR/libkrun.so.1" ] || skip "the stand-in libkrun is not built (make check)"
	LD_LIBRARY_PATH="$FAKE_KRUN_DIR"
	FAKE_KRUN_LOG="$KLOG"
	export LD_LIBRARY_PATH FAKE_KRUN_LOG
}

# recorded CALL: the arguments of CALL's last record (after the call's name).
recorded() {
	awk -v c="$1" '$1 == c {sub("^[^ ]+ ", ""); last = $0} END {print last}' "$KLOG"
}

@test "libkrun: without libkrun.so.1, a clear error and nothing left" {
	if ldconfig -p | grep -q 'libkrun.so.1 '; then
		skip "libkrun.so.1 is installed on this host"
	fi
	rt --backend libkrun create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'use the libkrun backend: `libkrun.so.1` is not installed'
	rt --backend libkrun run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains '`libkrun.so.1` is not installed'
	[ -z "$(ls -A "$ROOT")" ]
}

@test "libkrun: run: the workload's output and status; the context gets config.json's values" {
	with_fake_krun
	update_config '.process.cwd = "/tmp" | .process.env += ["GREETING=hello world"]'
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]'
	update_config '.linux.resources = {"memory": {"limit": 536870912}, "cpu": {"quota": 150000, "period": 100000}}'
	set_args sh -c 'echo "cwd=$(pwd) greeting=$GREETING nofile=$(ulimit -n)"; echo to-stderr >&2; exit 7'
	rt --backend libkrun run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 7 ]
	assert_contains "cwd=/tmp greeting=hello world nofile=512" to-stderr
	# 512 MiB of RAM; 1.5 CPUs rounded up, at most the host's
	ncpu="$(nproc)"
	[ "$(recorded krun_set_vm_config)" = "0 $((ncpu < 2 ? ncpu : 2)) 512" ]
	[ "$(recorded krun_set_root)" = "0 $BUNDLE/rootfs" ]
	[ "$(recorded krun_set_workdir)" = "0 /tmp" ]
	# RLIMIT_NOFILE is resource 7: "RESOURCE=SOFT:HARD"
	[ "$(recorded krun_set_rlimits)" = "0 7=512:1024" ]
	# the path, then argv without argv[0], then exactly process.env
	[ "$(recorded krun_set_exec)" = "0 sh" ]
	[ "$(grep -c '^arg ' "$KLOG")" -eq 2 ]
	[ "$(grep '^arg ' "$KLOG" | head -n 1)" = "arg -c" ]
	diff <(jq -r '.process.env[] | "env " + .' "$BUNDLE/config.json") <(grep '^env ' "$KLOG")
	grep -qx 'krun_start_enter 0' "$KLOG"
	# run deletes the container
	[ -z "$(ls -A "$ROOT")" ]
}

@test "libkrun: run: a workload killed by a signal reports 128+N" {
	with_fake_krun
	set_args sh -c 'kill -USR1 $$'
	rt --backend libkrun run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq $((128 + 10)) ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "libkrun: create, state, start, kill, delete" {
	with_fake_krun
	set_args sh -c 'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done'
	rt --backend libkrun create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	[ "$(state_field "$CID" pid)" = "$pid" ]
	[ "$(state_field "$CID" status)" = created ]
	alive "$pid"
	# configured at create, entered only at start
	grep -q '^krun_set_exec ' "$KLOG"
	run ! grep -q '^krun_start_enter' "$KLOG"
	run runtime list -q
	[ "$output" = "$CID" ]
	run runtime ps --format json "$CID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0]')" = "$pid" ]

	run runtime start "$CID"
	[ "$status" -eq 0 ]
	[ "$(state_field "$CID" status)" = running ]
	grep -qx 'krun_start_enter 0' "$KLOG"
	# the container's pid is the process that entered the VM
	[ "$(state_field "$CID" pid)" = "$pid" ]
	alive "$pid"
	run runtime start "$CID"
	[ "$status" -ne 0 ]

	run runtime delete "$CID"
	[ "$status" -ne 0 ]
	assert_contains "not stopped"

	run runtime kill "$CID" TERM
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	grep -q started "$LOG"
	grep -q got-term "$LOG"
	run runtime kill "$CID" TERM
	[ "$status" -ne 0 ]
	assert_contains "container not running"

	run runtime delete "$CID"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CID" ]
}

@test "libkrun: delete --force of a created container; kill KILL of a running one" {
	with_fake_krun
	set_args sleep 1000
	rt --backend libkrun create --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(state_field "$CID" pid)"
	run runtime delete --force "$CID"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CID" ]
	run ! alive "$pid"

	rt --backend libkrun run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	[ "$(state_field "$CID" status)" = running ]
	run runtime kill "$CID" KILL
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 50
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
}

@test "libkrun: exec, pause, resume, ps and events are refused with the reason" {
	with_fake_krun
	set_args sleep 1000
	rt --backend libkrun run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	run runtime exec "$CID" true
	[ "$status" -ne 0 ]
	assert_contains 'exec: not possible with the libkrun backend' 'no exec' '--backend qemu'
	run runtime pause "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'pause: not possible with the libkrun backend'
	run runtime resume "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'resume: not possible with the libkrun backend'
	run runtime ps "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'not possible with the libkrun backend'
	run runtime events --stats "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'not possible with the libkrun backend'
	# still running, untouched
	[ "$(state_field "$CID" status)" = running ]
	run runtime features
	[ "$status" -eq 0 ]
	echo "$output" | jq -r '.annotations["io.github.isolazi.vm.libkrun.unsupported"]' | grep -q '^exec,pause,resume'
	run runtime delete --force "$CID"
	[ "$status" -eq 0 ]
}

@test "libkrun: a failing krun_set_root fails create with the call and the errno, leaving nothing" {
	with_fake_krun
	FAKE_KRUN_FAIL=krun_set_root
	export FAKE_KRUN_FAIL
	rt --backend libkrun create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'configure the VM: `krun_set_root` returned -13: permission denied'
	# the context was freed, nothing was entered, nothing is left
	grep -qx 'krun_free_ctx 0' "$KLOG"
	run ! grep -q '^krun_start_enter' "$KLOG"
	[ -z "$(ls -A "$ROOT")" ]
	[ ! -e "$BATS_TEST_TMPDIR/pid" ]

	FAKE_KRUN_FAIL=krun_set_exec:22
	rt --backend libkrun run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains '`krun_set_exec` returned -22: invalid argument'
	[ -z "$(ls -A "$ROOT")" ]
}

@test "libkrun: a failing krun_start_enter: the process exits 255 and says why" {
	with_fake_krun
	FAKE_KRUN_FAIL=krun_start_enter:22
	export FAKE_KRUN_FAIL
	set_args true
	rt --backend libkrun run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 255 ]
	assert_contains '`krun_start_enter` returned -22: invalid argument'
	[ -z "$(ls -A "$ROOT")" ]
}

@test "libkrun: what libkrun cannot do is refused at create: a non-root user" {
	with_fake_krun
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	rt --backend libkrun create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'process.user: the libkrun backend runs the process as root'
	[ -z "$(ls -A "$ROOT")" ]
	run ! grep -qs '^krun_create_ctx' "$KLOG"
}

@test "libkrun: a terminal process with --console-socket" {
	with_fake_krun
	[ -x "$BUILDDIR/tests/payload/recvtty" ] || skip "tests/payload/recvtty not built (make check)"
	update_config '.process.terminal = true'
	set_args sh -c 'test -t 0 && test -t 1 && echo tty-ok'
	sock="$BATS_TEST_TMPDIR/console.sock"
	"$BUILDDIR/tests/payload/recvtty" "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	wait_file "$sock"
	rt --backend libkrun create --bundle "$BUNDLE" --console-socket "$sock" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	run runtime start "$CID"
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	wait
	grep -q tty-ok "$BATS_TEST_TMPDIR/tty.out"
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
}

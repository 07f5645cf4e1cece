#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm through runc's command line: run, create/start/state/kill/delete, exec (pipes,
# terminal, detached), resources, and the failure paths (a process that cannot start, a guest
# that does not boot in time, a QEMU that dies, a bad kernel, a missing backend), each leaving
# nothing behind (vm_teardown checks the state root, the monitor's pid and QEMU).

load vm-helpers

@test "vm: run exits with the process's status, applies hostname, env, cwd and user" {
	update_config '.hostname = "vmguest" | .process.cwd = "/tmp" | .process.user = {"uid": 1000, "gid": 1001, "additionalGids": [5]}'
	update_config '.process.env += ["GREETING=hello"]'
	set_args sh -c 'echo "host=$(hostname) cwd=$(pwd) ids=$(id -u):$(id -g):$(id -G) $GREETING"; echo to-stderr >&2; exit 7'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 7 ]
	assert_contains "host=vmguest cwd=/tmp ids=1000:1001:1001 5 hello"
	assert_contains "to-stderr"
	# run deletes the VM
	[ -z "$(ls -A "$ROOT")" ]
}

@test "vm: the guest sees proc, a tmpfs /dev with its nodes, rlimits, and a writable root on an overlay" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]'
	set_args sh -c 'ulimit -n; test -c /dev/null && echo devnull; cat /proc/1/comm; echo x > /written && cat /written; grep -c " / overlay " /proc/mounts'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sed -n 1p)" = 512 ]
	assert_contains devnull
	assert_contains x
	# nothing the guest wrote reaches the bundle
	[ ! -e "$BUNDLE/rootfs/written" ]
}

@test "vm: create, state, start, exec, ps, kill, delete" {
	set_args sh -c 'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done'
	rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	# the pid file: decimal, no newline; the monitor is alive and is the state's pid
	[ "$(wc -l <"$BATS_TEST_TMPDIR/pid")" -eq 0 ]
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	[ "$(state_field "$CID" pid)" = "$pid" ]
	[ "$(state_field "$CID" status)" = created ]
	alive "$pid"
	[ -n "$(vm_qemus)" ]

	run runtime start "$CID"
	[ "$status" -eq 0 ]
	[ "$(state_field "$CID" status)" = running ]
	run runtime start "$CID"
	[ "$status" -ne 0 ]

	run runtime exec "$CID" sh -c 'echo out; echo err >&2; exit 4'
	[ "$status" -eq 4 ]
	assert_contains out
	assert_contains err
	run runtime exec "$CID" /nonexistent
	[ "$status" -eq 255 ]
	assert_contains 'exec `/nonexistent`: no such file or directory'

	run runtime ps --format json "$CID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0]')" = "$pid" ]
	# the table: the guest's processes, as its agent reports them
	run runtime ps "$CID"
	[ "$status" -eq 0 ]
	assert_contains PID PPID 'while :; do sleep 0.1; done' 
	run runtime list -q
	[ "$output" = "$CID" ]

	run runtime delete "$CID"
	[ "$status" -ne 0 ]
	assert_contains "not stopped"

	run runtime kill "$CID" TERM
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	vm_contains "$(cat "$LOG")" started
	vm_contains "$(cat "$LOG")" got-term
	run runtime kill "$CID" TERM
	[ "$status" -ne 0 ]
	assert_contains "container not running"
	# once stopped, QEMU is gone and so are the sockets and the image
	[ -z "$(vm_qemus)" ]
	[ ! -e "$ROOT/$CID/ctl.sock" ] && [ ! -e "$ROOT/$CID/rootfs.img" ]
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CID" ]
	run runtime delete --force "$CID"
	[ "$status" -eq 0 ]
}

@test "vm: the monitor's exit is the workload's: a signal it dies of, SIGKILL stops the VM" {
	set_args sleep 1000
	rt run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(container_pid)"
	run runtime kill "$CID" KILL
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	tries=50
	while [ -n "$(vm_qemus)" ] && [ $tries -gt 0 ]; do sleep 0.1; tries=$((tries - 1)); done
	[ -z "$(vm_qemus)" ]
	! alive "$pid"
}

@test "vm: exec --detach writes a pid that exits with the process's status; exec -t gets a terminal" {
	requires_recvtty
	set_args sleep 1000
	rt run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"

	# The relay the pid file names exits with the process's status, as conmon and the shims
	# (subreapers that reap it) expect: reap it as they do.
	run reaping "$BATS_TEST_TMPDIR/epid" "$RUNTIME" --root "$ROOT" exec --detach --pid-file "$BATS_TEST_TMPDIR/epid" \
		"$CID" sh -c 'sleep 0.5; exit 6'
	[ "$status" -eq 0 ]
	assert_contains "runtime exited 0" "pid-file process exited 6"
	run reaping "$BATS_TEST_TMPDIR/epid2" "$RUNTIME" --root "$ROOT" exec --detach --pid-file "$BATS_TEST_TMPDIR/epid2" \
		"$CID" sh -c 'kill -USR1 $$'
	[ "$status" -eq 0 ]
	assert_contains "pid-file process killed by signal 10"

	sock="$BATS_TEST_TMPDIR/console.sock"
	"$BUILDDIR/tests/payload/recvtty" "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	wait_file "$sock"
	run runtime exec --tty --console-socket "$sock" "$CID" sh -c 'test -t 0 && echo in-a-tty'
	[ "$status" -eq 0 ]
	wait
	vm_contains "$(cat "$BATS_TEST_TMPDIR/tty.out")" in-a-tty
}

@test "vm: a terminal process with --console-socket (create/start)" {
	requires_recvtty
	update_config '.process.terminal = true'
	set_args sh -c 'test -t 0 && test -t 1 && echo tty-ok'
	sock="$BATS_TEST_TMPDIR/console.sock"
	"$BUILDDIR/tests/payload/recvtty" "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	wait_file "$sock"
	rt create --bundle "$BUNDLE" --console-socket "$sock" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	run runtime start "$CID"
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	wait
	vm_contains "$(cat "$BATS_TEST_TMPDIR/tty.out")" tty-ok
}

@test "vm: resources: the memory limit is the guest's RAM, the cpu quota its vCPUs" {
	update_config '.linux.resources = {"memory": {"limit": 402653184}, "cpu": {"quota": 200000, "period": 100000}}'
	set_args sh -c 'grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	kb="$(echo "$output" | awk '/MemTotal/ {print $2}')"
	# 384 MiB minus what the kernel keeps
	[ "$kb" -gt 300000 ] && [ "$kb" -le 393216 ]
	[ "$(echo "$output" | tail -n 1 | tr -d '\r')" -eq "$(($(nproc) < 2 ? $(nproc) : 2))" ]
}

@test "vm: a process that cannot start fails create with runc's message, leaving nothing" {
	set_args /nope
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'exec `/nope`: no such file or directory'
	[ ! -e "$ROOT/$CID" ]
	[ -z "$(vm_qemus)" ]
	# not executable
	set_args /etc/passwd
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'permission denied'
	[ ! -e "$ROOT/$CID" ]
}

@test "vm: a guest that does not boot in time is a clear error, leaving nothing" {
	# 1 s is less than any boot under TCG takes here
	rt --boot-timeout 1 create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "the guest did not answer within 1 s"
	[ ! -e "$ROOT/$CID" ]
	[ -z "$(vm_qemus)" ]
}

@test "vm: a QEMU that dies ends the container with an error; delete cleans up" {
	set_args sleep 1000
	rt --log "$BATS_TEST_TMPDIR/log" run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(container_pid)"
	q="$(vm_qemus)"
	[ -n "$q" ]
	kill -9 "$q"
	wait_status "$CID" stopped 100
	! alive "$pid"
	vm_contains "$(cat "$BATS_TEST_TMPDIR/log")" "the VM stopped unexpectedly"
	[ ! -e "$ROOT/$CID/rootfs.img" ]
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CID" ]
}

@test "vm: bad input: a missing kernel, an unknown backend, libkrun absent, a bad bundle" {
	rt --kernel /nonexistent/vmlinuz create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'use kernel `/nonexistent/vmlinuz`'
	[ ! -e "$ROOT/$CID" ]
	rt --backend nope create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'invalid backend `nope`'
	if ! ldconfig -p | grep -q 'libkrun.so.1 '; then
		rt --backend libkrun create --bundle "$BUNDLE" "$CID"
		[ "$status" -ne 0 ]
		assert_contains '`libkrun.so.1` is not installed'
	fi
	echo '{' >"$BUNDLE/config.json"
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "config.json"
	[ ! -e "$ROOT/$CID" ]
	[ -z "$(vm_qemus)" ]
}

@test "vm: features and --debug say which accelerator runs the guest" {
	run runtime features
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.annotations["run.oci.handler"]')" = vm ]
	set_args true
	rt --debug run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	assert_contains "accelerator"
	assert_contains "qemu-system-x86_64 -M microvm"
}

@test "vm: the window size reaches the guest's terminal, at start and when it changes" {
	requires_recvtty
	update_config '.process.terminal = true'
	# the size it starts with, then the size once recvtty resized its end (after the first line)
	set_args sh -c 'stty size; while [ "$(stty size)" = "30 100" ]; do sleep 0.1; done; stty size'
	sock="$BATS_TEST_TMPDIR/console.sock"
	"$BUILDDIR/tests/payload/recvtty" -s 30x100 -r 50x160 "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	wait_file "$sock"
	rt create --bundle "$BUNDLE" --console-socket "$sock" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	run runtime start "$CID"
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	wait
	[ "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out")" = "$(printf '30 100\n50 160')" ]
	run runtime delete "$CID"
	[ "$status" -eq 0 ]

	# exec -t --detach with a console socket (conmon's and the shims' way): the same
	update_config '.process.terminal = false'
	set_args sleep 1000
	rt run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	sock="$BATS_TEST_TMPDIR/console2.sock"
	"$BUILDDIR/tests/payload/recvtty" -s 24x80 -r 40x132 "$sock" >"$BATS_TEST_TMPDIR/tty2.out" 2>"$BATS_TEST_TMPDIR/tty2.err" &
	wait_file "$sock"
	# (and the relay exits with the process's status, not killed by the pty's hangup)
	run reaping "$BATS_TEST_TMPDIR/epid" "$RUNTIME" --root "$ROOT" exec --tty --detach --console-socket "$sock" \
		--pid-file "$BATS_TEST_TMPDIR/epid" "$CID" \
		sh -c 'stty size; while [ "$(stty size)" = "24 80" ]; do sleep 0.1; done; stty size; exit 3'
	[ "$status" -eq 0 ]
	assert_contains "runtime exited 0" "pid-file process exited 3"
	wait
	[ "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty2.out")" = "$(printf '24 80\n40 132')" ]
}

@test "vm: megabytes through stdin and stdout at once (run and exec), all of the output before the exit" {
	head -c 6000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	want="$(sha256sum <"$BATS_TEST_TMPDIR/big")"
	set_args cat
	got="$(bounded "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" <"$BATS_TEST_TMPDIR/big" | sha256sum)"
	[ "$got" = "$want" ]

	set_args sleep 1000
	rt run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	got="$(bounded "$RUNTIME" --root "$ROOT" exec "$CID" cat <"$BATS_TEST_TMPDIR/big" | sha256sum)"
	[ "$got" = "$want" ]
	# written just before exiting: every byte arrives, on a pipe and on a terminal
	run runtime exec "$CID" sh -c 'seq 1 20000; exit 2'
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | tail -n 1)" = 20000 ]
	[ "$(echo "$output" | wc -l)" -eq 20000 ]
	requires_recvtty
	sock="$BATS_TEST_TMPDIR/console.sock"
	"$BUILDDIR/tests/payload/recvtty" "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	wait_file "$sock"
	run runtime exec --tty --console-socket "$sock" "$CID" sh -c 'seq 1 5000'
	[ "$status" -eq 0 ]
	wait
	[ "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out" | tail -n 1)" = 5000 ]
	# a background child that keeps stdout open does not hold the exit back
	start=$SECONDS
	run runtime exec "$CID" sh -c 'sleep 30 & echo fg-done'
	[ "$status" -eq 0 ]
	assert_contains fg-done
	[ $((SECONDS - start)) -lt 20 ]
}

@test "vm: usage texts name isolazi-vm" {
	run "$RUNTIME" kill
	[ "$status" -eq 1 ]
	assert_contains '`isolazi-vm kill` requires a container id' 'Run `isolazi-vm kill --help`'
	run "$RUNTIME" create --help
	[ "$status" -eq 0 ]
	assert_contains "Usage: isolazi-vm create"
	[[ "$output" != *"Usage: isolazi create"* ]]
	run "$RUNTIME" ps --nope x
	[ "$status" -eq 1 ]
	assert_contains 'unknown flag `--nope` for `isolazi-vm ps`'
}

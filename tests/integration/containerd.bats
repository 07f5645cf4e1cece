#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containerd (io.containerd.runc.v2 shim, go-runc) drives the runtime: a private containerd
# (root, state and socket under the bats file's tmpdir, no CRI) pulls the busybox test image
# from a local registry, and ctr runs it with --runc-binary $RUNTIME.  After every test no
# task, container, runtime state, mount, cgroup or shim may be left.

load helpers
load clients

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v containerd >/dev/null || return 0
	[ -x "$RUNTIME" ] || return 0
	registry_start
	image_push
	containerd_setup_file
}

teardown_file() {
	containerd_teardown_file
}

setup() {
	requires root
	requires_client containerd ctr containerd-shim-runc-v2 docker-registry skopeo umoci
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	[ -n "${IMAGE:-}" ] || skip "setup_file did not run"
	mkdir -p "$BATS_TEST_TMPDIR/fifo"
}

teardown() {
	containerd_teardown
}

# run_detached ID CMD...: start a task in the background, its stdio on /dev/null.
run_detached() {
	local id="$1"
	shift
	ctr_run -d --null-io "$IMAGE" "$id" "$@"
}

task_status() {
	ctrd task ls | awk -v id="$1" '$1 == id {print $3}'
}

task_pid() {
	ctrd task ls | awk -v id="$1" '$1 == id {print $2}'
}

# wait_task ID STATUS: poll `ctr task ls` until the task has STATUS.
wait_task() {
	local tries=100 got=""
	while [ $tries -gt 0 ]; do
		got="$(task_status "$1")"
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "task $1: status \"$got\", wanted \"$2\"" >&2
	return 1
}

# remove ID: delete a task (killing it first) and its container.
remove() {
	if [ -n "$(task_status "$1")" ]; then
		ctrd task kill -s KILL "$1" >/dev/null 2>&1 || true
		wait_task "$1" STOPPED
		ctrd task delete "$1"
	fi
	ctrd container delete "$1"
}

@test "containerd: ctr run prints the output and exits with the container's status" {
	run ctr_run --rm --fifo-dir "$BATS_TEST_TMPDIR/fifo" "$IMAGE" r1 \
		sh -c 'echo "hello $(id -u)"; echo to-stderr >&2; exit 3'
	assert_status 3
	assert_contains "hello 0" to-stderr
	run ctr_run --rm --fifo-dir "$BATS_TEST_TMPDIR/fifo" "$IMAGE" r1 true
	assert_status 0
}

@test "containerd: the shim calls the runtime under test" {
	run_detached rt1 sleep 1000
	# The shim keeps its state under --runc-root: the runtime under test wrote it.
	[ -d "$CTR_RUNC_ROOT/$CTR_NS/rt1" ]
	run "$RUNTIME" --root "$CTR_RUNC_ROOT/$CTR_NS" state rt1
	assert_status 0
	[ "$(echo "$output" | jq -r .status)" = running ]
	[ "$(echo "$output" | jq -r .pid)" = "$(task_pid rt1)" ]
	remove rt1
}

# ctr sizes the console only after the task has started: wait (up to 5 s) for the size to arrive.
WAIT_TTY_SIZE='i=0; while [ $i -lt 50 ] && { [ "$(stty size 2>/dev/null)" = "" ] || [ "$(stty size)" = "0 0" ]; }; do sleep 0.1; i=$((i+1)); done'

@test "containerd: ctr run -t gives the container a terminal" {
	run in_tty 60 ctr --address "$CTRD_SOCK" --namespace "$CTR_NS" run --rm -t \
		--runc-binary "$RUNTIME" --runc-root "$CTR_RUNC_ROOT" --fifo-dir "$BATS_TEST_TMPDIR/fifo" \
		"$IMAGE" tty1 sh -c "$WAIT_TTY_SIZE"'; tty; [ -t 0 ] && echo stdin-is-tty; stty size; exit 4'
	assert_status 4
	assert_contains /dev/pts/0 stdin-is-tty "$TTY_ROWS $TTY_COLS"
}

@test "containerd: ctr run --seccomp applies containerd's default profile" {
	run ctr_run --rm --seccomp --fifo-dir "$BATS_TEST_TMPDIR/fifo" "$IMAGE" sc1 \
		grep -E '^Seccomp:' /proc/self/status
	assert_status 0
	assert_contains $'Seccomp:\t2'
}

@test "containerd: ctr task exec" {
	run_detached ex1 sleep 1000
	run ctrd task exec --exec-id e1 --fifo-dir "$BATS_TEST_TMPDIR/fifo" ex1 \
		sh -c 'echo "exec sees $(cat /proc/1/comm)"; exit 6'
	assert_status 6
	assert_contains "exec sees sleep"
	run ctrd task exec --exec-id e2 --user 1000:1000 --cwd /tmp --fifo-dir "$BATS_TEST_TMPDIR/fifo" ex1 \
		sh -c 'id -u; pwd'
	assert_status 0
	assert_contains 1000 /tmp
	run in_tty 60 ctr --address "$CTRD_SOCK" --namespace "$CTR_NS" task exec -t --exec-id e3 \
		--fifo-dir "$BATS_TEST_TMPDIR/fifo" ex1 sh -c 'tty; [ -t 1 ] && echo exec-tty'
	assert_status 0
	assert_contains /dev/pts/ exec-tty
	# A failing exec reports the runtime's error.
	run ctrd task exec --exec-id e4 --fifo-dir "$BATS_TEST_TMPDIR/fifo" ex1 /nonexistent
	[ "$status" -ne 0 ]
	assert_contains /nonexistent
	remove ex1
}

@test "containerd: ctr task kill" {
	run_detached k1 sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done'
	sleep 0.3
	run ctrd task kill k1
	assert_status 0
	wait_task k1 STOPPED
	run ctrd task delete k1
	assert_status 0
	run ctrd container delete k1
	assert_status 0

	# pid 1 without a handler ignores TERM; KILL always works, and --all reaches every process.
	run_detached k2 sh -c 'sleep 1000 & sleep 1000'
	ctrd task kill -s TERM k2
	sleep 0.3
	[ "$(task_status k2)" = RUNNING ]
	run ctrd task kill -a -s KILL k2
	assert_status 0
	wait_task k2 STOPPED
	remove k2
}

@test "containerd: ctr task pause and resume" {
	run_detached p1 sh -c 'while :; do sleep 0.05; done'
	run ctrd task pause p1
	assert_status 0
	wait_task p1 PAUSED
	[ "$(cat "/sys/fs/cgroup/freezer/$CTR_NS/p1/freezer.state")" = FROZEN ]
	run ctrd task resume p1
	assert_status 0
	wait_task p1 RUNNING
	[ "$(cat "/sys/fs/cgroup/freezer/$CTR_NS/p1/freezer.state")" = THAWED ]
	remove p1
}

@test "containerd: ctr task ps lists the container's processes" {
	run_detached ps1 sh -c 'sleep 1000 & sleep 1000'
	local pid
	pid="$(task_pid ps1)"
	run ctrd task ps ps1
	assert_status 0
	assert_contains "$pid"
	# the init and its child
	[ "$(echo "$output" | awk 'NR > 1' | wc -l)" -eq 2 ]
	remove ps1
}

@test "containerd: ctr task metrics reads the cgroup" {
	run_detached m1 sleep 1000
	run ctrd task metrics m1
	assert_status 0
	assert_contains memory.usage_in_bytes pids.current
	remove m1
}

@test "containerd: delete removes the task, the container and the runtime state" {
	run_detached d1 sh -c 'exit 0'
	wait_task d1 STOPPED
	[ -d "$CTR_RUNC_ROOT/$CTR_NS/d1" ]
	run ctrd task delete d1
	assert_status 0
	[ ! -e "$CTR_RUNC_ROOT/$CTR_NS/d1" ]
	run ctrd container delete d1
	assert_status 0
	run ctrd container ls -q
	[ -z "$output" ]
}

@test "containerd: a failing create surfaces the runtime's message" {
	run ctr_run --rm --fifo-dir "$BATS_TEST_TMPDIR/fifo" "$IMAGE" f1 /nonexistent
	[ "$status" -ne 0 ]
	assert_contains "OCI runtime create failed"
	assert_error 'exec `/nonexistent`: no such file or directory' 'no such file or directory'
	run ctrd container delete f1
	true
}

@test "containerd: contrib/containerd-isolazi.toml loads as a CRI runtime" {
	cat >"$BATS_TEST_TMPDIR/config.toml" <<-EOF
		version = 2
		root = "$BATS_TEST_TMPDIR/root"
		state = "$BATS_TEST_TMPDIR/state"
		imports = ["$SRCDIR/contrib/containerd-isolazi.toml"]
	EOF
	run client_bounded 30 containerd --config "$BATS_TEST_TMPDIR/config.toml" config dump
	assert_status 0
	assert_contains '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.isolazi]' \
		'runtime_type = "io.containerd.runc.v2"' 'BinaryName = "/usr/local/bin/isolazi"' \
		'Root = "/run/containerd/isolazi"'
}

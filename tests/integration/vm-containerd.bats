#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containerd's runc shim (io.containerd.runc.v2) driving isolazi-vm unchanged, as its runc
# binary (ctr --runc-binary): a task's output and exit status, exec (the shim reaps the exec
# relay and reports its status), kill and delete, with nothing left behind.  One VM at a time.

load vm-helpers
RUNTIME="$VM_RUNTIME"
RUNTIME_NAME=isolazi-vm
export RUNTIME RUNTIME_NAME
load clients

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v containerd >/dev/null || return 0
	command -v docker-registry >/dev/null || return 0
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
	requires_client containerd ctr containerd-shim-runc-v2 docker-registry skopeo umoci qemu-system-x86_64 mkfs.erofs
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	[ -n "${IMAGE:-}" ] || skip "setup_file did not run"
	vm_kernel
	mkdir -p "$BATS_TEST_TMPDIR/fifo"
}

teardown() {
	containerd_teardown
	vm_no_leaked_qemu "$CTR_RUNC_ROOT"
}

task_status() {
	ctrd task ls | awk -v id="$1" '$1 == id {print $3}'
}

wait_task() {
	local tries=150 got=""
	while [ $tries -gt 0 ]; do
		got="$(task_status "$1")"
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "task $1: status \"$got\", wanted \"$2\"" >&2
	return 1
}

@test "vm-containerd: ctr run prints the guest's output and exits with its status" {
	run ctr_run --rm --fifo-dir "$BATS_TEST_TMPDIR/fifo" "$IMAGE" vr1 \
		sh -c 'echo "hello from $(uname -r)"; echo to-stderr >&2; exit 3'
	assert_status 3
	assert_contains "hello from $(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')" to-stderr
	[ ! -e "$CTR_RUNC_ROOT/$CTR_NS/vr1" ]
}

@test "vm-containerd: exec (status through the shim), kill and delete" {
	ctr_run -d --null-io "$IMAGE" vk1 sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done'
	wait_task vk1 RUNNING
	# the shim runs `isolazi-vm exec --detach --pid-file`, reaps the relay whose pid that file
	# names and reports its exit status: the guest process's
	run ctrd task exec --exec-id e1 --fifo-dir "$BATS_TEST_TMPDIR/fifo" vk1 \
		sh -c 'echo "exec in $(uname -r)"; exit 6'
	assert_status 6
	assert_contains "exec in $(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')"
	run ctrd task exec --exec-id e2 --fifo-dir "$BATS_TEST_TMPDIR/fifo" vk1 /nonexistent
	[ "$status" -ne 0 ]
	assert_contains /nonexistent
	# the runtime's state: the VM's monitor is the task's pid
	run "$RUNTIME" --root "$CTR_RUNC_ROOT/$CTR_NS" state vk1
	assert_status 0
	[ "$(echo "$output" | jq -r .status)" = running ]
	run ctrd task kill vk1
	assert_status 0
	wait_task vk1 STOPPED
	run ctrd task delete vk1
	assert_status 0
	[ ! -e "$CTR_RUNC_ROOT/$CTR_NS/vk1" ]
	run ctrd container delete vk1
	assert_status 0
}

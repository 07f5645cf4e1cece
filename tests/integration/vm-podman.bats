#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# podman (through conmon) running a busybox image from the local registry on isolazi-vm:
# `podman --runtime isolazi-vm run` works unchanged, with the output, the exit status and the
# cleanup of a runc-style runtime.  clients.bash provides the private podman and registry.

load vm-helpers
RUNTIME="$VM_RUNTIME"
RUNTIME_NAME=isolazi-vm
export RUNTIME RUNTIME_NAME
load clients

podman_vars

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v podman >/dev/null || return 0
	[ -x "$RUNTIME" ] || return 0
	registry_start
	image_push
	podman_setup_file
}

teardown_file() {
	podman_teardown_file
}

setup() {
	requires root
	requires_client podman conmon docker-registry skopeo umoci qemu-system-x86_64 mkfs.erofs
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	[ -n "${IMAGE:-}" ] || skip "setup_file did not run"
	vm_kernel
}

teardown() {
	podman_teardown
	vm_no_leaked_qemu "$RUNTIME_STATE_ROOT"
}

@test "vm-podman: run prints the guest's output and exits with its status" {
	run pm_run --rm "$IMAGE" sh -c 'echo "hello from $(uname -r)"; echo to-stderr >&2; exit 3'
	assert_status 3
	assert_contains "hello from" to-stderr
	# the guest's own kernel, not the host's
	[[ "$output" != *"hello from $(uname -r)"* ]]
}

@test "vm-podman: the runtime in use is isolazi-vm; stop and rm leave nothing" {
	run pm_run -d --name vmtop "$IMAGE" sleep 1000
	assert_status 0
	run pm inspect --format '{{.OCIRuntime}}' vmtop
	[ "$output" = isolazi-vm ]
	run pm exec vmtop sh -c 'echo exec-ok; exit 5'
	assert_status 5
	assert_contains exec-ok
	run pm stop -t 2 vmtop
	assert_status 0
	run pm rm vmtop
	assert_status 0
}

@test "vm-podman: -v shares a host directory: the guest reads a host file and writes one the host sees" {
	local dir="$BATS_TEST_TMPDIR/shared"
	mkdir -p "$dir"
	echo from-host >"$dir/in.txt"
	run pm_run --rm -v "$dir:/data" "$IMAGE" sh -c 'cat /data/in.txt; echo from-guest >/data/out.txt'
	assert_status 0
	assert_contains from-host
	[ "$(cat "$dir/out.txt")" = from-guest ]
}

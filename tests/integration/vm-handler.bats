#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `isolazi` itself running a bundle annotated run.oci.handler=vm in a microVM (crun's handler
# annotation): run, the whole lifecycle by id (create, start, state, list, exec, ps, pause,
# resume, events, update, kill, delete), the failure paths, and podman --runtime isolazi
# passing the annotation through.  One VM at a time; vm_teardown checks that nothing leaked.

load vm-helpers
load clients

ISOLAZI="$BUILDDIR/src/isolazi/isolazi"

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v podman >/dev/null || return 0
	command -v docker-registry >/dev/null || return 0
	[ -x "$ISOLAZI" ] || return 0
	RUNTIME="$ISOLAZI" RUNTIME_NAME=isolazi podman_vars
	registry_start
	image_push
	RUNTIME="$ISOLAZI" RUNTIME_NAME=isolazi podman_setup_file
}

teardown_file() {
	[ -z "${PM_DIR:-}" ] || RUNTIME="$ISOLAZI" RUNTIME_NAME=isolazi podman_teardown_file
	registry_stop
}

setup() {
	vm_setup
	# The front end under test is isolazi; the annotation picks the VM.
	RUNTIME="$ISOLAZI"
	RUNTIME_NAME=isolazi
	export RUNTIME RUNTIME_NAME
	update_config '.annotations["run.oci.handler"] = "vm"'
}

teardown() {
	vm_teardown
}

@test "vm-handler: isolazi run of an annotated bundle runs in a guest" {
	set_args sh -c 'echo "kernel=$(uname -r)"; grep -c -w hypervisor /proc/cpuinfo; exit 5'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 5 ]
	# the guest's own kernel (the cloud kernel the test booted), not the host's
	assert_contains "kernel=$(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')"
	[[ "$output" != *"kernel=$(uname -r)"* ]] || [ "$(uname -r)" = "$(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')" ]
	# a virtual CPU: the hypervisor flag
	[ "$(echo "$output" | sed -n 2p | tr -d '\r')" -ge 1 ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "vm-handler: without the annotation (or with another handler) the bundle is a container" {
	update_config '.annotations["run.oci.handler"] = "krun"'
	set_args sh -c 'uname -r'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "$(uname -r)" ]
	[ -z "$(vm_qemus)" ]
}

@test "vm-handler: create, start, state, list, exec, ps, pause, resume, events, update, kill, delete by id" {
	set_args sh -c 'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done'
	rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	[ "$(state_field "$CID" pid)" = "$pid" ]
	[ "$(state_field "$CID" status)" = created ]
	[ "$(state_field "$CID" 'annotations["run.oci.handler"]')" = vm ]
	[ -n "$(vm_qemus)" ]

	run runtime start "$CID"
	[ "$status" -eq 0 ]
	[ "$(state_field "$CID" status)" = running ]
	run runtime list
	[ "$status" -eq 0 ]
	assert_contains "$CID" running

	run runtime exec "$CID" sh -c 'echo "exec in $(uname -r)"; exit 4'
	[ "$status" -eq 4 ]
	assert_contains "exec in $(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')"

	# ps: the guest's processes (the agent reports them); json: the host's monitor and QEMU
	run runtime ps "$CID"
	[ "$status" -eq 0 ]
	assert_contains PID "while :; do sleep 0.1; done"
	run runtime ps --format json "$CID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0]')" = "$pid" ]
	[ "$(echo "$output" | jq -r 'length')" -eq 2 ]

	run runtime events --stats "$CID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type)" = stats ]
	[ "$(echo "$output" | jq -r '.data.memory.usage.limit')" -gt 100000000 ]
	[ "$(echo "$output" | jq -r '.data.pids.current')" -ge 1 ]

	# pause stops the vCPUs (QMP stop): state and list say so, exec is refused until resume
	run runtime pause "$CID"
	[ "$status" -eq 0 ]
	[ "$(state_field "$CID" status)" = paused ]
	run runtime list -f json
	[ "$(echo "$output" | jq -r '.[0].status')" = paused ]
	run runtime exec "$CID" true
	[ "$status" -ne 0 ]
	assert_contains "paused"
	run runtime pause "$CID"
	[ "$status" -ne 0 ]
	run runtime resume "$CID"
	[ "$status" -eq 0 ]
	[ "$(state_field "$CID" status)" = running ]
	run runtime resume "$CID"
	[ "$status" -ne 0 ]
	assert_contains "not paused"
	run runtime exec "$CID" echo alive-after-resume
	[ "$status" -eq 0 ]
	assert_contains alive-after-resume

	# update cannot change a running VM: a clear refusal, and the VM runs on
	run runtime update --memory 100m "$CID"
	[ "$status" -ne 0 ]
	assert_contains "not possible for a VM" "fixed when it boots"
	[ "$(state_field "$CID" status)" = running ]

	run runtime delete "$CID"
	[ "$status" -ne 0 ]
	assert_contains "not stopped"
	run runtime kill "$CID" TERM
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	vm_contains "$(cat "$LOG")" got-term
	[ -z "$(vm_qemus)" ]
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CID" ]
}

@test "vm-handler: a process that cannot start fails isolazi create, leaving nothing" {
	set_args /nope
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains 'exec `/nope`: no such file or directory'
	[ ! -e "$ROOT/$CID" ]
	[ -z "$(vm_qemus)" ]
	# the VM-only verbs on an unknown id: the core's message
	run runtime pause "$CID"
	[ "$status" -ne 0 ]
	assert_contains "does not exist"
}

@test "vm-handler: podman --runtime isolazi --annotation run.oci.handler=vm runs in a guest" {
	requires_client podman conmon docker-registry skopeo umoci
	[ -n "${IMAGE:-}" ] || skip "setup_file did not run"
	RUNTIME="$ISOLAZI" RUNTIME_NAME=isolazi podman_vars
	run pm_run --rm --annotation run.oci.handler=vm "$IMAGE" sh -c 'echo "kernel=$(uname -r)"; exit 6'
	[ "$status" -eq 6 ]
	assert_contains "kernel=$(basename "$ISOLAZI_VM_KERNEL" | sed 's/^vmlinuz-//')"
	[[ "$output" != *"kernel=$(uname -r)"* ]]
	run pm ps -aq
	[ -z "$output" ]
	[ -z "$(pgrep -f "qemu-system-x86_64 .*/run/isolazi/" || true)" ]
}

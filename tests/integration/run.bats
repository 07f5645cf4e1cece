#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# run: create + start + wait, and its exit status.

load helpers

@test "run prints the container's output and exits 0" {
	set_args echo hello from the container
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "hello from the container" ]
	run -1 runtime state "$CID" # run deletes the container when it exits
}

@test "run propagates the exit status" {
	set_args sh -c 'exit 3'
	run -3 runtime run --bundle "$BUNDLE" "$CID"
	set_args payload exit 42
	run -42 runtime run --bundle "$BUNDLE" "$CID"
}

@test "run: a container killed by a signal exits 128+signal" {
	set_args sleep 100
	timeout 30 "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 &
	bg=$!
	wait_status "$CID" running
	record_pid "$CID"
	run -0 runtime kill "$CID" KILL
	status=0
	wait "$bg" || status=$?
	[ "$status" -eq 137 ]
}

@test "run --detach returns and the container keeps running" {
	set_args sleep 100
	rt run --detach --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	[ "$(state_field "$CID" status)" = running ]
	alive "$(container_pid)"
	sleep 0.3
	[ "$(state_field "$CID" status)" = running ]
}

@test "run -d with --pid-file" {
	set_args sleep 100
	rt run -d --pid-file "$BATS_TEST_TMPDIR/pid" --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(container_pid)" ]
}

@test "run passes stdin to the container" {
	set_args sh -c 'read -r line; echo "got: $line"'
	run -0 bash -c "echo ping | timeout 20 \"\$RUNTIME\" --root \"\$ROOT\" run --bundle \"\$BUNDLE\" \"\$CID\""
	[ "$output" = "got: ping" ]
}

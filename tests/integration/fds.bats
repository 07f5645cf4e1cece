#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# fds: nothing but 0-2 (and --preserve-fds N) reaches the container.

load helpers

# fd numbers payload fds printed, one line
fd_numbers() {
	awk '{print $1}' "$1" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

@test "fds leaked into create (like conmon's sync pipe) do not reach the container" {
	set_args payload fds
	# conmon hands the runtime its sync pipe on fd 3, go-runc shim fds 3 and 4
	rt create --bundle "$BUNDLE" "$CID" 3</etc/hosts 4</etc/hosts 5</etc/hosts
	[ "$status" -eq 0 ]
	out="$LOG"
	run -0 runtime start "$CID"
	wait_status "$CID" stopped
	cat "$out" >&2
	[ "$(fd_numbers "$out")" = "0 1 2" ]
}

@test "create --preserve-fds 2 passes fds 3 and 4, not 5" {
	set_args payload fds
	rt create --preserve-fds 2 --bundle "$BUNDLE" "$CID" 3</etc/hosts 4</etc/passwd 5</etc/group
	[ "$status" -eq 0 ]
	out="$LOG"
	run -0 runtime start "$CID"
	wait_status "$CID" stopped
	cat "$out" >&2
	[ "$(fd_numbers "$out")" = "0 1 2 3 4" ]
	grep -q '^3 .*hosts$' "$out"
	grep -q '^4 .*passwd$' "$out"
}

@test "run: leaked fds do not reach the container" {
	set_args payload fds
	run -0 bash -c 'timeout 20 "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" 3</etc/hosts 4</etc/hosts 7</etc/hosts'
	echo "$output" >"$BATS_TEST_TMPDIR/fds"
	[ "$(fd_numbers "$BATS_TEST_TMPDIR/fds")" = "0 1 2" ]
}

@test "run --preserve-fds 1" {
	set_args payload fds
	run -0 bash -c 'timeout 20 "$RUNTIME" --root "$ROOT" run --preserve-fds 1 --bundle "$BUNDLE" "$CID" 3</etc/hosts 4</etc/hosts'
	echo "$output" >"$BATS_TEST_TMPDIR/fds"
	[ "$(fd_numbers "$BATS_TEST_TMPDIR/fds")" = "0 1 2 3" ]
}

@test "create: the container's stdio are the caller's files" {
	set_args payload fds
	create_container
	out="$LOG"
	run -0 runtime start "$CID"
	wait_status "$CID" stopped
	run cat "$out"
	assert_contains "0 /dev/null"
	[[ "$(grep '^1 ' "$out")" == *"/rt.1.log" ]]
	[[ "$(grep '^2 ' "$out")" == *"/rt.1.log" ]]
}

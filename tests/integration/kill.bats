#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kill: signal names, numbers, SIG prefix, --all, errors.

load helpers

# A container whose init records each USR1/USR2/TERM it gets in /tmp/got.
trap_args() {
	set_args sh -c 'trap "echo USR1 >> /tmp/got" USR1; trap "echo USR2 >> /tmp/got" USR2;
		trap "echo TERM >> /tmp/got" TERM; touch /tmp/ready; while :; do sleep 0.05; done'
}

@test "kill by name, number and SIG-prefixed name" {
	trap_args
	start_container
	wait_file "$BUNDLE/rootfs/tmp/ready"
	# one at a time: pending signals are delivered in number order, not sending order
	n=0
	for sig in USR1 12 SIGUSR1; do
		run -0 runtime kill "$CID" "$sig"
		n=$((n + 1))
		for _ in $(seq 50); do
			[ "$(cat "$BUNDLE/rootfs/tmp/got" 2>/dev/null | wc -l)" -ge $n ] && break
			sleep 0.1
		done
	done
	run cat "$BUNDLE/rootfs/tmp/got"
	[ "$output" = "$(printf 'USR1\nUSR2\nUSR1')" ]
}

@test "kill with no signal sends SIGTERM" {
	trap_args
	start_container
	wait_file "$BUNDLE/rootfs/tmp/ready"
	run -0 runtime kill "$CID"
	wait_file "$BUNDLE/rootfs/tmp/got"
	[ "$(cat "$BUNDLE/rootfs/tmp/got")" = TERM ]
}

@test "kill KILL stops a running container" {
	set_args sleep 100
	start_container
	run -0 runtime kill "$CID" KILL
	wait_status "$CID" stopped
}

@test "kill --all reaches every process in the container" {
	set_args sh -c '(trap "touch /tmp/bg" USR1; while :; do sleep 0.05; done) &
		trap "touch /tmp/fg" USR1; touch /tmp/ready; while :; do sleep 0.05; done'
	start_container
	wait_file "$BUNDLE/rootfs/tmp/ready"
	sleep 0.2
	run -0 runtime kill --all "$CID" USR1
	wait_file "$BUNDLE/rootfs/tmp/fg"
	wait_file "$BUNDLE/rootfs/tmp/bg"
}

@test "kill with an unknown signal fails" {
	set_args sleep 100
	start_container
	run -1 runtime kill "$CID" FOO
	assert_error 'unknown signal `FOO`' 'unknown signal'
	assert_contains FOO
	run -1 runtime kill "$CID" SIGFOO
	assert_contains "unknown signal"
	run -1 runtime kill "$CID" 999
	[ "$(state_field "$CID" status)" = running ]
}

@test "kill of a stopped container fails: not running" {
	set_args true
	start_container
	wait_status "$CID" stopped
	run -1 runtime kill "$CID" KILL
	assert_contains "container not running"
}

@test "kill of an unknown container fails" {
	run -1 runtime kill "nosuch-$CID" KILL
	assert_error "container \`nosuch-$CID\` does not exist" "does not exist"
}

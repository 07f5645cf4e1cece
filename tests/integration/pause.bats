#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# pause/resume: the freezer stops every process and state reports "paused"; kill and delete
# of a paused container behave as runc's.

load helpers

# The container increments a counter in /tmp/c (visible on the host in the rootfs) every 50 ms,
# replacing the file by rename so that a read never sees it empty.
counter() {
	cat "$BUNDLE/rootfs/tmp/c" 2>/dev/null || echo 0
}

setup() {
	setup_bundle
	set_args sh -c 'trap "exit 3" TERM; i=0; while :; do i=$((i+1)); echo $i >/tmp/c.new; mv /tmp/c.new /tmp/c; sleep 0.05; done'
}

teardown() {
	teardown_bundle
}

@test "pause freezes every process; state and list say paused; resume restarts them" {
	start_container
	wait_file "$BUNDLE/rootfs/tmp/c"
	run -0 runtime pause "$CID"
	[ -z "$output" ]
	[ "$(state_field "$CID" status)" = paused ]
	run -0 runtime list
	assert_contains "paused"
	a="$(counter)"
	sleep 0.5
	b="$(counter)"
	[ "$a" = "$b" ]
	run -0 runtime resume "$CID"
	[ -z "$output" ]
	[ "$(state_field "$CID" status)" = running ]
	sleep 0.5
	c="$(counter)"
	[ "$c" -gt "$b" ]
}

@test "pause errors: stopped, unknown; resume of a container that is not paused" {
	set_args true
	start_container
	wait_status "$CID" stopped
	run -1 runtime pause "$CID"
	assert_contains "container not running"
	run -1 runtime pause nosuch
	assert_contains "does not exist"
	run -1 runtime resume nosuch
	assert_contains "does not exist"
}

@test "resume of a running container: container not paused" {
	start_container
	run -1 runtime resume "$CID"
	assert_contains "container not paused"
}

@test "pausing twice: container not running (as runc); ps of a paused container works" {
	start_container
	run -0 runtime pause "$CID"
	run -1 runtime pause "$CID"
	assert_contains "container not running"
	[ "$(state_field "$CID" status)" = paused ]
	run -0 runtime ps --format json "$CID"
	[[ "$output" == *"$(container_pid)"* ]]
	run -0 runtime resume "$CID"
}

@test "delete of a paused container needs --force, which kills it and removes the cgroup" {
	start_container
	run -0 runtime pause "$CID"
	run -1 runtime delete "$CID"
	assert_contains "paused"
	run -0 runtime delete --force "$CID"
	run -1 runtime state "$CID"
	[ -z "$(cgroup_dirs "$CID" 2>/dev/null || compgen -G "/sys/fs/cgroup/*/$CGROUP_PARENT/$CID")" ]
}

@test "kill KILL of a paused container stops it at once" {
	start_container
	run -0 runtime pause "$CID"
	run -0 runtime kill "$CID" KILL
	wait_status "$CID" stopped
}

@test "kill TERM of a paused container takes effect on resume" {
	start_container
	run -0 runtime pause "$CID"
	run -0 runtime kill "$CID" TERM
	sleep 0.3
	[ "$(state_field "$CID" status)" = paused ]
	run -0 runtime resume "$CID"
	wait_status "$CID" stopped
}

@test "kill --all of a paused container with KILL stops every process" {
	set_args sh -c 'sleep 100 & sleep 100'
	start_container
	run -0 runtime pause "$CID"
	run -0 runtime kill --all "$CID" KILL
	wait_status "$CID" stopped
}

@test "a created container can be paused and resumed" {
	create_container
	run -0 runtime pause "$CID"
	[ "$(state_field "$CID" status)" = paused ]
	run -0 runtime resume "$CID"
	[ "$(state_field "$CID" status)" = created ]
}

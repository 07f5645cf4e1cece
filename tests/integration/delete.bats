#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# delete: --force, refusal on running containers, cleanup of state and cgroups.

load helpers

@test "delete --force of an unknown id exits 0" {
	run -0 runtime delete --force "nosuch-$CID"
	run -0 runtime delete -f "nosuch-$CID"
}

@test "delete of an unknown id fails" {
	run -1 runtime delete "nosuch-$CID"
	assert_error "container \`nosuch-$CID\` does not exist" "does not exist"
}

@test "delete of a running container fails without --force" {
	set_args sleep 100
	start_container
	run -1 runtime delete "$CID"
	assert_error "cannot delete container \`$CID\` that is not stopped: running" "is not stopped: running"
	[ "$(state_field "$CID" status)" = running ]
	run -0 runtime delete --force "$CID"
	run -1 runtime state "$CID"
}

@test "delete removes the state dir and the cgroup" {
	set_args true
	start_container
	wait_status "$CID" stopped
	[ -n "$(cgroup_dirs "$CID")" ]
	[ -n "$(ls -A "$ROOT")" ]
	run -0 runtime delete "$CID"
	[ -z "$(cgroup_dirs "$CID")" ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "delete --force kills a running container and its processes" {
	set_args sh -c 'sleep 100 & sleep 100'
	start_container
	pid="$(container_pid)"
	run -0 runtime delete --force "$CID"
	for _ in $(seq 30); do alive "$pid" || break; sleep 0.1; done
	! alive "$pid"
	[ -z "$(test_processes)" ]
	[ -z "$(cgroup_dirs "$CID")" ]
}

@test "delete of a created container" {
	set_args sleep 100
	create_container
	pid="$(container_pid)"
	run -0 runtime delete --force "$CID"
	run -1 runtime state "$CID"
	for _ in $(seq 30); do alive "$pid" || break; sleep 0.1; done
	! alive "$pid"
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# create / start / state: the lifecycle a client drives.

load helpers

@test "create, start, state: created -> running -> stopped" {
	set_args sh -c 'while [ ! -e /tmp/go ]; do sleep 0.05; done'
	create_container
	run -0 runtime state "$CID"
	[ "$(jq -r .status <<<"$output")" = created ]
	pid="$(jq -r .pid <<<"$output")"
	[ "$pid" -gt 0 ]
	alive "$pid"

	run -0 runtime start "$CID"
	[ -z "$output" ] # start prints nothing on success
	wait_status "$CID" running
	[ "$(container_pid)" = "$pid" ]

	touch "$BUNDLE/rootfs/tmp/go"
	wait_status "$CID" stopped
	run -0 runtime state "$CID"
	[ "$(jq -r .pid <<<"$output")" = 0 ]

	run -0 runtime delete "$CID"
	run -1 runtime state "$CID"
	assert_contains "does not exist"
}

@test "state JSON has the OCI fields" {
	set_args sleep 100
	update_config '.annotations = {"org.example.key": "value"}'
	create_container
	run -0 runtime state "$CID"
	jq -e . <<<"$output" >/dev/null
	[ "$(jq -r .id <<<"$output")" = "$CID" ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .rootfs <<<"$output")" = "$BUNDLE/rootfs" ]
	[ "$(jq -r '.annotations["org.example.key"]' <<<"$output")" = value ]
	jq -e '.ociVersion | type == "string" and length > 0' <<<"$output"
	# created is an RFC 3339 time
	jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")' <<<"$output"
}

@test "create --pid-file writes the pid with no trailing newline" {
	set_args sleep 100
	rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pidfile" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	pid="$(cat "$BATS_TEST_TMPDIR/pidfile")"
	[ "$pid" = "$(container_pid)" ]
	# exactly the digits: no newline (go-runc's ReadPidFile is strconv.Atoi)
	[ "$(wc -c <"$BATS_TEST_TMPDIR/pidfile")" -eq "${#pid}" ]
	[[ "$(od -An -c "$BATS_TEST_TMPDIR/pidfile")" != *'\n'* ]]
}

@test "create with a relative --bundle and --pid-file from the bundle dir" {
	set_args sleep 100
	cd "$BUNDLE"
	rt create --bundle . --pid-file pidfile "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	[ "$(cat "$BUNDLE/pidfile")" = "$(container_pid)" ]
	[ "$(state_field "$CID" bundle)" = "$BUNDLE" ]
}

@test "create without --bundle uses the current directory" {
	set_args sleep 100
	cd "$BUNDLE"
	rt create "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	[ "$(state_field "$CID" bundle)" = "$BUNDLE" ]
}

@test "the user process does not run before start" {
	set_args sh -c 'echo started > /tmp/marker; sleep 100'
	create_container
	sleep 0.3
	[ ! -e "$BUNDLE/rootfs/tmp/marker" ]
	run -0 runtime start "$CID"
	wait_file "$BUNDLE/rootfs/tmp/marker"
}

@test "start twice fails: already running" {
	set_args sleep 100
	start_container
	run -1 runtime start "$CID"
	assert_error "cannot start an already running container" "cannot start an already running container"
	[ "$(state_field "$CID" status)" = running ]
}

@test "start of a stopped container fails" {
	set_args true
	start_container
	wait_status "$CID" stopped
	run -1 runtime start "$CID"
	assert_contains "cannot start a container that has stopped"
}

@test "the container's stdout and stderr are the caller's" {
	set_args sh -c 'echo to-stdout; echo to-stderr >&2'
	create_container
	out="$LOG"
	run -0 runtime start "$CID"
	wait_status "$CID" stopped
	run cat "$out"
	assert_contains to-stdout to-stderr
}

@test "a created container that is killed becomes stopped" {
	set_args sleep 100
	create_container
	run -0 runtime kill "$CID" KILL
	wait_status "$CID" stopped
}

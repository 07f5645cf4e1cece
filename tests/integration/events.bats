#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# events: --stats prints one JSON line in runc's field names; the stream prints stats every
# interval and an "oom" event when the OOM killer strikes, and ends when the container stops.

load helpers

setup() {
	setup_bundle
}

teardown() {
	teardown_bundle
}

@test "events --stats prints one stats line with runc's fields" {
	update_config '.linux.resources.pids = {"limit": 64}'
	set_args sh -c 'sleep 100 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100'
	start_container
	sleep 0.3
	run -0 --separate-stderr runtime events --stats "$CID"
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	jq -e --arg id "$CID" '.type == "stats" and .id == $id' <<<"$output"
	jq -e '.data.cpu.usage.total > 0' <<<"$output"
	jq -e '.data.cpu.usage | has("kernel") and has("user")' <<<"$output"
	jq -e '.data.cpu | has("throttling")' <<<"$output"
	jq -e '.data.memory.usage.usage > 0 and .data.memory.usage.limit > 0' <<<"$output"
	jq -e '.data.memory.usage | has("failcnt")' <<<"$output"
	jq -e '.data.memory.raw | length > 0' <<<"$output"
	jq -e '.data.pids.current >= 2 and .data.pids.limit == 64' <<<"$output"
	jq -e '.data | has("blkio") and has("hugetlb")' <<<"$output"
}

@test "events streams stats every interval and ends when the container stops" {
	isolazi_only "runc 1.1's stream goes on after the container stopped"
	set_args sh -c 'sleep 1.2'
	start_container
	run -0 runtime events --interval 200ms "$CID"
	[ "${#lines[@]}" -ge 3 ]
	for l in "${lines[@]}"; do
		jq -e '.type == "stats" and (.data | has("cpu") and has("memory"))' <<<"$l"
	done
}

@test "an OOM kill is reported as an oom event" {
	isolazi_only "runc 1.1's stream goes on after the container stopped (the oom line is the same)"
	update_config '.linux.resources.memory = {"limit": 16777216, "swap": 16777216}'
	# tail of /dev/zero buffers an endless "line" until the OOM killer stops it
	set_args sh -c 'sleep 0.5; tail /dev/zero; sleep 1'
	start_container
	run -0 runtime events --interval 10s "$CID"
	assert_contains '{"type":"oom","id":"'"$CID"'"}'
}

@test "events errors: stopped or unknown container, bad interval" {
	set_args true
	start_container
	wait_status "$CID" stopped
	run -1 runtime events --stats "$CID"
	assert_contains "not running"
	run -1 runtime events --stats nosuch
	assert_contains "does not exist"
	run -1 runtime events --interval 0s "$CID"
	run -1 runtime events --interval soon "$CID"
}

@test "pids.limit makes fork fail inside the container" {
	update_config '.linux.resources.pids = {"limit": 3}'
	set_args sh -c 'for i in 1 2 3 4 5; do sleep 1 & done; wait'
	rt run --bundle "$BUNDLE" "$CID"
	[[ "$output" == *"Resource temporarily unavailable"* || "$output" == *"can't fork"* ]]
}

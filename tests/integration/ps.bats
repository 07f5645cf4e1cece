#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ps: the json list is the container's host pids with nothing on stderr (containerd decodes
# the merged output); the table is the host's ps filtered to the container's processes.

load helpers

setup() {
	setup_bundle
	set_args sh -c 'sleep 100 & sleep 101'
}

teardown() {
	teardown_bundle
}

# The container's processes as the host sees them, sorted.
cgroup_pids() {
	local d
	d="$(cgroup_dirs "$CID" | head -n 1)"
	sort -n "$d/cgroup.procs" | tr '\n' ' '
}

@test "ps --format json lists the container's host pids, nothing else" {
	start_container
	sleep 0.2
	run -0 --separate-stderr runtime ps --format json "$CID"
	[ -z "$stderr" ]
	[ "$(jq -r 'sort | map(tostring) | join(" ")' <<<"$output") " = "$(cgroup_pids)" ]
	[ "$(jq length <<<"$output")" -eq "$(wc -w <<<"$(cgroup_pids)")" ]
	[ "$(jq length <<<"$output")" -ge 2 ]
	jq -e --argjson p "$(container_pid)" 'index($p) != null' <<<"$output"
	run -0 runtime ps -f json "$CID"
	[[ "$output" == "["*"]" ]]
}

@test "ps (table) keeps the header and only the container's processes" {
	start_container
	sleep 0.2
	pids="$(cgroup_pids)"
	run -0 runtime ps "$CID"
	[[ "${lines[0]}" == *PID*CMD* ]]
	[ "${#lines[@]}" -eq $(($(wc -w <<<"$pids") + 1)) ]
	for l in "${lines[@]:1}"; do
		p="$(awk '{print $2}' <<<"$l")"
		[[ " $pids" == *" $p "* ]]
	done
	assert_contains "sleep 100" "sleep 101"
}

@test "ps passes its extra arguments to ps(1)" {
	start_container
	sleep 0.2
	run -0 runtime ps "$CID" -o pid,comm
	[[ "${lines[0]}" == *PID*COMMAND* ]]
	[ "${#lines[@]}" -eq $(($(wc -w <<<"$(cgroup_pids)") + 1)) ]
	assert_contains "sleep"
}

@test "ps errors: unknown format, unknown container, ps output without PID" {
	start_container
	run -1 runtime ps --format yaml "$CID"
	assert_contains "format"
	run -1 runtime ps nosuch
	assert_contains "does not exist"
	run -1 runtime ps "$CID" -o comm
	assert_contains "PID"
}

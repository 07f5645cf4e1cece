#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# list: table, -q, --format json.

load helpers

@test "list with no containers" {
	run -0 runtime list
	[ "$(head -n1 <<<"$output" | awk '{print $1, $2, $3}')" = "ID PID STATUS" ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	run -0 runtime list -q
	[ -z "$output" ]
}

@test "list shows a table header and a row per container" {
	set_args sleep 100
	start_container
	setup_bundle2
	update_config '.process.args = ["sleep", "100"]' "$BUNDLE2"
	create_container "$CID2" "$BUNDLE2"
	run -0 runtime list
	[ "$(head -n1 <<<"$output" | awk '{print $1, $2, $3, $4, $5}')" = "ID PID STATUS BUNDLE CREATED" ]
	row="$(grep "^$CID " <<<"$output")"
	[ "$(awk '{print $2}' <<<"$row")" = "$(container_pid)" ]
	[ "$(awk '{print $3}' <<<"$row")" = running ]
	[ "$(awk '{print $4}' <<<"$row")" = "$BUNDLE" ]
	row="$(grep "^$CID2 " <<<"$output")"
	[ "$(awk '{print $3}' <<<"$row")" = created ]
}

@test "list -q prints only the ids" {
	set_args sleep 100
	start_container
	run -0 runtime list -q
	[ "$output" = "$CID" ]
	run -0 runtime list --quiet
	[ "$output" = "$CID" ]
}

@test "list --format json" {
	set_args sleep 100
	start_container
	run -0 runtime list --format json
	jq -e 'type == "array" and length == 1' <<<"$output"
	[ "$(jq -r '.[0].id' <<<"$output")" = "$CID" ]
	[ "$(jq -r '.[0].status' <<<"$output")" = running ]
	[ "$(jq -r '.[0].pid' <<<"$output")" = "$(container_pid)" ]
	[ "$(jq -r '.[0].bundle' <<<"$output")" = "$BUNDLE" ]
	run -0 runtime list -f json
	[ "$(jq -r '.[0].id' <<<"$output")" = "$CID" ]
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# global flags: --root, --log, --log-format, --version, --debug.

load helpers

RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

@test "--version: first line is NAME version X.Y.Z" {
	run -0 runtime_bare --version
	[[ "$(head -n1 <<<"$output")" =~ ^$RUNTIME_NAME\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	assert_contains "spec: "
	run -0 runtime_bare -v
	[[ "$(head -n1 <<<"$output")" =~ ^$RUNTIME_NAME\ version ]]
}

@test "--root keeps state under the given directory" {
	other="$BATS_TEST_TMPDIR/other-root"
	set_args sleep 100
	runtime_bare --root "$other" create --bundle "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	[ -n "$(ls -A "$other")" ]
	run -0 runtime_bare --root "$other" state "$CID"
	[ "$(jq -r .status <<<"$output")" = created ]
	# not visible under another root
	run -1 runtime state "$CID"
	run -0 runtime_bare --root "$other" delete --force "$CID"
	[ -z "$(ls -A "$other")" ]
}

@test "--log --log-format json: one error object per failing call, appended" {
	log="$BATS_TEST_TMPDIR/log.json"
	run -1 runtime --log "$log" --log-format json state "nosuch-$CID"
	[ "$(wc -l <"$log")" -eq 1 ]
	jq -e '.level == "error"' "$log"
	jq -e '.msg | contains("does not exist")' "$log"
	jq -e --arg re "$RFC3339" '.time | test($re)' "$log"
	# the = form too, appended
	run -1 runtime --log="$log" --log-format=json kill "nosuch-$CID" KILL
	[ "$(wc -l <"$log")" -eq 2 ]
	jq -s -e 'length == 2 and all(.level == "error")' "$log"
	jq -s -e --arg re "$RFC3339" 'all(.time | test($re))' "$log"
}

@test "--log-format json: a successful call logs no error" {
	log="$BATS_TEST_TMPDIR/log.json"
	set_args true
	run -0 runtime --log "$log" --log-format json run --bundle "$BUNDLE" "$CID"
	[ ! -s "$log" ] || [ -z "$(jq -c 'select(.level == "error")' "$log")" ]
}

@test "--log-format json: a failing create logs exactly one error" {
	log="$BATS_TEST_TMPDIR/log.json"
	set_args /nope
	rt --log "$log" --log-format json create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	[ "$(jq -s '[.[] | select(.level == "error")] | length' "$log")" -eq 1 ]
	jq -e 'select(.level == "error") | .msg | contains("/nope")' "$log"
	[[ "$output" == *"/nope"* ]] # and on stderr
}

@test "--log-format text is the default" {
	log="$BATS_TEST_TMPDIR/log.txt"
	run -1 runtime --log "$log" state "nosuch-$CID"
	grep -q 'level=error' "$log"
	grep -q 'does not exist' "$log"
}

@test "--log-format with an unknown value is refused" {
	run runtime --log-format yaml state "$CID"
	[ "$status" -ne 0 ]
}

@test "--debug is accepted and the container still runs" {
	set_args echo hello
	run -0 runtime --debug run --bundle "$BUNDLE" "$CID"
	assert_contains hello
}

@test "an unknown command fails" {
	run runtime frobnicate
	[ "$status" -ne 0 ]
}

@test "no HOME, no PATH, empty XDG_RUNTIME_DIR (podman's direct calls)" {
	set_args sleep 100
	create_container
	run -0 env -i XDG_RUNTIME_DIR= timeout 20 "$RUNTIME" --root "$ROOT" start "$CID"
	[ -z "$output" ]
	run -0 env -i XDG_RUNTIME_DIR= timeout 20 "$RUNTIME" --root "$ROOT" kill "$CID" 9
	run -0 env -i XDG_RUNTIME_DIR= timeout 20 "$RUNTIME" --root "$ROOT" delete --force "$CID"
}

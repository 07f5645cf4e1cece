#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Interactive terminals: `run` and `exec -t` from a terminal without --console-socket relay the
# container's pty to the caller's, under tmux (a real terminal with a size we choose).

load helpers

setup() {
	setup_bundle
	command -v tmux >/dev/null || skip "tmux is not installed (contrib/install-deps.sh installs it)"
	TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock"
	STATUS_FILE="$BATS_TEST_TMPDIR/status"
}

teardown() {
	local pid
	if [ -n "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null; then
		# A session cut short (a failed test): its shell is pid 1 of its namespace and ignores
		# the hangup, so end it; the runtime then cleans up after it.
		for pid in $(test_processes); do kill -9 "$pid" 2>/dev/null || true; done
		sleep 0.5
	fi
	teardown_bundle
}

tm() {
	tmux -S "$TMUX_SOCK" "$@"
}

# start_session CMD: CMD in a detached 120x40 terminal; its exit status goes to $STATUS_FILE.
start_session() {
	tm new-session -d -s t -x 120 -y 40 "$1; echo status=\$? >$STATUS_FILE.tmp; mv $STATUS_FILE.tmp $STATUS_FILE"
}

# wait_pane TEXT [TRIES]: poll the screen until it shows TEXT.
wait_pane() {
	local tries="${2:-100}"
	while [ "$tries" -gt 0 ]; do
		tm capture-pane -p -t t 2>/dev/null | grep -qF -- "$1" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "the screen never showed: $1" >&2
	tm capture-pane -p -t t >&2 2>/dev/null || true
	return 1
}

# type_line TEXT: type it and press Enter.
type_line() {
	tm send-keys -t t -l "$1"
	tm send-keys -t t Enter
}

# The session's checks: a prompt, a command, the size, a resize, Ctrl-C, then `exit N`.
interact() {
	local code="$1"
	wait_pane "/ #"
	type_line 'echo answer=$((6*7))'
	wait_pane "answer=42"
	type_line 'echo size=$(stty size) tty=$(tty)'
	wait_pane "size=40 120 tty=/dev/pts/"
	tm resize-window -t t -x 100 -y 30
	sleep 0.3
	type_line 'echo size2=$(stty size)'
	wait_pane "size2=30 100"
	# Ctrl-C ends the foreground `sleep` (else the next line would wait 100 s), not the shell
	type_line 'sleep 100'
	sleep 0.5
	tm send-keys -t t C-c
	wait_pane "^C"
	type_line 'echo alive=$((1+1))'
	wait_pane "alive=2" 50
	type_line "exit $code"
	wait_file "$STATUS_FILE" 100
	[ "$(cat "$STATUS_FILE")" = "status=$code" ]
}

@test "run with process.terminal and no --console-socket is an interactive session" {
	update_config '.process.terminal = true | .process.args = ["sh"]'
	start_session "$RUNTIME --root $ROOT run --bundle $BUNDLE $CID"
	interact 3
	# run deleted the container
	[ -z "$(ls -A "$ROOT")" ]
}

@test "exec -t without --console-socket is an interactive session" {
	set_args sleep 100
	start_container
	start_session "$RUNTIME --root $ROOT exec -t $CID sh"
	interact 5
	[ "$(state_field "$CID" status)" = running ]
}

@test "the caller's terminal is restored after the session" {
	update_config '.process.terminal = true | .process.args = ["sh"]'
	start_session "stty -g >$BATS_TEST_TMPDIR/before; $RUNTIME --root $ROOT run --bundle $BUNDLE $CID; stty -g >$BATS_TEST_TMPDIR/after"
	wait_pane "/ #"
	type_line "exit 0"
	wait_file "$STATUS_FILE"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "run --detach with process.terminal needs --console-socket" {
	update_config '.process.terminal = true'
	rt run -d --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_error "needs --console-socket" "console socket"
	[ -z "$(ls -A "$ROOT")" ]
}

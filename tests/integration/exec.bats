#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# exec: a new process in a running container, as runc runs it (flags, --process, status, errors).

load helpers

SAMPLES="$SRCDIR/../shared/contract/samples"
[ -d "$SAMPLES" ] || SAMPLES=/work/shared/contract/samples

setup() {
	setup_bundle
	set_args sleep 100
}

# The host side of --console-socket: built with the payload, or compiled here (runc runs).
recvtty_bin() {
	local built="$BUILDDIR/tests/payload/recvtty" out="$BATS_RUN_TMPDIR/recvtty"
	if [ -x "$built" ]; then
		echo "$built"
		return
	fi
	[ -x "$out" ] || sed '/#include "config.h"/d' "$SRCDIR/tests/payload/recvtty.c" |
		cc -O1 -Wall -Wextra -Werror -o "$out" -x c -
	echo "$out"
}

fd_numbers() {
	awk '{print $1}' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

@test "exec runs a command in the container and exits with its status" {
	start_container
	run runtime exec "$CID" sh -c 'echo out; echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	assert_contains out err
	# its root is the container's: the payload is there, the host's /etc/hosts content is not
	run -0 runtime exec "$CID" sh -c 'test -x /bin/payload && echo in-container'
	assert_contains in-container
}

@test "exec joins every namespace and the cgroup of the init" {
	start_container
	init="$(container_pid)"
	rt exec --detach --pid-file "$BATS_TEST_TMPDIR/pid" "$CID" sleep 30
	[ "$status" -eq 0 ]
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	echo "$pid" >>"$PIDS_FILE"
	for ns in cgroup ipc mnt net pid pid_for_children time user uts; do
		[ -e "/proc/$init/ns/$ns" ] || continue
		echo "$ns: init $(ns_inode "$init" "$ns") exec $(ns_inode "$pid" "$ns")" >&2
		[ "$(ns_inode "$init" "$ns")" = "$(ns_inode "$pid" "$ns")" ]
	done
	# the host's view of its cgroups, in every hierarchy, is the init's
	diff "/proc/$init/cgroup" "/proc/$pid/cgroup"
	# the container's view: its own pid namespace and cgroup paths
	run -0 runtime exec "$CID" payload pid
	[[ "$output" != "pid=1 "* ]]
	[[ "$output" == *"ppid=0"* ]]
	[ "$(runtime exec "$CID" payload cgroup)" = "$(runtime exec "$CID" cat /proc/1/cgroup)" ]
}

@test "exec --detach writes the pid file without a newline and returns at once" {
	start_container
	SECONDS=0
	rt exec -d --pid-file "$BATS_TEST_TMPDIR/pid" "$CID" sleep 30
	[ "$status" -eq 0 ]
	[ "$SECONDS" -lt 10 ]
	[ -z "$output" ]
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	echo "$pid" >>"$PIDS_FILE"
	[[ "$pid" =~ ^[0-9]+$ ]]
	[ "$(tail -c1 "$BATS_TEST_TMPDIR/pid" | od -An -c | tr -d ' ')" != '\n' ]
	alive "$pid"
	grep -q "^sleep" "/proc/$pid/comm"
}

@test "exec flags: --env, --cwd, --user, --additional-gids" {
	start_container
	run -0 runtime exec -e FOO=bar -e BAZ=a=b --cwd /tmp -u 1000:1001 -g 10 -g 20 "$CID" \
		sh -c 'payload ids; payload cwd; payload env'
	assert_contains "uid=1000 gid=1001 euid=1000 egid=1001 groups=10,20" "/tmp" "FOO=bar" "BAZ=a=b" \
		"PATH=/usr/local/sbin"
	# uid alone keeps config.json's gid
	run -0 runtime exec -u 1000 "$CID" payload ids
	assert_contains "uid=1000 gid=0 "
}

@test "exec --env replaces a variable of config.json" {
	# runc 1.1 appends a second TERM= and leaves the choice to the libc; isolazi keeps one.
	isolazi_only "runc 1.1 passes duplicate keys on"
	start_container
	run -0 runtime exec -e TERM=dumb "$CID" payload env
	[ "$(grep -c '^TERM=' <<<"$output")" -eq 1 ]
	assert_contains "TERM=dumb"
}

@test "exec --cap adds a capability; --no-new-privs sets no_new_privs" {
	update_config '.process.noNewPrivileges = false'
	start_container
	# CAP_SYS_ADMIN is bit 21: 0x200000
	run -0 runtime exec "$CID" payload caps
	eff="$(awk '/CapEff/ {print $2}' <<<"$output")"
	(((0x$eff & 0x200000) == 0))
	run -0 runtime exec --cap CAP_SYS_ADMIN "$CID" payload caps
	eff="$(awk '/CapEff/ {print $2}' <<<"$output")"
	bnd="$(awk '/CapBnd/ {print $2}' <<<"$output")"
	(((0x$eff & 0x200000) != 0))
	(((0x$bnd & 0x200000) != 0))
	run -0 runtime exec "$CID" grep NoNewPrivs /proc/self/status
	assert_contains "NoNewPrivs:	0"
	run -0 runtime exec --no-new-privs "$CID" grep NoNewPrivs /proc/self/status
	assert_contains "NoNewPrivs:	1"
}

@test "exec --process with podman's process.json" {
	start_container
	# podman's sample, with limits this host allows (no CAP_SYS_RESOURCE here)
	jq '.rlimits = [{"type":"RLIMIT_NOFILE","hard":1024,"soft":512}] | .args = ["sh","-c","echo $(id -u) $FOO $(pwd) $(ulimit -n)"]' \
		"$SAMPLES/podman-exec-process.json" >"$BATS_TEST_TMPDIR/process.json"
	run -0 runtime exec --process "$BATS_TEST_TMPDIR/process.json" "$CID"
	assert_contains "1000 y /tmp 512"
	# with --detach and a pid file, as conmon calls it
	jq '.args = ["sleep","30"]' "$BATS_TEST_TMPDIR/process.json" >"$BATS_TEST_TMPDIR/p2.json"
	rt exec --pid-file "$BATS_TEST_TMPDIR/pid" --process "$BATS_TEST_TMPDIR/p2.json" --detach "$CID"
	[ "$status" -eq 0 ]
	pid="$(cat "$BATS_TEST_TMPDIR/pid")"
	echo "$pid" >>"$PIDS_FILE"
	[ "$(awk '/^Uid/ {print $2}' "/proc/$pid/status")" = 1000 ]
}

@test "exec --process: a bad file is reported with its path" {
	start_container
	echo '{"args": "sh"}' >"$BATS_TEST_TMPDIR/bad.json"
	run runtime exec --process "$BATS_TEST_TMPDIR/bad.json" "$CID"
	[ "$status" -ne 0 ]
	assert_error "bad.json: args" "args"
}

@test "exec of a missing executable exits 255 with the cause" {
	start_container
	run runtime exec "$CID" nope
	[ "$status" -eq 255 ]
	assert_contains 'exec failed' 'executable file not found in $PATH'
	assert_error 'exec `nope`: executable file not found in $PATH' 'nope'
	run runtime exec "$CID" /nope
	[ "$status" -eq 255 ]
	assert_contains "no such file or directory"
	# the container goes on
	[ "$(state_field "$CID" status)" = running ]
}

@test "exec in a stopped container fails" {
	set_args true
	start_container
	wait_status "$CID" stopped
	run runtime exec "$CID" true
	[ "$status" -eq 255 ]
	assert_contains "cannot exec in a stopped container"
}

@test "exec in a missing container fails" {
	run runtime exec nosuch true
	[ "$status" -ne 0 ]
	assert_contains "does not exist"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "exec without a command is a usage error" {
	start_container
	run runtime exec "$CID"
	[ "$status" -ne 0 ]
}

@test "exec: fds leaked by the caller do not reach the process; --preserve-fds passes them" {
	start_container
	# conmon runs exec with its sync, start and attach pipes on fds 3-5
	run -0 bash -c '"$RUNTIME" --root "$ROOT" exec "$CID" payload fds 3</etc/hosts 4</etc/hosts 5</etc/hosts'
	[ "$(fd_numbers <<<"$output")" = "0 1 2" ]
	run -0 bash -c '"$RUNTIME" --root "$ROOT" exec --preserve-fds 1 "$CID" payload fds 3</etc/hosts 4</etc/hosts'
	[ "$(fd_numbers <<<"$output")" = "0 1 2 3" ]
	grep -q '^3 .*hosts$' <<<"$output"
}

@test "exec forwards signals to the process and exits with its status" {
	start_container
	"$RUNTIME" --root "$ROOT" exec "$CID" sh -c 'trap "exit 42" TERM; touch /tmp/ready; while :; do sleep 0.1; done' &
	rpid=$!
	for _ in $(seq 50); do runtime exec "$CID" test -e /tmp/ready && break; sleep 0.1; done
	kill -TERM "$rpid"
	st=0
	wait "$rpid" || st=$?
	[ "$st" -eq 42 ]
}

@test "exec -t --console-socket sends the pty master as go-runc expects" {
	start_container
	sock="$BATS_TEST_TMPDIR/tty.sock"
	"$(recvtty_bin)" -i $'hello\n' "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	rpid=$!
	wait_file "$sock"
	# runc takes a console socket only with --detach
	rt exec -t -d --pid-file "$BATS_TEST_TMPDIR/pid" --console-socket "$sock" "$CID" \
		sh -c 'read x; echo got=$x; tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty'
	[ "$status" -eq 0 ]
	cat "$BATS_TEST_TMPDIR/pid" >>"$PIDS_FILE"
	wait "$rpid"
	cat "$BATS_TEST_TMPDIR/tty.err" >&2
	grep -q 'controllen=[0-9]* cmsgs=1 fds=1' "$BATS_TEST_TMPDIR/tty.err"
	run cat "$BATS_TEST_TMPDIR/tty.out"
	assert_contains "got=hello" "/dev/pts/" "all-tty"
}

@test "exec --process with containerd's tty process.json and a console socket" {
	start_container
	sock="$BATS_TEST_TMPDIR/tty.sock"
	"$(recvtty_bin)" "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	rpid=$!
	wait_file "$sock"
	rt exec --process "$SAMPLES/containerd-exec-tty-process.json" --console-socket "$sock" --detach \
		--pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -eq 0 ]
	cat "$BATS_TEST_TMPDIR/pid" >>"$PIDS_FILE"
	wait "$rpid"
	run cat "$BATS_TEST_TMPDIR/tty.out"
	assert_contains "/dev/pts/" "exec-tty"
}

@test "exec -t --detach without --console-socket is refused" {
	start_container
	run runtime exec -t -d "$CID" true
	[ "$status" -ne 0 ]
	assert_error "without --console-socket" "console"
}

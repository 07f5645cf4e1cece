#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# podman (through conmon) drives the runtime: a private podman (storage, config, cgroup parent)
# pulls the busybox test image from a local registry and runs it with --runtime $RUNTIME.
# After every test no container, runtime state, mount, cgroup or conmon may be left.

load helpers
load clients

podman_vars

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v podman >/dev/null || return 0
	[ -x "$RUNTIME" ] || return 0
	registry_start
	image_push
	podman_setup_file
}

teardown_file() {
	podman_teardown_file
}

setup() {
	requires root
	requires_client podman conmon docker-registry skopeo umoci
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	[ -n "${IMAGE:-}" ] || skip "setup_file did not run"
}

teardown() {
	podman_teardown
}

# ctr_id NAME: the full id of a container.
ctr_id() {
	pm inspect --format '{{.Id}}' "$1"
}

ctr_pid() {
	pm inspect --format '{{.State.Pid}}' "$1"
}

# cgroup_file NAME CONTROLLER FILE: a cgroup v1 file of the container.
cgroup_file() {
	echo "/sys/fs/cgroup/$2/$PM_CGROUP/libpod-$(ctr_id "$1")/$3"
}

# wait_logs NAME TEXT: poll the container's logs until TEXT shows up.
wait_logs() {
	local tries=100
	while [ $tries -gt 0 ]; do
		[[ "$(pm logs "$1" 2>&1)" == *"$2"* ]] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "logs of $1 never showed \"$2\": $(pm logs "$1" 2>&1)" >&2
	return 1
}

@test "podman: run prints the container's output and exits with its status" {
	run pm_run --rm "$IMAGE" sh -c 'echo "hello from $(hostname)"; echo to-stderr >&2; exit 3'
	assert_status 3
	assert_contains "hello from" to-stderr
}

@test "podman: the runtime in use is the one under test" {
	run pm info --format '{{.Host.OCIRuntime.Path}}'
	assert_status 0
	[ "$output" = "$RUNTIME" ]
	run pm_run --name rt-check "$IMAGE" true
	assert_status 0
	run pm inspect --format '{{.OCIRuntime}}' rt-check
	assert_status 0
	[ "$output" = "$RUNTIME_NAME" ]
	run pm rm rt-check
	assert_status 0
}

@test "podman: the default seccomp profile is applied" {
	# containers-common's profile names syscalls newer than libseccomp may know (futex_waitv).
	run pm_run --rm "$IMAGE" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	assert_status 0
	assert_contains $'Seccomp:\t2'
}

@test "podman: run -d, wait, logs" {
	run pm_run -d --name logs "$IMAGE" sh -c 'echo line-one; echo line-two >&2; exit 4'
	assert_status 0
	run pm wait logs
	assert_status 0
	[ "$output" = 4 ]
	run pm logs logs
	assert_status 0
	assert_contains line-one line-two
	run pm rm logs
	assert_status 0
}

@test "podman: exec runs a process in a running container" {
	run pm_run -d --name ex "$IMAGE" sleep 1000
	assert_status 0
	run pm exec ex sh -c 'echo "exec in $(cat /proc/1/comm)"; exit 7'
	assert_status 7
	assert_contains "exec in sleep"
	run pm exec --user 1000:1000 --workdir /tmp ex sh -c 'id -u; pwd'
	assert_status 0
	assert_contains 1000 /tmp
	run -127 pm exec ex /nonexistent
	assert_status 127
	run pm rm -f -t 0 ex
	assert_status 0
}

@test "podman: exec -it gets a terminal" {
	run pm_run -d --name ext "$IMAGE" sleep 1000
	assert_status 0
	run in_tty 60 "${PODMAN[@]}" exec -it ext sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; stty size'
	assert_status 0
	assert_contains /dev/pts/ stdin-is-tty "$TTY_ROWS $TTY_COLS"
	run pm rm -f -t 0 ext
	assert_status 0
}

@test "podman: run -it gets a terminal" {
	run in_tty 60 "${PODMAN[@]}" run --rm -it --cgroup-parent "/$PM_CGROUP" "$IMAGE" \
		sh -c 'tty; [ -t 1 ] && echo stdout-is-tty; stty size; exit 5'
	assert_status 5
	assert_contains /dev/pts/0 stdout-is-tty "$TTY_ROWS $TTY_COLS"
}

@test "podman: stop sends TERM to a process that handles it" {
	run pm_run -d --name st "$IMAGE" sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	assert_status 0
	wait_logs st ready
	SECONDS=0
	run pm stop -t 20 st
	assert_status 0
	[ "$SECONDS" -lt 10 ]
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' st
	assert_contains "exited 0"
	run pm logs st
	assert_contains got-term
	run pm rm st
	assert_status 0
}

@test "podman: stop escalates to KILL when TERM is ignored" {
	# pid 1 without a handler ignores TERM.
	run pm_run -d --name sk "$IMAGE" sleep 1000
	assert_status 0
	SECONDS=0
	run pm stop -t 2 sk
	assert_status 0
	[ "$SECONDS" -ge 2 ]
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' sk
	assert_contains "exited 137"
	run pm rm sk
	assert_status 0
}

@test "podman: kill -s USR1 reaches the container" {
	run pm_run -d --name ku "$IMAGE" sh -c 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done'
	assert_status 0
	wait_logs ku ready
	run pm kill -s USR1 ku
	assert_status 0
	wait_logs ku got-usr1
	run pm inspect --format '{{.State.Status}}' ku
	[ "$output" = running ]
	run pm rm -f -t 0 ku
	assert_status 0
}

@test "podman: pause freezes the container and unpause thaws it" {
	run pm_run -d --name pz "$IMAGE" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.05; done'
	assert_status 0
	local merged n1 n2
	merged="$(pm inspect --format '{{.GraphDriver.Data.MergedDir}}' pz)"
	wait_file "$merged/tmp/n"
	run pm pause pz
	assert_status 0
	run pm inspect --format '{{.State.Status}}' pz
	[ "$output" = paused ]
	[ "$(cat "$(cgroup_file pz freezer freezer.state)")" = FROZEN ]
	n1="$(cat "$merged/tmp/n")"
	sleep 0.5
	n2="$(cat "$merged/tmp/n")"
	[ "$n1" = "$n2" ]
	run pm unpause pz
	assert_status 0
	run pm inspect --format '{{.State.Status}}' pz
	[ "$output" = running ]
	[ "$(cat "$(cgroup_file pz freezer freezer.state)")" = THAWED ]
	sleep 0.5
	[ "$(cat "$merged/tmp/n")" != "$n2" ]
	run pm rm -f -t 0 pz
	assert_status 0
}

@test "podman: update changes the memory and cpu limits" {
	run pm_run -d --name up "$IMAGE" sleep 1000
	assert_status 0
	run pm update --memory 64m --cpus 0.5 up
	assert_status 0
	[ "$(cat "$(cgroup_file up memory memory.limit_in_bytes)")" = 67108864 ]
	[ "$(cat "$(cgroup_file up cpu cpu.cfs_quota_us)")" = 50000 ]
	[ "$(cat "$(cgroup_file up cpu cpu.cfs_period_us)")" = 100000 ]
	run pm rm -f -t 0 up
	assert_status 0
}

@test "podman: rm -f removes a running container" {
	run pm_run -d --name rmf "$IMAGE" sleep 1000
	assert_status 0
	local pid
	pid="$(ctr_pid rmf)"
	kill -0 "$pid"
	run pm rm -f rmf
	assert_status 0
	run kill -0 "$pid"
	[ "$status" -ne 0 ]
	run pm ps -aq
	[ -z "$output" ]
}

@test "podman: --init runs catatonit as pid 1" {
	run pm_run --rm --init "$IMAGE" sh -c 'echo "pid=$$"; tr "\0" " " </proc/1/cmdline; echo'
	assert_status 0
	assert_contains "/run/podman-init -- sh -c"
	[[ "$output" != *"pid=1"* ]]
}

@test "podman: a pod's containers share the infra container's namespaces" {
	run pm pod create --name pod1 --cgroup-parent "/$PM_CGROUP"
	assert_status 0
	run pm run -d --pod pod1 --name member "$IMAGE" sleep 1000
	assert_status 0
	local infra ipid mpid ns
	infra="$(pm pod inspect --format '{{.InfraContainerID}}' pod1)"
	ipid="$(ctr_pid "$infra")"
	mpid="$(ctr_pid member)"
	[ "$ipid" -gt 0 ]
	[ "$mpid" -gt 0 ]
	for ns in net ipc uts; do
		[ "$(ns_inode "$ipid" "$ns")" = "$(ns_inode "$mpid" "$ns")" ]
	done
	[ "$(ns_inode "$ipid" pid)" != "$(ns_inode "$mpid" pid)" ]
	[ "$(ns_inode "$mpid" net)" != "$(ns_inode 1 net)" ]
	# The infra runs catatonit.
	[[ "$(tr '\0' ' ' <"/proc/$ipid/cmdline")" == *catatonit* ]]
	run pm pod rm -f -t 0 pod1
	assert_status 0
}

@test "podman: --read-only with --tmpfs /tmp" {
	run pm_run --rm --read-only --tmpfs /tmp "$IMAGE" sh -c \
		'touch /x 2>&1; touch /tmp/y && echo tmp-writable; grep " /tmp " /proc/mounts'
	assert_status 0
	assert_contains "Read-only file system" tmp-writable "tmpfs /tmp tmpfs"
}

@test "podman: -v hostdir:/mnt:ro" {
	local dir="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$dir"
	echo from-the-host >"$dir/f"
	run pm_run --rm -v "$dir:/mnt:ro" "$IMAGE" sh -c 'cat /mnt/f; touch /mnt/g 2>&1; true'
	assert_status 0
	assert_contains from-the-host "Read-only file system"
	[ ! -e "$dir/g" ]
}

@test "podman: --cgroups=disabled (runtime_supports_nocgroups)" {
	isolazi_only "podman refuses --cgroups=disabled with runc"
	# podman passes crun's global flag `--cgroup-manager disabled` to the runtime.
	run pm run --rm --cgroups=disabled --cidfile "$BATS_TEST_TMPDIR/cid" "$IMAGE" cat /proc/self/cgroup
	assert_status 0
	[[ "$output" != *libpod-* ]]
	assert_contains "memory:"
	# no cgroup was made for the container, under any name
	[ -z "$(cgroups_named "$(cat "$BATS_TEST_TMPDIR/cid")")" ]
}

@test "podman: --user 1000:1000" {
	run pm_run --rm --user 1000:1000 "$IMAGE" id
	assert_status 0
	assert_contains "uid=1000(user) gid=1000(user)"
}

@test "podman: a command that is not executable exits 126" {
	run pm_run --rm "$IMAGE" /etc/passwd
	assert_status 126
	assert_contains "permission denied"
}

@test "podman: a command that does not exist exits 127" {
	run -127 pm_run --rm "$IMAGE" /nonexistent
	assert_status 127
	assert_contains /nonexistent
}

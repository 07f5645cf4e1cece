# SPDX-License-Identifier: Apache-2.0
# Shared setup for the integration suite.  Every test gets its own --root, bundle (a copy of a
# busybox rootfs plus the static payload), container ids and cgroup, and a teardown that
# force-deletes its containers and then fails the test if anything leaked.
#
# Environment:
#   ISOLAZI_RUNTIME   runtime to test: a path or a name on PATH (e.g. `runc`); default: the
#                     built src/isolazi/isolazi
#   ISOLAZI_BUILDDIR  build directory holding src/isolazi/isolazi and tests/payload/payload
#                     (default: the source tree, for in-tree builds)

bats_require_minimum_version 1.5.0

INTEGRATION_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRCDIR="$(cd "$INTEGRATION_DIR/../.." && pwd)"
BUILDDIR="${ISOLAZI_BUILDDIR:-$SRCDIR}"

if [ -n "${ISOLAZI_RUNTIME:-}" ]; then
	RUNTIME="$(command -v "$ISOLAZI_RUNTIME" || echo "$ISOLAZI_RUNTIME")"
else
	RUNTIME="$BUILDDIR/src/isolazi/isolazi"
fi
RUNTIME_NAME="${RUNTIME##*/}"
case "$RUNTIME_NAME" in
isolazi*) RUNTIME_NAME=isolazi ;;
runc*) RUNTIME_NAME=runc ;;
esac
export RUNTIME RUNTIME_NAME

CGROUP_PARENT=isolazi-test

# Every runtime call is bounded so a hanging runtime fails one test instead of the whole run.
# After 10 timeouts in one run the bound drops to 3 s, to keep a badly broken runtime's run short.
RUNTIME_TIMEOUT="${ISOLAZI_TEST_TIMEOUT:-10}"

# bounded CMD...: run CMD under the timeout; count the timeouts of this bats run.
bounded() {
	local t="$RUNTIME_TIMEOUT" rc=0 n=0
	[ -f "$BATS_RUN_TMPDIR/timeouts" ] && n="$(wc -l <"$BATS_RUN_TMPDIR/timeouts")"
	[ "$n" -lt 10 ] || t=3
	timeout --kill-after=2 "$t" "$@" || rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "timed out after ${t}s: $*" | tee -a "$BATS_RUN_TMPDIR/timeouts" >&2
	fi
	return $rc
}

# A template bundle (busybox rootfs + payload), made once per bats run and copied per test.
template_dir() {
	echo "$BATS_RUN_TMPDIR/template"
}

build_payload() {
	local out="$1" built="$BUILDDIR/tests/payload/payload"
	if [ -x "$built" ]; then
		cp "$built" "$out"
	else
		# Running without a build (e.g. against runc): compile it the same way the build does.
		cc -static -O1 -Wall -Wextra -Werror -o "$out" "$SRCDIR/tests/payload/payload.c"
	fi
}

make_template() {
	local t
	t="$(template_dir)"
	# Made already (.done comes last): no lock needed, and no flock process per test.
	[ -e "$t/.done" ] && return 0
	exec 9>"$BATS_RUN_TMPDIR/template.lock"
	flock 9
	if [ ! -e "$t/.done" ]; then
		rm -rf "$t"
		build_payload "$BATS_RUN_TMPDIR/payload"
		bash "$SRCDIR/contrib/mkbundle.sh" "$t" --payload "$BATS_RUN_TMPDIR/payload" >&2
		touch "$t/.done"
	fi
	exec 9>&-
}

# ---- guards ------------------------------------------------------------------------------
# cgroup_v2: true on a pure v2 host, where /sys/fs/cgroup is the cgroup2 mount itself.
cgroup_v2() {
	[ -f /sys/fs/cgroup/cgroup.controllers ]
}

# requires root|runc|isolazi|cgroup_v1|cgroup_v2|hybrid|systemd|...: skip the test with a reason.
requires() {
	local req
	for req in "$@"; do
		case "$req" in
		root) [ "$EUID" -eq 0 ] || skip "requires root" ;;
		runc) [ "$RUNTIME_NAME" = runc ] || skip "requires runc (runtime is $RUNTIME_NAME)" ;;
		isolazi) [ "$RUNTIME_NAME" = isolazi ] || skip "requires isolazi (runtime is $RUNTIME_NAME)" ;;
		cgroup_v1) [ -d /sys/fs/cgroup/pids ] || skip "requires cgroup v1 controllers" ;;
		hybrid) [ -d /sys/fs/cgroup/unified ] || skip "requires hybrid cgroups" ;;
		cgroup_v2) cgroup_v2 || skip "requires pure cgroup v2 (cgroup2 at /sys/fs/cgroup)" ;;
		cgroupns) [ -e /proc/self/ns/cgroup ] || skip "requires cgroup namespaces" ;;
		systemd) [ -d /run/systemd/system ] || skip "requires systemd running as init (no /run/systemd/system)" ;;
		*) skip "unknown requirement: $req" ;;
		esac
	done
}

# Behaviour isolazi defines on purpose where runc differs (or has a known bug): skip under
# other runtimes and say why.
isolazi_only() {
	[ "$RUNTIME_NAME" = isolazi ] || skip "isolazi only: $*"
}

# ---- per-test setup ----------------------------------------------------------------------
setup_bundle() {
	requires root
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	make_template
	CID="t${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}-$$"
	CID2="$CID-b"
	ROOT="$BATS_TEST_TMPDIR/root"
	BUNDLE="$BATS_TEST_TMPDIR/bundle"
	PIDS_FILE="$BATS_TEST_TMPDIR/pids"
	LOGN=0
	mkdir -p "$ROOT"
	cp -a "$(template_dir)" "$BUNDLE"
	rm -f "$BUNDLE/.done"
	: >"$PIDS_FILE"
	update_config ".linux.cgroupsPath = \"/$CGROUP_PARENT/$CID\""
	export CID CID2 ROOT BUNDLE
}

# update_config JQ_EXPR [BUNDLE]: edit config.json in place.
update_config() {
	local cfg="${2:-$BUNDLE}/config.json"
	jq "$1" "$cfg" >"$cfg.new"
	mv "$cfg.new" "$cfg"
}

# set_args ARG...: process.args as given.
set_args() {
	local cfg="$BUNDLE/config.json"
	# Positional arguments after `--`: they may hold newlines or look like jq options.  One jq
	# for all of them (a jq per argument costs seconds per test in an emulated guest).
	jq '.process.args = $ARGS.positional' "$cfg" --args -- "$@" >"$cfg.new"
	mv "$cfg.new" "$cfg"
}

# A second bundle sharing the template, with its own cgroup; echoes nothing, sets BUNDLE2.
setup_bundle2() {
	BUNDLE2="$BATS_TEST_TMPDIR/bundle2"
	cp -a "$(template_dir)" "$BUNDLE2"
	rm -f "$BUNDLE2/.done"
	update_config ".linux.cgroupsPath = \"/$CGROUP_PARENT/$CID2\"" "$BUNDLE2"
	export BUNDLE2
}

# ---- running the runtime -----------------------------------------------------------------
# runtime ARGS...: the runtime with this test's --root.
runtime() {
	bounded "$RUNTIME" --root "$ROOT" "$@"
}

# runtime_bare ARGS...: the runtime without --root, bounded like `runtime`.
runtime_bare() {
	bounded "$RUNTIME" "$@"
}

# rt ARGS...: like bats `run runtime ARGS` but with stdio on a file, for verbs that leave a
# container process holding the caller's stdout (create, run -d): a pipe would never close.
# Sets $status, $output (what was written until the runtime exited) and $LOG (the file, to
# which the container keeps writing).
rt() {
	LOGN=$((LOGN + 1))
	LOG="$BATS_TEST_TMPDIR/rt.$LOGN.log"
	status=0
	bounded "$RUNTIME" --root "$ROOT" "$@" </dev/null >"$LOG" 2>&1 || status=$?
	output="$(cat "$LOG")"
	# Shown by bats only when the test fails.
	echo "# $RUNTIME_NAME $* -> $status: $output" >&2
}

# create_container [ID [BUNDLE]]: create and assert success; records the pid.
create_container() {
	local id="${1:-$CID}" bundle="${2:-$BUNDLE}"
	rt create --bundle "$bundle" "$id"
	if [ "$status" -ne 0 ]; then
		echo "create $id failed ($status): $output" >&2
		return 1
	fi
	record_pid "$id"
}

# run_detached [ID [BUNDLE]]: create + start (a running container) and assert success.
start_container() {
	local id="${1:-$CID}" bundle="${2:-$BUNDLE}"
	create_container "$id" "$bundle"
	run runtime start "$id"
	if [ "$status" -ne 0 ]; then
		echo "start $id failed ($status): $output" >&2
		return 1
	fi
}

state_field() {
	runtime state "$1" | jq -r ".$2"
}

container_pid() {
	state_field "${1:-$CID}" pid
}

record_pid() {
	local pid
	pid="$(container_pid "$1" 2>/dev/null || true)"
	if [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != null ]; then
		echo "$pid" >>"$PIDS_FILE"
	fi
}

# wait_status ID STATUS [TRIES]: poll `state` until it reports STATUS (0.1 s steps).
wait_status() {
	local id="$1" want="$2" tries="${3:-50}" got=""
	while [ "$tries" -gt 0 ]; do
		got="$(state_field "$id" status 2>/dev/null || true)"
		[ "$got" = "$want" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "container $id: status \"$got\", wanted \"$want\"" >&2
	return 1
}

# wait_file PATH [TRIES]: poll until PATH exists.
wait_file() {
	local tries="${2:-50}"
	while [ "$tries" -gt 0 ]; do
		[ -e "$1" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# ns_inode PID TYPE: the namespace inode of a process (e.g. `net:[4026531840]`).
ns_inode() {
	readlink "/proc/$1/ns/$2"
}

# Assert $output contains every argument.
assert_contains() {
	local s
	for s in "$@"; do
		if [[ "$output" != *"$s"* ]]; then
			echo "expected output to contain: $s" >&2
			echo "output was: $output" >&2
			return 1
		fi
	done
}

# Assert an error message: the isolazi text under isolazi, the shared part otherwise.
assert_error() {
	local isolazi_text="$1" shared="$2"
	if [ "$RUNTIME_NAME" = isolazi ]; then
		assert_contains "$isolazi_text"
	else
		assert_contains "$shared"
	fi
}

# ---- leak checks -------------------------------------------------------------------------
cgroup_dirs() {
	local id="$1"
	compgen -G "/sys/fs/cgroup/*/$CGROUP_PARENT/$id" || true
	# pure v2: the only hierarchy is /sys/fs/cgroup itself
	if cgroup_v2 && [ -d "/sys/fs/cgroup/$CGROUP_PARENT/$id" ]; then
		echo "/sys/fs/cgroup/$CGROUP_PARENT/$id"
	fi
}

# Processes whose cgroup says they belong to this test.
# One grep for all of /proc: a grep per process costs seconds per test in an emulated guest.
test_processes() {
	local f
	for f in $(grep -lE ":/$CGROUP_PARENT/$CID(-b)?(/|$)" /proc/[0-9]*/cgroup 2>/dev/null); do
		f="${f#/proc/}"
		echo "${f%/cgroup}"
	done
}

alive() {
	local st=""
	# the state, the third field (read splits as awk would; no process per call)
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# leaks: print everything this test left behind, one line each.
leaks() {
	local id d pid
	if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
		echo "state left under --root $ROOT: $(ls -A "$ROOT" | tr '\n' ' ')"
	fi
	for d in "$BUNDLE" "${BUNDLE2:-}"; do
		[ -n "$d" ] || continue
		if awk -v b="$d" '$5 == b || index($5, b "/") == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
			echo "mount left under $d: $(awk -v b="$d" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | tr '\n' ' ')"
		fi
	done
	for id in "$CID" "$CID2"; do
		for d in $(cgroup_dirs "$id"); do
			echo "cgroup left: $d"
		done
	done
	for pid in $(test_processes) $(sort -u "$PIDS_FILE"); do
		if alive "$pid"; then
			echo "process left: $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
		fi
	done | sort -u
}

teardown_bundle() {
	# a failed test: show what the last `run` printed
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output:-}" ]; then
		echo "last output (status ${status:-?}):" >&2
		echo "$output" | head -n 30 >&2
	fi
	[ -n "${ROOT:-}" ] || return 0
	local id found tries=30 ret=0 d
	for id in $( (echo "$CID"; ls "$ROOT" 2>/dev/null) | sort -u); do
		timeout --kill-after=1 5 "$RUNTIME" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1 || true
	done
	# Give a SIGKILLed init a moment to be reaped before calling it a leak.
	while [ $tries -gt 0 ]; do
		found="$(leaks)"
		[ -z "$found" ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	if [ -n "$found" ]; then
		echo "LEAKED after the test:" >&2
		echo "$found" >&2
		ret=1
	fi
	# Clean up anyway so one leak does not cascade into the following tests.
	for pid in $(test_processes); do kill -9 "$pid" 2>/dev/null || true; done
	for id in "$CID" "$CID2"; do
		for d in $(cgroup_dirs "$id"); do rmdir "$d" 2>/dev/null || true; done
	done
	for d in "$BUNDLE" "${BUNDLE2:-}"; do
		[ -n "$d" ] || continue
		awk -v b="$d" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
	done
	return $ret
}

# Default hooks; a file that needs more defines its own and calls these.
setup() {
	setup_bundle
}

teardown() {
	teardown_bundle
}

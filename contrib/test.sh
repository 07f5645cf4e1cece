#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Everything CI checks, on a fresh clone, as root:
#   1. install the Debian packages        4. make distcheck
#   2. build in the repo, make check      5. the bats integration suite against the build
#   3. ASan+UBSan build, make check (unit)
# The last line of output is the summary `N passed, N failed, N skipped` (unit and
# integration TAP results); the exit status is non-zero if any test or step failed.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC="$(pwd)"
JOBS="$(nproc)"
LOGDIR="$SRC/.build/test-logs"
PASSED=0
FAILED=0
SKIPPED=0
STEP_FAILURES=()

step() {
	echo
	echo "=== $* ($(date -u +%H:%M:%S))"
}

fail_step() {
	echo "*** FAILED: $1" >&2
	STEP_FAILURES+=("$1")
}

# Count TAP results: `ok`, `ok ... # skip`, `not ok` (a `# TODO` failure is not a failure).
count_tap() {
	local file="$1" p f s
	[ -f "$file" ] || return 0
	p="$(grep -cE '^ok ' "$file" || true)"
	s="$(grep -ciE '^ok .*# skip' "$file" || true)"
	f="$(grep -E '^not ok ' "$file" | grep -civE '# todo' || true)"
	PASSED=$((PASSED + p - s))
	SKIPPED=$((SKIPPED + s))
	FAILED=$((FAILED + f))
}

# Count automake's per-test results (.trs) of one build's unit tests.
count_trs() {
	local dir="$1" p f s
	compgen -G "$dir/tests/unit/*.trs" >/dev/null || return 0
	p="$(cat "$dir"/tests/unit/*.trs | grep -cE '^:test-result: (PASS|XFAIL)' || true)"
	f="$(cat "$dir"/tests/unit/*.trs | grep -cE '^:test-result: (FAIL|XPASS|ERROR)' || true)"
	s="$(cat "$dir"/tests/unit/*.trs | grep -cE '^:test-result: SKIP' || true)"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
}

summary() {
	local rc=$?
	if [ ${#STEP_FAILURES[@]} -gt 0 ]; then
		echo
		echo "failed steps: ${STEP_FAILURES[*]}"
		rc=1
	fi
	[ "$FAILED" -eq 0 ] || rc=1
	# the very last line
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	exit "$rc"
}
trap summary EXIT

mkdir -p "$LOGDIR"

step "install dependencies"
bash contrib/install-deps.sh

step "build in the repo"
[ -x configure ] || ./autogen.sh
./configure -q
make -j"$JOBS"

step "make check-format (clang-format, the repo's .clang-format)"
make check-format || fail_step "check-format"

step "make check (unit tests)"
make -j"$JOBS" check || fail_step "make check"
count_trs "$SRC"

step "ASan+UBSan build, make check (unit tests)"
# configure refuses a second build of an already configured source tree, so build the
# sanitized one from an exported copy of the sources (the dist tree).
rm -rf "$SRC/.build/asan" "$SRC/.build/asan-src"
mkdir -p "$SRC/.build"
make distdir distdir="$SRC/.build/asan-src" >/dev/null
mkdir -p "$SRC/.build/asan"
(
	cd "$SRC/.build/asan"
	../asan-src/configure -q --enable-asan --enable-ubsan
	make -j"$JOBS"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make -j"$JOBS" check
) || fail_step "sanitized make check"
count_trs "$SRC/.build/asan"

step "make distcheck"
make -j"$JOBS" distcheck >"$LOGDIR/distcheck.log" 2>&1 || {
	tail -n 40 "$LOGDIR/distcheck.log"
	fail_step "make distcheck"
}
grep -E '^=+$|archives ready|isolazi-.*\.tar' "$LOGDIR/distcheck.log" | tail -n 3 || true

step "integration tests (bats, against $SRC/src/isolazi/isolazi)"
if [ "$(id -u)" -ne 0 ]; then
	fail_step "integration tests need root"
else
	make -j"$JOBS" tests/payload/payload
	# --tap for counting; a hanging runtime call is bounded by the suite's own timeouts.
	make -s check-integration BATS_FLAGS=--tap </dev/null 2>&1 | tee "$LOGDIR/integration.tap" ||
		fail_step "integration tests"
	count_tap "$LOGDIR/integration.tap"
fi

step "cgroup v2 lane (cgroup-relevant integration tests in a QEMU guest, tests/vm/v2-lane.sh)"
if [ "$(id -u)" -ne 0 ]; then
	fail_step "cgroup v2 lane needs root"
else
	# The host is hybrid: the guest boots with cgroup2 alone at /sys/fs/cgroup.
	bash tests/vm/v2-lane.sh -b "$SRC" </dev/null | tee "$LOGDIR/v2-lane.tap" ||
		fail_step "cgroup v2 lane"
	count_tap "$LOGDIR/v2-lane.tap"
fi

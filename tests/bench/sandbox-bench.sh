#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm sandboxes: what an agent waits for.
#
#   tests/bench/sandbox-bench.sh [-b BUILDDIR] [-n RUNS]
#
# Prints the median (and min/max) of RUNS measurements of:
#   - create from the warm pool (the command, end to end);
#   - exec in a sandbox taken from the warm pool (`true`, end to end: connect, EXEC, fork and
#     exec in the guest, EXIT), first exec and the following ones;
#   - cold create (boot, agent, disk setup) for comparison;
#   - snapshot of a running sandbox (freeze, QMP blockdev-snapshot-sync, thaw) and fork's and
#     restore's layer operations (qemu-img over a snapshot), as the CLI reports them (--time).
# Targets: warm-pool exec < 50 ms, snapshot and fork < 100 ms.  Not a test: it prints a table.
# Needs root, QEMU, qemu-utils and the python preset (contrib/sandbox-preset.sh python).
set -euo pipefail

SRCDIR="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=tests/bench/vm-bench-common.bash
source "$SRCDIR/tests/bench/vm-bench-common.bash" "$@"
bash "$SRCDIR/contrib/sandbox-preset.sh" python >/dev/null

WORK="$(mktemp -d /tmp/sandbox-bench.XXXXXX)"
export ISOLAZI_VM_SANDBOX_ROOT="$WORK/root"
cleanup() {
	"$VM" sandbox pool drain >/dev/null 2>&1 || true
	for n in $("$VM" sandbox list -q 2>/dev/null); do "$VM" sandbox destroy "$n" >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
sb() { "$VM" sandbox "$@"; }
ms() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000000 }'; }

# stats NAME VALUES...: median, min, max
stats() {
	local name="$1"
	shift
	printf '%s\n' "$@" | sort -n | awk -v name="$name" '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "| %-52s | %9.1f | %9.1f | %9.1f |\n", name, m, v[1], v[NR] }'
}

sb pool config --preset python --target 1 --max 1 >/dev/null
accel="?" create_pool=() first_exec=() exec_ms=() cold=() snap=() fork=() restore=()
for i in $(seq "$RUNS"); do
	sb pool fill >/dev/null
	# let a refill from the previous round settle
	while [ "$(sb pool status | jq -r .booting)" != 0 ]; do sleep 0.2; done
	t0=$(ms); sb create --preset python "w$i" >/dev/null; t1=$(ms)
	create_pool+=("$(elapsed "$t0" "$t1")")
	t0=$(ms); sb exec "w$i" true; t1=$(ms)
	first_exec+=("$(elapsed "$t0" "$t1")")
	accel="$(sb info "w$i" | jq -r .accel)"
	for _ in 1 2 3; do
		t0=$(ms); sb exec "w$i" true; t1=$(ms)
		exec_ms+=("$(elapsed "$t0" "$t1")")
	done
	echo "data $i" | sb write "w$i" /root/data
	snap+=("$(sb snapshot --time "w$i" s 2>&1 >/dev/null | awk '{print $2}')")
	restore+=("$(sb restore --time "w$i" s 2>&1 >/dev/null | awk '{print $2}')")
	# fork's layer operation over an existing snapshot (the fork then boots)
	fork+=("$(sb fork --time --snapshot s "w$i" "f$i" 2>&1 >/dev/null | awk '{print $2}')")
	sb destroy "f$i"
	sb destroy "w$i"
done
sb pool drain >/dev/null
for i in $(seq "$RUNS"); do
	t0=$(ms); sb create --no-pool --preset python "c$i" >/dev/null; t1=$(ms)
	cold+=("$(elapsed "$t0" "$t1")")
	sb destroy "c$i"
done

echo "isolazi-vm sandboxes: python preset, $RUNS runs, accelerator $accel, $(nproc) CPUs"
printf '| %-52s | %9s | %9s | %9s |\n' "ms" median min max
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------" "-----------" "-----------" "-----------"
stats "create from the warm pool" "${create_pool[@]}"
stats "first exec in a warm-pool sandbox (target < 50)" "${first_exec[@]}"
stats "exec in a warm-pool sandbox (target < 50)" "${exec_ms[@]}"
stats "snapshot of a running sandbox (target < 100)" "${snap[@]}"
stats "fork: new layer over a snapshot (target < 100)" "${fork[@]}"
stats "restore: new layer over a snapshot (then a reboot)" "${restore[@]}"
stats "cold create (boot to ready, no pool)" "${cold[@]}"

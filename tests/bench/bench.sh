#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Compare isolazi, runc and crun on one busybox bundle running /bin/true.
#
#   tests/bench/bench.sh [-n ITERATIONS]        (default 50; or BENCH_ITERATIONS)
#
# Runtimes are run round-robin within each iteration (interleaved), so drift in the machine's
# load hits them all alike.  Printed per runtime: `run` median in ms and its ratio to each other
# runtime; create, start and delete medians; the peak RSS of the runtime process during `run`
# (GNU time %M); instructions retired during `run` (perf stat, when the kernel allows it).
#
# Two views of the cgroups:
#   hybrid  the host as it is (v1 controllers + cgroup2 at /sys/fs/cgroup/unified): isolazi, runc
#   v1      in a private mount namespace with the unified mount removed, a pure v1 view, which
#           crun 1.8.1 also accepts ("cgroups in hybrid mode not supported" otherwise): all three
#
# A benchmark, not a test: it never fails on timing.  Needs root.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SRCDIR="$(cd "$HERE/../.." && pwd)"
BUILDDIR="${ISOLAZI_BUILDDIR:-$SRCDIR}"
ITERATIONS="${BENCH_ITERATIONS:-50}"
VIEW=""

while [ $# -gt 0 ]; do
	case "$1" in
	-n)
		ITERATIONS="$2"
		shift 2
		;;
	--view) # internal: run one view and print its table
		VIEW="$2"
		shift 2
		;;
	-h | --help)
		sed -n '3,16p' "$0"
		exit 0
		;;
	*)
		echo "usage: $0 [-n ITERATIONS]" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root" >&2
	exit 1
fi

ISOLAZI="${ISOLAZI_RUNTIME:-$BUILDDIR/src/isolazi/isolazi}"

now_ns() {
	date +%s%N
}

median() {
	sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ms with two decimals from a ns difference
ms() {
	awk -v d="$1" 'BEGIN {printf "%.2f\n", d / 1e6}'
}

# ---- one view: measure and print ----------------------------------------------------------
run_view() {
	local view="$1"
	shift
	local runtimes=("$@")
	local work bundle r i id t0 t1 perf_ok=0
	work="$(mktemp -d /tmp/isolazi-bench.XXXXXX)"
	bundle="$work/bundle"
	bash "$SRCDIR/contrib/mkbundle.sh" "$bundle" >/dev/null
	jq '.process.args = ["/bin/true"]' "$bundle/config.json" >"$bundle/config.json.new"
	mv "$bundle/config.json.new" "$bundle/config.json"

	if perf stat -e instructions -x, -o /dev/null true >/dev/null 2>&1 &&
		perf stat -e instructions -x, true 2>&1 | grep -q '^[0-9]'; then
		perf_ok=1
	fi

	local -A bin
	for r in "${runtimes[@]}"; do
		case "$r" in
		isolazi) bin[$r]="$ISOLAZI" ;;
		*) bin[$r]="$(command -v "$r")" ;;
		esac
		mkdir -p "$work/root-$r" "$work/res-$r"
	done

	rt() { # NAME ARGS...
		local n="$1"
		shift
		"${bin[$n]}" --root "$work/root-$n" "$@" </dev/null >/dev/null 2>"$work/err"
	}

	# warm up caches once per runtime, and drop a runtime that cannot run the bundle here
	local ok=()
	for r in "${runtimes[@]}"; do
		if rt "$r" run -b "$bundle" "warm-$r"; then
			ok+=("$r")
		else
			echo "bench ($view): $r cannot run here, left out: $(head -c 300 "$work/err")" >&2
			rt "$r" delete --force "warm-$r" || true
		fi
	done
	runtimes=("${ok[@]}")

	for ((i = 0; i < ITERATIONS; i++)); do
		for r in "${runtimes[@]}"; do
			id="b$i-$r-$$"
			t0="$(now_ns)"
			rt "$r" run -b "$bundle" "$id" || echo "run $id" >>"$work/res-$r/failed"
			t1="$(now_ns)"
			echo $((t1 - t0)) >>"$work/res-$r/run"
			rt "$r" delete --force "$id" 2>/dev/null || true

			id="c$i-$r-$$"
			t0="$(now_ns)"
			rt "$r" create -b "$bundle" "$id" || echo "create $id" >>"$work/res-$r/failed"
			t1="$(now_ns)"
			echo $((t1 - t0)) >>"$work/res-$r/create"
			t0="$(now_ns)"
			rt "$r" start "$id" || echo "start $id" >>"$work/res-$r/failed"
			t1="$(now_ns)"
			echo $((t1 - t0)) >>"$work/res-$r/start"
			for _ in $(seq 100); do
				"${bin[$r]}" --root "$work/root-$r" state "$id" 2>/dev/null | grep -q '"stopped"' && break
				sleep 0.01
			done
			t0="$(now_ns)"
			rt "$r" delete "$id" || rt "$r" delete --force "$id" || true
			t1="$(now_ns)"
			echo $((t1 - t0)) >>"$work/res-$r/delete"
		done
	done

	# peak RSS and instructions: a few separate runs, so the wrappers do not touch the timings
	local extra=$((ITERATIONS < 5 ? ITERATIONS : 5))
	for ((i = 0; i < extra; i++)); do
		for r in "${runtimes[@]}"; do
			id="m$i-$r-$$"
			/usr/bin/time -f %M -o "$work/rss" "${bin[$r]}" --root "$work/root-$r" run -b "$bundle" "$id" \
				</dev/null >/dev/null 2>&1 || true
			tail -n1 "$work/rss" >>"$work/res-$r/rss"
			rt "$r" delete --force "$id" || true
			if [ $perf_ok = 1 ]; then
				id="p$i-$r-$$"
				perf stat -e instructions -x, -o "$work/perf" -- "${bin[$r]}" --root "$work/root-$r" \
					run -b "$bundle" "$id" </dev/null >/dev/null 2>&1 || true
				awk -F, '$3 ~ /instructions/ && $1 ~ /^[0-9]+$/ {print $1}' "$work/perf" >>"$work/res-$r/instr"
				rt "$r" delete --force "$id" || true
			fi
		done
	done

	local -A med
	for r in "${runtimes[@]}"; do
		med[$r]="$(median <"$work/res-$r/run")"
	done

	echo
	echo "view: $view   iterations: $ITERATIONS   bundle: busybox, args [\"/bin/true\"]"
	local header
	header="$(printf '%-8s %9s' runtime "run ms")"
	for r in "${runtimes[@]}"; do header+="$(printf ' %10s' "/$r")"; done
	header+="$(printf ' %9s %9s %9s %9s %14s' "create ms" "start ms" "delete ms" "RSS KiB" instructions)"
	echo "$header"
	for r in "${runtimes[@]}"; do
		local line other instr
		line="$(printf '%-8s %9s' "$r" "$(ms "${med[$r]}")")"
		for other in "${runtimes[@]}"; do
			line+="$(awk -v a="${med[$r]}" -v b="${med[$other]}" 'BEGIN {printf " %9.2fx", (b > 0 ? a / b : 0)}')"
		done
		instr="n/a"
		if [ -s "$work/res-$r/instr" ]; then
			instr="$(median <"$work/res-$r/instr" | awk '{printf "%d", $1}')"
		fi
		line+="$(printf ' %9s %9s %9s %9s %14s' \
			"$(ms "$(median <"$work/res-$r/create")")" \
			"$(ms "$(median <"$work/res-$r/start")")" \
			"$(ms "$(median <"$work/res-$r/delete")")" \
			"$(median <"$work/res-$r/rss")" "$instr")"
		echo "$line"
	done

	# a failed call is timed too; say so, so that a fast failure is not read as speed
	for r in "${runtimes[@]}"; do
		if [ -s "$work/res-$r/failed" ]; then
			echo "warning: $r: $(wc -l <"$work/res-$r/failed") failed calls (first: $(head -n1 "$work/res-$r/failed"))"
		fi
	done

	for r in "${runtimes[@]}"; do
		for id in $("${bin[$r]}" --root "$work/root-$r" list -q 2>/dev/null); do
			rt "$r" delete --force "$id" || true
		done
	done
	rm -rf "$work"
}

if [ -n "$VIEW" ]; then
	case "$VIEW" in
	v1)
		# private mount namespace (unshare -m): drop the cgroup2 mount for a pure v1 view
		if mountpoint -q /sys/fs/cgroup/unified; then
			umount /sys/fs/cgroup/unified
		fi
		;;
	esac
	shift_runtimes=()
	for r in isolazi runc crun; do
		[ "$VIEW" = hybrid ] && [ "$r" = crun ] && continue
		if [ "$r" = isolazi ]; then
			[ -x "$ISOLAZI" ] || {
				echo "bench: $ISOLAZI not built, left out" >&2
				continue
			}
		else
			command -v "$r" >/dev/null || {
				echo "bench: $r not installed, left out" >&2
				continue
			}
		fi
		shift_runtimes+=("$r")
	done
	run_view "$VIEW" "${shift_runtimes[@]}"
	exit 0
fi

# A benchmark never fails CI on timing: report a broken view and carry on.
unshare -m --propagation private bash "$0" -n "$ITERATIONS" --view v1 || echo "bench: v1 view failed" >&2
bash "$0" -n "$ITERATIONS" --view hybrid || echo "bench: hybrid view failed" >&2
exit 0

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm's cold boot-to-first-exec against bare QEMU booting the same kernel to a marker.
#
#   tests/bench/vm-bench.sh [-b BUILDDIR] [-n RUNS]
#
# "isolazi-vm run": `isolazi-vm run` of a busybox bundle whose process prints a marker, from
# the command to its exit (rootfs image, boot, modules, agent, process, power-off): what a user
# waits for.  "bare QEMU": the same qemu-system-x86_64 -M microvm command line, kernel and
# accelerator with a busybox-only initramfs whose /init prints the marker and powers off.  Both
# to the exit of QEMU.  The target is a ratio of at most 1.2.  Not a test: it prints a table.
# Needs root, qemu-system-x86, erofs-utils, busybox-static and the kernel in the cache (the
# vm-*.bats files and tests/vm/v2-lane.sh put it there).
set -euo pipefail

SRCDIR="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=tests/bench/vm-bench-common.bash
source "$SRCDIR/tests/bench/vm-bench-common.bash" "$@"

WORK="$(mktemp -d /tmp/vm-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
bash "$SRCDIR/contrib/mkbundle.sh" "$WORK/bundle" >/dev/null 2>&1
jq '.process.args = ["echo", "BENCH-MARKER"]' "$WORK/bundle/config.json" >"$WORK/c" && mv "$WORK/c" "$WORK/bundle/config.json"

# The accelerator and the command line isolazi-vm uses, from its --debug output (one warm-up run,
# which also builds the cached initramfs).
"$VM" --root "$WORK/root" --debug run -b "$WORK/bundle" warmup >"$WORK/debug" 2>&1
ACCEL="$(sed -n 's/.*accelerator \([a-z]*\).*/\1/p' "$WORK/debug" | head -n 1)"
APPEND="$(sed -n 's/.* -append \(.*\) -drive .*/\1/p' "$WORK/debug" | head -n 1)"
MACHINE="$(sed -n 's/.*qemu-system-x86_64 -M \([^ ]*\) .*/\1/p' "$WORK/debug" | head -n 1)"

# The bare guest: static busybox as /init.
mkdir -p "$WORK/bare/bin" "$WORK/bare/proc"
cp /bin/busybox "$WORK/bare/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox echo BENCH-MARKER\n/bin/busybox poweroff -f\n' >"$WORK/bare/init"
chmod 0755 "$WORK/bare/init"
(cd "$WORK/bare" && find . | cpio -o -H newc -R 0:0 --quiet) >"$WORK/bare.cpio"

now() { date +%s.%N; }

bare_once() {
	local t0 t1
	t0="$(now)"
	qemu-system-x86_64 -M "$MACHINE" -accel "$ACCEL" -cpu max -m 256 -smp 1 -nodefaults -no-user-config \
		-nographic -no-reboot -monitor none -serial "file:$WORK/bare.log" \
		-kernel "$KERNEL" -initrd "$WORK/bare.cpio" -append "${APPEND/isolazi.transport=virtio-serial/}" \
		</dev/null >/dev/null 2>&1
	t1="$(now)"
	grep -q BENCH-MARKER "$WORK/bare.log" || { echo "the bare guest printed no marker" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}

vm_once() {
	local t0 t1 out
	t0="$(now)"
	out="$("$VM" --root "$WORK/root" run -b "$WORK/bundle" "b$1" </dev/null 2>&1)"
	t1="$(now)"
	[[ "$out" == *BENCH-MARKER* ]] || { echo "isolazi-vm printed no marker: $out" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}

# The same bundle through `isolazi` and its VM handler (the annotation run.oci.handler=vm).
isolazi_once() {
	local t0 t1 out
	t0="$(now)"
	out="$("$ISOLAZI" --root "$WORK/root" run -b "$WORK/hbundle" "h$1" </dev/null 2>&1)"
	t1="$(now)"
	[[ "$out" == *BENCH-MARKER* ]] || { echo "isolazi (vm handler) printed no marker: $out" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}

median() {
	sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

for i in $(seq "$RUNS"); do bare_once; done >"$WORK/bare.times"
for i in $(seq "$RUNS"); do vm_once "$i"; done >"$WORK/vm.times"
ISOLAZI="$BUILDDIR/src/isolazi/isolazi"
cp -a "$WORK/bundle" "$WORK/hbundle"
jq '.annotations["run.oci.handler"] = "vm"' "$WORK/hbundle/config.json" >"$WORK/c" && mv "$WORK/c" "$WORK/hbundle/config.json"
for i in $(seq "$RUNS"); do isolazi_once "$i"; done >"$WORK/isolazi.times"
BARE="$(median <"$WORK/bare.times")"
VMT="$(median <"$WORK/vm.times")"
HT="$(median <"$WORK/isolazi.times")"
printf '%-38s %10s\n' "cold boot to first exec ($ACCEL, $RUNS runs)" "median s"
printf '%-38s %10.2f\n' "bare QEMU, same kernel, to a marker" "$BARE"
printf '%-38s %10.2f\n' "isolazi-vm run" "$VMT"
printf '%-38s %10.2f\n' "isolazi run, run.oci.handler=vm" "$HT"
printf '%-38s %10.2f   (target <= 1.20)\n' "ratio" "$(awk -v a="$VMT" -v b="$BARE" 'BEGIN {print a / b}')"

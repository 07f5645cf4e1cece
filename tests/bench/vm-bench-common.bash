# SPDX-License-Identifier: Apache-2.0
# What the isolazi-vm benchmarks (vm-bench.sh, sandbox-bench.sh) share.  Sourced with the
# script's arguments after SRCDIR is set: takes -b BUILDDIR and -n RUNS, and sets BUILDDIR,
# RUNS, VM (the isolazi-vm binary) and ISOLAZI_VM_KERNEL (the guest kernel in the cache).
# shellcheck disable=SC2034 # RUNS and BUILDDIR are for the script that sources this

BUILDDIR="${ISOLAZI_BUILDDIR:-$SRCDIR}"
RUNS=5
while [ $# -gt 0 ]; do
	case "$1" in
	-b) BUILDDIR="$2"; shift 2 ;;
	-n) RUNS="$2"; shift 2 ;;
	*) echo "usage: $0 [-b BUILDDIR] [-n RUNS]" >&2; exit 2 ;;
	esac
done
VM="$BUILDDIR/src/isolazi-vm/isolazi-vm"
[ -x "$VM" ] || { echo "$VM not built" >&2; exit 1; }
KERNEL="${ISOLAZI_VM_KERNEL:-$(compgen -G "${ISOLAZI_VM_CACHE:-/var/cache/isolazi-vm}/linux-image-*-cloud-amd64/boot/vmlinuz-*" | tail -n 1 || true)}"
[ -n "$KERNEL" ] || { echo "no guest kernel in the cache (run tests/integration/vm-lifecycle.bats once)" >&2; exit 1; }
export ISOLAZI_VM_KERNEL="$KERNEL"

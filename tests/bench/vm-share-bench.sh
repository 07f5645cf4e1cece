#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a host directory shared with an isolazi-vm guest costs (src/vm/share.h): inside one
# guest, the same work on the share and on the guest's own tmpfs, median of RUNS, ms.
#
#   tests/bench/vm-share-bench.sh [-b BUILDDIR] [-n RUNS]
#
# write: 16 MiB with dd (64 KiB blocks); read: the same file through sha256sum (after dropping
# the guest's page cache, so the bytes cross the share); stat: `ls -l` of 500 files; create:
# 200 empty files.  Not a test: it prints a table.  Needs root, qemu-system-x86, erofs-utils,
# busybox-static and the kernel in the cache (the vm-*.bats files put it there).
set -euo pipefail

SRCDIR="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=tests/bench/vm-bench-common.bash
source "$SRCDIR/tests/bench/vm-bench-common.bash" "$@"

WORK="$(mktemp -d /tmp/vm-share-bench.XXXXXX)"
ID="share-bench-$$"
cleanup() {
	"$VM" --root "$WORK/root" delete --force "$ID" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
bash "$SRCDIR/contrib/mkbundle.sh" "$WORK/bundle" >/dev/null 2>&1
mkdir -p "$WORK/share/many"
for i in $(seq 1 500); do : >"$WORK/share/many/f$i"; done
jq --arg src "$WORK/share" '.process.args = ["sleep", "100000"]
	| .linux.resources.memory.limit = 536870912
	| .mounts += [{"destination": "/share", "type": "bind", "source": $src, "options": ["rbind"]},
		{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=64m"]}]' \
	"$WORK/bundle/config.json" >"$WORK/c" && mv "$WORK/c" "$WORK/bundle/config.json"
"$VM" --root "$WORK/root" create -b "$WORK/bundle" "$ID" >/dev/null
"$VM" --root "$WORK/root" start "$ID"

# guest_ms SCRIPT: the milliseconds SCRIPT takes inside the guest (timed there with the guest's
# /proc/uptime, 10 ms resolution: busybox's date has no %N), not counting the exec round trip.
guest_ms() {
	"$VM" --root "$WORK/root" exec "$ID" sh -c "read s _ </proc/uptime; { $1; } >/dev/null 2>&1; read e _ </proc/uptime; echo \"\$s \$e\" | awk '{ printf \"%d\\n\", (\$2 - \$1) * 1000 }'"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# row NAME DIR: the four measures in DIR (/share or /scratch).
row() {
	local dir="$1" w r s c i
	w="$(for i in $(seq "$RUNS"); do guest_ms "rm -f $dir/big; dd if=/dev/zero of=$dir/big bs=64k count=256 && sync"; done | median)"
	r="$(for i in $(seq "$RUNS"); do guest_ms "echo 3 >/proc/sys/vm/drop_caches; sha256sum $dir/big"; done | median)"
	if [ "$dir" = /share ]; then
		s="$(for i in $(seq "$RUNS"); do guest_ms "echo 3 >/proc/sys/vm/drop_caches; ls -l $dir/many"; done | median)"
	else
		"$VM" --root "$WORK/root" exec "$ID" sh -c "mkdir -p $dir/many; for i in \$(seq 1 500); do : >$dir/many/f\$i; done"
		s="$(for i in $(seq "$RUNS"); do guest_ms "echo 3 >/proc/sys/vm/drop_caches; ls -l $dir/many"; done | median)"
	fi
	c="$(for i in $(seq "$RUNS"); do guest_ms "rm -rf $dir/new; mkdir $dir/new; for i in \$(seq 1 200); do : >$dir/new/f\$i; done"; done | median)"
	printf '| %-20s | %9s | %8s | %13s | %16s |\n' "$2" "$w" "$r" "$s" "$c"
}

echo "isolazi-vm share vs the guest's tmpfs ($RUNS runs, median, ms; accelerator as --debug says)"
printf '| %-20s | %9s | %8s | %13s | %16s |\n' "where" "write 16M" "read 16M" "ls -l 500" "create 200 files"
printf '|%s|%s|%s|%s|%s|\n' "----------------------" "----------:" "---------:" "--------------:" "-----------------:"
row /share "share (FUSE, host)"
row /scratch "guest tmpfs"

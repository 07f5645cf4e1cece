# SPDX-License-Identifier: Apache-2.0
# Shared by the vm-*.bats files: the isolazi-vm runtime on top of helpers.bash, the guest kernel
# (Debian's cloud kernel, fetched once into the cache tests/vm/v2-lane.sh uses), and a leak
# check that also looks for QEMU processes.  Boots run under TCG on these hosts (a few seconds
# each); bats runs these files serially, so at most one or two VMs run at once.

load helpers

VM_RUNTIME="$BUILDDIR/src/isolazi-vm/isolazi-vm"
VM_CACHE="${ISOLAZI_VM_CACHE:-/var/cache/isolazi-vm}"
# Boots are slow under TCG and slower still on a loaded CI host (helpers.bash's bound).
# shellcheck disable=SC2034 # read by bounded() in helpers.bash
RUNTIME_TIMEOUT="${ISOLAZI_VM_TEST_TIMEOUT:-90}"

# vm_kernel: make sure the cloud kernel is extracted in the cache (as v2-lane.sh does: apt-get
# download, dpkg-deb -x, busybox depmod), then export ISOLAZI_VM_KERNEL.
vm_kernel() {
	local pkg kdir deb
	exec 8>"$VM_CACHE.lock"
	flock 8
	pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
	[ -n "$pkg" ] || {
		exec 8>&-
		skip "cannot resolve linux-image-cloud-amd64 (apt-get update?)"
	}
	kdir="$VM_CACHE/$pkg"
	if [ ! -e "$kdir/.done" ]; then
		mkdir -p "$VM_CACHE"
		deb="$(compgen -G "$VM_CACHE/${pkg}_*.deb" | head -n 1 || true)"
		if [ -z "$deb" ]; then
			(cd "$VM_CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
				exec 8>&-
				skip "cannot download $pkg (no apt mirror?)"
			}
			deb="$(compgen -G "$VM_CACHE/${pkg}_*.deb" | head -n 1)"
		fi
		rm -rf "$kdir"
		mkdir -p "$kdir"
		dpkg-deb -x "$deb" "$kdir"
		/bin/busybox depmod -b "$kdir" "$(ls "$kdir/lib/modules")"
		touch "$kdir/.done"
	fi
	exec 8>&-
	ISOLAZI_VM_KERNEL="$(compgen -G "$kdir/boot/vmlinuz-*" | head -n 1)"
	export ISOLAZI_VM_KERNEL
}

vm_setup() {
	requires root
	[ -x "$VM_RUNTIME" ] || skip "isolazi-vm not built: $VM_RUNTIME"
	[ -x "$BUILDDIR/src/vm-agent/isolazi-vm-agent" ] || skip "the guest agent is not built"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	command -v mkfs.erofs >/dev/null || skip "mkfs.erofs not installed (erofs-utils)"
	vm_kernel
	setup_bundle
	RUNTIME="$VM_RUNTIME"
	RUNTIME_NAME=isolazi-vm
	export RUNTIME RUNTIME_NAME
	# The runc default spec's cgroup and namespaces mean nothing in a VM; keep it small.
	update_config 'del(.linux.cgroupsPath)'
}

# QEMU processes of this test (their command line names this test's --root).  Nothing when
# the test skipped before it had a --root: an empty pattern would match every QEMU on the host.
vm_qemus() {
	[ -n "${ROOT:-}" ] || return 0
	pgrep -f "qemu-system-x86_64 .*$ROOT/" || true
}

# vm_no_leaked_qemu DIR: fail, and kill them, when QEMU processes whose command line names DIR/
# (a state root) are still there.
vm_no_leaked_qemu() {
	local q
	q="$(pgrep -f "qemu-system-x86_64 .*$1/" || true)"
	[ -n "$q" ] || return 0
	echo "LEAKED QEMU: $q" >&2
	# shellcheck disable=SC2086 # pids
	kill -9 $q 2>/dev/null || true
	return 1
}

vm_teardown() {
	local ret=0
	teardown_bundle || ret=$?
	vm_no_leaked_qemu "$ROOT" || ret=1
	return $ret
}

setup() {
	vm_setup
}

teardown() {
	vm_teardown
}

# vm_contains HAYSTACK NEEDLE: like assert_contains, for text other than $output.
vm_contains() {
	if [[ "$1" != *"$2"* ]]; then
		echo "expected to contain: $2" >&2
		echo "was: $1" >&2
		return 1
	fi
}

requires_recvtty() {
	[ -x "$BUILDDIR/tests/payload/recvtty" ] || skip "tests/payload/recvtty not built (make check)"
}

# reaping PIDFILE CMD...: run CMD as a child subreaper would (conmon, containerd's shim): wait
# for CMD, then for the process PIDFILE names, which is reparented to us, and print how each
# ended ("runtime exited N", "pid-file process exited N" or "... killed by signal N"), and
# what the runtime wrote.
reaping() {
	python3 - "$@" <<'PY'
import ctypes, os, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pidfile, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
print("runtime exited %d" % p.returncode)
sys.stdout.write(p.stdout.decode(errors="replace"))
target = int(open(pidfile).read())
while True:
    try:
        pid, st = os.waitpid(-1, 0)
    except ChildProcessError:
        print("pid-file process was not reparented to us")
        break
    if pid == target:
        if os.WIFSIGNALED(st):
            print("pid-file process killed by signal %d" % os.WTERMSIG(st))
        else:
            print("pid-file process exited %d" % os.WEXITSTATUS(st))
        break
PY
}

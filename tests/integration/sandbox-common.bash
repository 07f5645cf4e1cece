# SPDX-License-Identifier: Apache-2.0
# Shared by the sandbox*.bats files: `isolazi-vm sandbox` on a root of the test file's own, the
# python preset (built once into the cache by contrib/sandbox-preset.sh from the apt mirror),
# the guest kernel (vm-helpers.bash), and a teardown that destroys every sandbox and warm VM and
# fails the test when a QEMU or a sandbox daemon is left.  Boots run under TCG here (about 2.5 s
# each); a test runs at most two VMs at once.

load vm-helpers

sb_setup_file() {
	requires root
	[ -x "$VM_RUNTIME" ] || skip "isolazi-vm not built: $VM_RUNTIME"
	[ -x "$BUILDDIR/src/vm-agent/isolazi-vm-agent" ] || skip "the guest agent is not built"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	command -v qemu-img >/dev/null || skip "qemu-img not installed (qemu-utils)"
	command -v mke2fs >/dev/null || skip "mke2fs not installed (e2fsprogs)"
	vm_kernel
	bash "$SRCDIR/contrib/sandbox-preset.sh" python >/dev/null 2>"$BATS_FILE_TMPDIR/preset.err" ||
		skip "cannot build the python preset (apt mirror?): $(tail -n 1 "$BATS_FILE_TMPDIR/preset.err")"
}

sb_setup() {
	requires root
	vm_kernel
	SBROOT="$BATS_FILE_TMPDIR/sandboxes"
	FILES="$BATS_TEST_TMPDIR/files"
	mkdir -p "$SBROOT" "$FILES"
	ISOLAZI_VM_SANDBOX_ROOT="$SBROOT"
	export SBROOT FILES ISOLAZI_VM_SANDBOX_ROOT
}

# sb ARGS...: isolazi-vm sandbox, bounded (a boot takes seconds under TCG).
sb() {
	timeout --kill-after=5 "${RUNTIME_TIMEOUT:-90}" "$VM_RUNTIME" sandbox "$@"
}

sb_qemus() {
	[ -n "${SBROOT:-}" ] || return 0
	pgrep -f "qemu-system-x86_64 .*$SBROOT/" || true
}

# The daemons of this file's sandboxes (their runtime files name them).
sb_daemons() {
	local f pid
	for f in "$SBROOT"/sandboxes/*/daemon.json "$SBROOT"/pool/*/daemon.json; do
		[ -e "$f" ] || continue
		pid="$(jq -r .pid "$f" 2>/dev/null)"
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
	done
	true
}

sb_teardown() {
	local ret=0 q name tries=50 left
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output:-}" ]; then
		echo "last output (status ${status:-?}):" >&2
		echo "$output" | head -n 30 >&2
	fi
	[ -n "${SBROOT:-}" ] || return 0
	"$VM_RUNTIME" sandbox pool drain >/dev/null 2>&1 || true
	rm -f "$SBROOT/pool.json"
	for name in $("$VM_RUNTIME" sandbox list -q 2>/dev/null); do
		timeout 30 "$VM_RUNTIME" sandbox destroy "$name" >/dev/null 2>&1 || true
	done
	while [ $tries -gt 0 ] && [ -n "$(sb_qemus)" ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	q="$(sb_qemus)"
	if [ -n "$q" ]; then
		echo "LEAKED QEMU: $q" >&2
		# shellcheck disable=SC2086 # pids
		kill -9 $q 2>/dev/null || true
		ret=1
	fi
	left="$(find "$SBROOT/sandboxes" "$SBROOT/pool" "$SBROOT/layers" -mindepth 1 -maxdepth 1 2>/dev/null)"
	if [ -n "$left" ]; then
		echo "LEFT BEHIND: $left" >&2
		rm -rf "$SBROOT/sandboxes"/* "$SBROOT/pool"/* "$SBROOT/layers"/*
		ret=1
	fi
	return $ret
}

setup_file() {
	sb_setup_file
}

setup() {
	sb_setup
}

teardown() {
	sb_teardown
}

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

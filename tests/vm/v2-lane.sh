#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The cgroup v2 lane (issue 4): run the integration suite's cgroup-relevant files inside a
# QEMU guest whose only cgroup hierarchy is cgroup2 at /sys/fs/cgroup, because CI hosts are
# hybrid and pure v2 would otherwise only be unit-tested.
#
#   tests/vm/v2-lane.sh [-b BUILDDIR] [FILE.bats...]
#
# BUILDDIR (default $ISOLAZI_BUILDDIR, else the source tree) holds the built
# src/isolazi/isolazi and tests/payload/payload.  FILEs are paths under tests/integration
# (default: the cgroup-relevant files that exist).  systemd.bats runs after the others, with
# Debian's systemd booted as pid 1 of the guest (the systemd cgroup driver needs a real
# systemd).  The TAP output (one stream) goes to stdout; progress and diagnostics to stderr.
# The exit status is non-zero when a test fails or the guest does not finish.  Needs root
# (apt-get download, nothing else) and, from Debian: qemu-system-x86 bash-static
# busybox-static bats jq cpio systemd.
#
# The guest: Debian's cloud kernel (downloaded once into $V2LANE_CACHE, never installed),
# an initramfs holding busybox, bash-static, bats, jq, GNU tools and their libraries, the
# build and the tests, with tests/vm/init as /init.  No disk, no network: the serial console
# (ttyS0, built into the kernel) carries the results.
#
# Environment:
#   V2LANE_CACHE         kernel cache (default /var/cache/isolazi-vm)
#   V2LANE_TIMEOUT       bound of the whole lane in seconds (default 1200)
#   V2LANE_ACCEL         auto (probe kvm, fall back to tcg), kvm or tcg (default auto)
#   V2LANE_MODULES       kernel modules to load in the guest (default overlay)
#   V2LANE_KEEP=1        keep the work directory (initramfs, console log)
#   ISOLAZI_TEST_TIMEOUT the suite's per-call bound, raised for TCG (default 30)
set -euo pipefail

SRCDIR="$(cd "$(dirname "$0")/../.." && pwd)"
BUILDDIR="${ISOLAZI_BUILDDIR:-$SRCDIR}"
CACHE="${V2LANE_CACHE:-/var/cache/isolazi-vm}"
TOTAL_TIMEOUT="${V2LANE_TIMEOUT:-1200}"
ACCEL="${V2LANE_ACCEL:-auto}"
MODULES="${V2LANE_MODULES:-overlay}"
PROBE_TIMEOUT=15
START=$SECONDS

log() {
	echo "v2-lane: $*" >&2
}

die() {
	log "$*"
	exit 1
}

usage() {
	echo "usage: $0 [-b BUILDDIR] [FILE.bats...]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	-b | --builddir)
		[ $# -ge 2 ] || usage
		BUILDDIR="$2"
		shift 2
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
BUILDDIR="$(cd "$BUILDDIR" && pwd)"

TESTS=()
SYSTEMD_TESTS=()
if [ $# -gt 0 ]; then
	for f in "$@"; do
		f="tests/integration/${f##*/}"
		[ -f "$SRCDIR/$f" ] || die "no such test file: $SRCDIR/$f"
		case "$f" in
		*/systemd.bats) SYSTEMD_TESTS+=("$f") ;;
		*) TESTS+=("$f") ;;
		esac
	done
else
	# cgroup placement, resources, removal and kill --all, the cgroup-driven commands, and
	# the systemd driver.  lifecycle.bats, delete.bats and kill.bats (which pass on v2 too)
	# are left to the command line.
	for f in cgroups update pause events ps; do
		[ -f "$SRCDIR/tests/integration/$f.bats" ] && TESTS+=("tests/integration/$f.bats")
	done
	[ -f "$SRCDIR/tests/integration/systemd.bats" ] && SYSTEMD_TESTS+=("tests/integration/systemd.bats")
fi

[ "$(id -u)" -eq 0 ] || die "needs root (to fetch the kernel package into $CACHE)"
for cmd in qemu-system-x86_64 cpio bats jq apt-get apt-cache dpkg-deb ldd; do
	command -v "$cmd" >/dev/null || die "$cmd not found: bash contrib/install-deps.sh"
done
SYSTEMD=/lib/systemd/systemd
if [ ${#SYSTEMD_TESTS[@]} -gt 0 ] && { [ ! -x "$SYSTEMD" ] || ! command -v systemctl >/dev/null; }; then
	die "$SYSTEMD or systemctl not found: apt-get install systemd"
fi
BUSYBOX=/bin/busybox
BASH_STATIC=/bin/bash-static
[ -x "$BASH_STATIC" ] || die "$BASH_STATIC not found: apt-get install bash-static"
# ldd succeeds only on a dynamic executable
if [ ! -x "$BUSYBOX" ] || LC_ALL=C ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is missing or not static: apt-get install busybox-static"
fi
for f in src/isolazi/isolazi tests/payload/payload; do
	[ -x "$BUILDDIR/$f" ] || die "$BUILDDIR/$f not built (make && make tests/payload/payload)"
done

WORK="$(mktemp -d /tmp/v2-lane.XXXXXX)"
QEMU_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill -9 "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [ "${V2LANE_KEEP:-0}" = 1 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

remaining() {
	echo $((TOTAL_TIMEOUT - (SECONDS - START)))
}

# ---- kernel ------------------------------------------------------------------------------
# The versioned package behind the linux-image-cloud-amd64 metapackage, extracted only.
fetch_kernel() {
	local pkg deb
	pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
	[ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?)"
	KDIR="$CACHE/$pkg"
	if [ ! -e "$KDIR/.done" ]; then
		mkdir -p "$CACHE"
		deb="$(compgen -G "$CACHE/${pkg}_*.deb" | head -n 1 || true)"
		if [ -z "$deb" ]; then
			log "downloading $pkg into $CACHE"
			# apt's _apt user cannot write a root-owned cache; download there as root quietly.
			(cd "$CACHE" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' >&2) ||
				die "apt-get download $pkg failed"
			deb="$(compgen -G "$CACHE/${pkg}_*.deb" | head -n 1)"
		fi
		rm -rf "$KDIR"
		mkdir -p "$KDIR"
		dpkg-deb -x "$deb" "$KDIR"
		# modules.dep is made by the package's postinst, which does not run here; busybox's
		# depmod writes the format the guest's busybox modprobe reads.
		"$BUSYBOX" depmod -b "$KDIR" "$(ls "$KDIR/lib/modules")"
		touch "$KDIR/.done"
	fi
	VMLINUZ="$(compgen -G "$KDIR/boot/vmlinuz-*" | head -n 1)"
	[ -n "$VMLINUZ" ] || die "no vmlinuz in $KDIR/boot"
	KVER="${VMLINUZ##*/vmlinuz-}"
}

# ---- initramfs ---------------------------------------------------------------------------
# The guest uses Debian's merged-/usr layout, so host paths map to one place: /bin/x and
# /usr/bin/x are both usr/bin/x.
usr_path() {
	case "$1" in
	/usr/*) echo "$1" ;;
	/bin/* | /sbin/* | /lib/* | /lib64/*) echo "/usr$1" ;;
	*) echo "$1" ;;
	esac
}

# add_file HOSTPATH [GUESTPATH]: copy a file (dereferenced) into the initramfs.
add_file() {
	local dst
	dst="$STAGE$(usr_path "${2:-$1}")"
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}

# add_bin PATH...: executables with the shared libraries ldd lists for them.
add_bin() {
	local b
	for b in "$@"; do
		[ -e "$b" ] || continue
		add_file "$b"
		# ldd fails on static executables and scripts: they need nothing more
		{ LC_ALL=C ldd "$b" 2>/dev/null || true; } |
			awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' >>"$WORK/libs"
	done
	:
}

add_libs() {
	local lib
	sort -u "$WORK/libs" | while read -r lib; do
		[ -e "$STAGE$(usr_path "$lib")" ] || add_file "$lib"
	done
}

# the executables a package installs under */bin/
package_bins() {
	dpkg -L "$1" 2>/dev/null | grep -E '/s?bin/[^/]+$' || true
}

make_stage_base() {
	local d
	STAGE="$1"
	mkdir -p "$STAGE"/usr/{bin,sbin,lib,lib64} "$STAGE"/{etc,proc,sys,dev,tmp,run,root}
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$STAGE/$d"
	done
	: >"$WORK/libs"
}

# busybox's applet links, where no real tool was copied
add_busybox() {
	local a
	add_file "$BUSYBOX" /usr/bin/busybox
	while read -r a; do
		a="$(usr_path "/$a")"
		[ -e "$STAGE$a" ] || [ -L "$STAGE$a" ] || ln -s /usr/bin/busybox "$STAGE$a"
	done < <("$BUSYBOX" --list-full)
}

build_initramfs() {
	local out="$WORK/initrd.cpio" pkg m mods
	log "building the initramfs"
	make_stage_base "$WORK/stage"
	# GNU tools where the suite relies on their options (timeout --kill-after, cp -a, ...),
	# busybox for the rest; bats needs bash at /bin/bash.
	for pkg in coreutils grep sed findutils procps diffutils; do
		# shellcheck disable=SC2046 # one path per line, no spaces
		add_bin $(package_bins "$pkg")
	done
	add_bin /usr/bin/mawk /usr/bin/jq /usr/bin/flock /usr/bin/setsid /usr/bin/nsenter \
		/usr/bin/unshare /usr/bin/findmnt /usr/bin/mountpoint /usr/bin/ip /sbin/ip
	ln -sf mawk "$STAGE/usr/bin/awk"
	add_file "$BASH_STATIC" /usr/bin/bash
	add_bin "$BUILDDIR/src/isolazi/isolazi"
	# The systemd cgroup driver loads libsystemd.so.0 with dlopen, which ldd does not show.
	add_bin "$(LC_ALL=C "$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk '$1 == "libsystemd.so.0" && $NF ~ /^\// {print $NF; exit}')"
	add_libs
	[ ${#SYSTEMD_TESTS[@]} -eq 0 ] || add_systemd
	add_busybox
	# bats as Debian installs it
	add_file /usr/bin/bats
	cp -a /usr/lib/bats-core "$STAGE/usr/lib/"
	mkdir -p "$STAGE/usr/libexec"
	cp -a /usr/libexec/bats-core "$STAGE/usr/libexec/"
	# the dynamic loader finds the libraries through the cache, as on the host
	echo /usr/lib/x86_64-linux-gnu >"$STAGE/etc/ld.so.conf"
	ldconfig -r "$STAGE" 2>/dev/null || log "ldconfig -r failed; relying on the default paths"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n' >"$STAGE/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$STAGE/etc/group"
	: >"$STAGE/etc/hosts"
	# the build and the sources the suite reads (helpers.bash finds SRCDIR from its own path)
	mkdir -p "$STAGE/build/src/isolazi" "$STAGE/build/tests/payload" "$STAGE/src/tests" "$STAGE/src/contrib"
	cp "$BUILDDIR/src/isolazi/isolazi" "$STAGE/build/src/isolazi/"
	cp "$BUILDDIR/tests/payload/payload" "$STAGE/build/tests/payload/"
	cp -a "$SRCDIR/tests/integration" "$STAGE/src/tests/"
	cp "$SRCDIR/contrib/mkbundle.sh" "$STAGE/src/contrib/"
	# modules and their dependencies, loaded by the init with busybox modprobe
	mods="$STAGE/lib/modules/$KVER"
	mkdir -p "$mods"
	: >"$STAGE/etc/v2lane-modules"
	for m in $MODULES; do
		module_closure "$m" | while read -r ko; do
			mkdir -p "$mods/$(dirname "$ko")"
			cp "$KDIR/lib/modules/$KVER/$ko" "$mods/$ko"
		done
		echo "$m" >>"$STAGE/etc/v2lane-modules"
	done
	cp "$KDIR/lib/modules/$KVER/modules.dep" "$mods/" 2>/dev/null || true
	{
		printf 'TESTS="%s"\n' "${TESTS[*]}"
		printf 'SYSTEMD_TESTS="%s"\n' "${SYSTEMD_TESTS[*]}"
		printf 'ISOLAZI_TEST_TIMEOUT=%s\n' "${ISOLAZI_TEST_TIMEOUT:-30}"
	} >"$STAGE/etc/v2lane.conf"
	install -m 0755 "$SRCDIR/tests/vm/init" "$STAGE/init"
	# Uncompressed: decompressing in an emulated guest costs more than reading the bytes.
	(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$out"
	INITRD="$out"
	log "initramfs: $(du -h "$out" | cut -f1)"
}

# Debian's systemd as the guest's pid 1 for stage 3 of the init: the manager, systemctl, and
# two units of our own instead of Debian's boot (no udev, journald or getty in the guest):
# default.target wants a service that runs the systemd tests and powers off.  Slices need no
# unit file (systemd makes them when a scope names one).
add_systemd() {
	local d="$STAGE/etc/systemd/system"
	add_bin "$SYSTEMD" "$(command -v systemctl)"
	add_libs
	mkdir -p "$d"
	# status lines and the manager's own messages off the console, which carries the TAP
	printf '[Manager]\nShowStatus=no\nLogTarget=kmsg\nLogLevel=warning\n' >"$STAGE/etc/systemd/system.conf"
	printf '[Unit]\nDescription=v2 lane: systemd tests\nWants=v2lane.service\n' >"$d/default.target"
	printf '%s\n' '[Unit]' 'Description=v2 lane: run the systemd tests, power off' 'DefaultDependencies=no' \
		'[Service]' 'Type=oneshot' 'TimeoutStartSec=infinity' 'ExecStart=/init systemd-tests' \
		'StandardOutput=null' 'StandardError=null' >"$d/v2lane.service"
}

# module_closure NAME: the module's .ko path and those of its dependencies (modules.dep).
module_closure() {
	local dep="$KDIR/lib/modules/$KVER/modules.dep" line
	line="$(grep -E "/$1\\.ko(\\.[a-z]+)?:" "$dep" | head -n 1)" || die "module $1 not in $dep"
	echo "$line" | tr -d ':' | tr ' ' '\n' | grep .
}

build_probe() {
	local stage="$WORK/probe"
	make_stage_base "$stage"
	add_file "$BUSYBOX" /usr/bin/busybox
	ln -s busybox "$stage/usr/bin/sh"
	ln -s busybox "$stage/usr/bin/poweroff"
	printf '#!/bin/sh\necho V2LANE-PROBE-OK\npoweroff -f\n' >"$stage/init"
	chmod 0755 "$stage/init"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$WORK/probe.cpio"
}

# ---- QEMU --------------------------------------------------------------------------------
tsc_khz() {
	local mhz
	# the kernel's calibrated value; dmesg may be restricted or rotated
	mhz="$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\).* MHz.*/\1\2/p' | head -n 1)"
	echo "${mhz:-2000000}"
}

# boot ACCEL INITRD CONSOLE_LOG TIMEOUT END_MARKER: boot the guest in the background until
# END_MARKER shows on the console, QEMU exits or TIMEOUT passes.  Sets BOOTED_AT (seconds
# until V2LANE-BOOTED, or empty).  Returns 0 when the marker was seen.
boot() {
	local accel="$1" initrd="$2" console="$3" timeout="$4" marker="$5" append t0 cpu
	append="console=ttyS0 panic=-1 quiet loglevel=1 rdinit=/init"
	cpu=max
	if [ "$accel" = tcg ]; then
		# Emulated clocks drift: trust the TSC at the host's rate instead of calibrating it.
		append+=" tsc_early_khz=$(tsc_khz) tsc=reliable mitigations=off"
		cpu=qemu64
	fi
	: >"$console"
	t0=$SECONDS
	BOOTED_AT=""
	qemu-system-x86_64 -M microvm,acpi=on,pic=on,pit=on,rtc=on,isa-serial=on \
		-accel "$accel" -cpu "$cpu" -m 1536 -smp 2 \
		-nographic -no-reboot -nodefaults -monitor none -serial "file:$console" \
		-kernel "$VMLINUZ" -initrd "$initrd" -append "$append" \
		</dev/null >"$console.qemu" 2>&1 &
	QEMU_PID=$!
	while :; do
		if [ -z "$BOOTED_AT" ] && grep -q V2LANE-BOOTED "$console"; then
			BOOTED_AT=$((SECONDS - t0))
		fi
		grep -q "$marker" "$console" && break
		kill -0 "$QEMU_PID" 2>/dev/null || break
		if [ $((SECONDS - t0)) -ge "$timeout" ]; then
			log "$accel guest: no $marker within ${timeout}s"
			break
		fi
		sleep 0.5
	done
	# Give the guest a moment to power off by itself, then stop it.
	for _ in 1 2 3 4 5 6; do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill -9 "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=""
	grep -q "$marker" "$console"
}

pick_accel() {
	case "$ACCEL" in
	kvm | tcg) return 0 ;;
	auto) ;;
	*) die "V2LANE_ACCEL: auto, kvm or tcg, not $ACCEL" ;;
	esac
	# /dev/kvm can exist without being able to run an ordinary guest kernel (nested or
	# paravirtual hosts): only a guest that boots proves KVM works.  The answer holds until
	# the host reboots, so it is kept per boot id (the probe costs its whole bound when KVM
	# does not work).
	local boot_id probe_cache="$CACHE/kvm-probe"
	boot_id="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)"
	ACCEL=tcg
	if [ -w /dev/kvm ]; then
		if [ -f "$probe_cache" ] && [ "$(cut -d' ' -f1 "$probe_cache")" = "$boot_id" ]; then
			ACCEL="$(cut -d' ' -f2 "$probe_cache")"
			log "KVM probe result of this host boot: $ACCEL ($probe_cache)"
		else
			build_probe
			if boot kvm "$WORK/probe.cpio" "$WORK/probe.log" "$PROBE_TIMEOUT" V2LANE-PROBE-OK; then
				ACCEL=kvm
			fi
			echo "$boot_id $ACCEL" >"$probe_cache" || true
		fi
	fi
	if [ "$ACCEL" = tcg ]; then
		log "KVM cannot boot a guest here; using TCG (emulation, slower)"
	fi
}

# ---- main --------------------------------------------------------------------------------
fetch_kernel
log "kernel $KVER, tests: ${TESTS[*]}${SYSTEMD_TESTS:+, under systemd: ${SYSTEMD_TESTS[*]}}"
pick_accel
build_initramfs
run_timeout="$(remaining)"
[ "$run_timeout" -gt 30 ] || die "no time left for the run (V2LANE_TIMEOUT=$TOTAL_TIMEOUT)"
log "booting ($ACCEL, bound ${run_timeout}s)"
t0=$SECONDS
ok=0
boot "$ACCEL" "$INITRD" "$WORK/console.log" "$run_timeout" V2LANE-DONE || ok=$?
log "guest booted in ${BOOTED_AT:-?}s; run took $((SECONDS - t0))s; lane $((SECONDS - START))s"

# The TAP of every run between the markers (without the serial line's carriage returns), as
# one stream: test lines renumbered, one plan first.  Other lines between the markers (a
# stray console message) become comments.
tr -d '\r' <"$WORK/console.log" | awk '
	/^V2LANE-TAP-START/ {on = 1; next}
	/^V2LANE-TAP-END/ {on = 0; next}
	!on || /^1\.\.[0-9]+$/ {next}
	/^(not )?ok [0-9]+/ {
		n++
		sub(/ok [0-9]+/, "ok " n)
		lines[++l] = $0
		next
	}
	/^#/ {lines[++l] = $0; next}
	{lines[++l] = "# " $0}
	END {print "1.." n; for (i = 1; i <= l; i++) print lines[i]}' >"$WORK/tap"
cat "$WORK/tap"
runs=$(( (${#TESTS[@]} > 0) + (${#SYSTEMD_TESTS[@]} > 0) ))
ends="$(tr -d '\r' <"$WORK/console.log" | grep -c '^V2LANE-TAP-END' || true)"
bad_ends="$(tr -d '\r' <"$WORK/console.log" | grep '^V2LANE-TAP-END' | grep -vc '^V2LANE-TAP-END rc=0$' || true)"
grep '^V2LANE-\(INFO\|WARNING\|ERROR\)' "$WORK/console.log" | tr -d '\r' >&2 || true
if [ "$ok" -ne 0 ] || [ "$ends" -ne "$runs" ]; then
	log "the guest did not finish ($ends of $runs runs); last console lines:"
	tr -d '\r' <"$WORK/console.log" | tail -n 30 >&2
	tail -n 5 "$WORK/console.log.qemu" >&2 || true
	exit 1
fi
if [ "$bad_ends" -ne 0 ] || grep -qE '^not ok ' "$WORK/tap"; then
	log "tests failed"
	exit 1
fi
exit 0

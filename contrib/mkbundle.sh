#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Make an OCI bundle with a busybox rootfs (from Debian's busybox-static) and runc's default
# spec, adjusted for tests: no terminal, args ["sh"], a writable root.  No runtime is needed.
#
#   contrib/mkbundle.sh DIR [--payload PATH]
#
# DIR must not exist or be empty.  --payload copies a static binary to DIR/rootfs/bin/payload.
set -euo pipefail

usage() {
	echo "usage: $0 DIR [--payload PATH]" >&2
	exit 2
}

dir=""
payload=""
while [ $# -gt 0 ]; do
	case "$1" in
	--payload)
		[ $# -ge 2 ] || usage
		payload="$2"
		shift 2
		;;
	--payload=*)
		payload="${1#--payload=}"
		shift
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*)
		[ -z "$dir" ] || usage
		dir="$1"
		shift
		;;
	esac
done
[ -n "$dir" ] || usage

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ]; then
		busybox="$b"
		break
	fi
done
if [ -z "$busybox" ]; then
	echo "$0: busybox not found: apt-get install busybox-static" >&2
	exit 1
fi
# ldd succeeds only on a dynamic executable, which would not run in the bare rootfs.
if LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
	echo "$0: $busybox is not static: apt-get install busybox-static" >&2
	exit 1
fi

rootfs="$dir/rootfs"
mkdir -p "$rootfs"
for d in bin sbin usr/bin usr/sbin etc tmp proc sys dev root run var; do
	mkdir -p "$rootfs/$d"
done
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
# Links for every applet, made by busybox itself as seen from inside the rootfs.
chroot "$rootfs" /bin/busybox --install -s /bin

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
users:x:100:
nogroup:x:65534:
GROUP
: >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"

if [ -n "$payload" ]; then
	cp "$payload" "$rootfs/bin/payload"
	chmod 0755 "$rootfs/bin/payload"
fi

# runc 1.1.5's `runc spec`, with terminal false, args ["sh"] and root.readonly false.
cat >"$dir/config.json" <<'CONFIG'
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": ["sh"],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "runc",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    {
      "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
    },
    {
      "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    },
    {
      "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
    },
    {
      "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": ["nosuid", "noexec", "nodev"]
    },
    {
      "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": ["nosuid", "noexec", "nodev", "ro"]
    },
    {
      "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
      "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }
  ],
  "linux": {
    "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
    "namespaces": [
      { "type": "pid" },
      { "type": "network" },
      { "type": "ipc" },
      { "type": "uts" },
      { "type": "mount" }
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
CONFIG

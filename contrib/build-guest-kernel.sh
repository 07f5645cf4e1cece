#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build a small guest kernel for isolazi-vm from Debian's linux-source, with everything the
# guest needs built in (no modules to load at boot: faster boots than the cloud kernel).  Never
# run in CI: it takes a long while on a small machine.
#
#   contrib/build-guest-kernel.sh [OUTDIR]
#
# OUTDIR (default /var/cache/isolazi-vm/guest-kernel) gets boot/vmlinuz-RELEASE; use it with
# `isolazi-vm --kernel OUTDIR/boot/vmlinuz-RELEASE` or ISOLAZI_VM_KERNEL.  Needs root for
# apt-get (linux-source, build-essential, bc, bison, flex, libelf-dev, libssl-dev).
set -euo pipefail

OUT="${1:-/var/cache/isolazi-vm/guest-kernel}"
JOBS="${JOBS:-$(nproc)}"

apt-get install -y --no-install-recommends linux-source build-essential bc bison flex libelf-dev \
	libssl-dev cpio xz-utils >&2
TARBALL="$(compgen -G '/usr/src/linux-source-*.tar.xz' | sort -V | tail -n 1)"
[ -n "$TARBALL" ] || { echo "no /usr/src/linux-source-*.tar.xz" >&2; exit 1; }
WORK="$(mktemp -d /tmp/guest-kernel.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xf "$TARBALL"
cd "$WORK"/linux-source-*

# A minimal x86_64 base, then what an isolazi-vm guest uses: microvm's ACPI-described
# virtio-mmio devices, virtio-blk for the rootfs image, virtio-serial (and vsock) for the
# agent, erofs/ext4 under an overlay, the API file systems and pty for terminals.
make tinyconfig >/dev/null
./scripts/config \
	-e 64BIT -e SMP -e PRINTK -e TTY -e SERIAL_8250 -e SERIAL_8250_CONSOLE \
	-e ACPI -e PCI -e BLK_DEV -e BINFMT_ELF -e BINFMT_SCRIPT -e MULTIUSER -e FUTEX -e EPOLL \
	-e SIGNALFD -e TIMERFD -e EVENTFD -e SHMEM -e POSIX_TIMERS -e FILE_LOCKING -e UNIX98_PTYS \
	-e BLK_DEV_INITRD -e RD_GZIP -e DEVTMPFS -e PROC_FS -e SYSFS -e TMPFS -e TMPFS_POSIX_ACL \
	-e VIRTIO_MENU -e VIRTIO -e VIRTIO_MMIO -e VIRTIO_MMIO_CMDLINE_DEVICES -e VIRTIO_BLK \
	-e VIRTIO_CONSOLE -e NET -e INET -e UNIX -e VSOCKETS -e VIRTIO_VSOCKETS -e NETDEVICES \
	-e VIRTIO_NET -e EROFS_FS -e EXT4_FS -e OVERLAY_FS -e FUSE_FS -e VIRTIO_FS \
	-e NAMESPACES -e UTS_NS -e CGROUPS -e MEMCG -e KVM_GUEST -e PARAVIRT -e HYPERVISOR_GUEST \
	-d MODULES -d SOUND -d DRM -d USB_SUPPORT -d WLAN -d WIRELESS
make olddefconfig >/dev/null
make -j"$JOBS" bzImage >&2
RELEASE="$(make -s kernelrelease)"
mkdir -p "$OUT/boot"
cp arch/x86/boot/bzImage "$OUT/boot/vmlinuz-$RELEASE"
echo "$OUT/boot/vmlinuz-$RELEASE"

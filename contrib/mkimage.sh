#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the busybox test image as an OCI image layout and optionally push it to a registry.
#
#   contrib/mkimage.sh LAYOUT [--push REF]
#
# LAYOUT  directory for the OCI image layout; the image is tagged `latest` in it
# REF     where to push, e.g. 127.0.0.1:5000/busybox:latest (plain HTTP, no TLS check)
#
# The image has one layer: /bin/busybox from Debian's busybox-static with a symlink per applet
# in /bin, /etc/passwd and /etc/group (root, and `user` as 1000:1000), and the usual empty
# directories.  Its config runs `sh` with PATH set.  Needs umoci, and skopeo for --push.
set -euo pipefail

usage() {
	echo "usage: $0 LAYOUT [--push REF]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
layout="$1"
shift
push=""
while [ $# -gt 0 ]; do
	case "$1" in
	--push)
		[ $# -ge 2 ] || usage
		push="$2"
		shift 2
		;;
	*) usage ;;
	esac
done

busybox=/bin/busybox
[ -x "$busybox" ] || {
	echo "mkimage: $busybox not found (apt-get install busybox-static)" >&2
	exit 1
}
for tool in umoci ${push:+skopeo}; do
	command -v "$tool" >/dev/null || {
		echo "mkimage: $tool not found (apt-get install $tool)" >&2
		exit 1
	}
done

work="$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")"
trap 'rm -rf "$work"' EXIT

rm -rf "$layout"
umoci init --layout "$layout"
umoci new --image "$layout:latest"
umoci unpack --image "$layout:latest" "$work/bundle" >/dev/null

rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,tmp,root,home/user,mnt,run,var/tmp}
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 700 "$rootfs/root"
chown 1000:1000 "$rootfs/home/user"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF

umoci repack --image "$layout:latest" "$work/bundle" >/dev/null
umoci config --image "$layout:latest" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.cmd sh --config.workingdir / \
	--author isolazi --architecture "$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
	--os linux >/dev/null
umoci gc --layout "$layout"

if [ -n "$push" ]; then
	skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$push"
fi

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build a sandbox preset: a Debian-based rootfs for `isolazi-vm sandbox create --preset NAME`.
#
#   contrib/sandbox-preset.sh python|node|ruby|go [--force]
#
# It needs no network beyond the apt mirror: the preset's packages and their dependencies
# (without recommends, and without dpkg/debconf/perl, which nothing runs in a sandbox) are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x` over a busybox base (sh and
# the usual tools).  The result goes to $ISOLAZI_VM_PRESETS (default
# /var/cache/isolazi-vm/presets)/NAME/{rootfs,stamp}; the stamp lists the package versions, so
# a preset is rebuilt (and the sandbox base images made from it) when Debian updates them.
set -euo pipefail

name="${1:-}"
force="${2:-}"
case "$name" in
python) roots=(python3) ;;
node) roots=(nodejs) ;;
ruby) roots=(ruby) ;;
go) roots=(golang-go) ;;
*)
	echo "usage: $0 python|node|ruby|go [--force]" >&2
	exit 2
	;;
esac

presets="${ISOLAZI_VM_PRESETS:-/var/cache/isolazi-vm/presets}"
dir="$presets/$name"
debs="$presets/debs"
mkdir -p "$presets" "$debs"
exec 9>"$presets/.lock"
flock 9

# Resolve against the mirror alone: a version installed on the host from elsewhere (a vendor's
# nodejs, pinned in preferences.d) is neither downloadable nor what the preset promises.
apt_mirror=(-o Dir::State::status=/dev/null)

# Packages a sandbox never runs (package management, debconf's perl): left out of the closure.
skip='^(dpkg|debconf|perl-base|perl|perl-modules-.*|libperl.*|tar|install-info|debianutils|init-system-helpers|sensible-utils|tzdata|libc-bin)$'
mapfile -t pkgs < <(apt-cache "${apt_mirror[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances "${roots[@]}" 2>/dev/null | grep -v '^ ' | grep -v '<' | sort -u | grep -Ev "$skip")
[ ${#pkgs[@]} -gt 0 ] || {
	echo "$0: cannot resolve ${roots[*]} (apt-get update?)" >&2
	exit 1
}
# The .deb file names carry the versions: they are the stamp.
stamp="$(apt-get "${apt_mirror[@]}" download --print-uris "${pkgs[@]}" 2>/dev/null | awk '{print $2}' | sort)"
if [ -z "$force" ] && [ -d "$dir/rootfs" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$dir/rootfs (up to date)"
	exit 0
fi

# Fetch what is not cached yet (one apt-get call for all of them).
need=()
for p in "${pkgs[@]}"; do
	compgen -G "$debs/${p}_*.deb" >/dev/null || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	(cd "$debs" && apt-get "${apt_mirror[@]}" -o APT::Sandbox::User=root download -q "${need[@]}" >/dev/null)
fi

tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"/{bin,sbin,etc,root,tmp,proc,sys,dev,run,var/tmp,usr/bin}
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
for p in "${pkgs[@]}"; do
	dpkg-deb -x "$(compgen -G "$debs/${p}_*.deb" | sort | tail -n 1)" "$tmp"
done
# sh and the usual tools from busybox where Debian's are not there.
cp /bin/busybox "$tmp/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$tmp/bin/$applet" ] || [ -e "$tmp/usr/bin/$applet" ] || ln -s busybox "$tmp/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
printf '127.0.0.1 localhost\n' >"$tmp/etc/hosts"
# Versions without a generic name (python3.11, ...) get one through their Debian alternatives' targets.
case "$name" in
node) [ -e "$tmp/usr/bin/node" ] || ln -s nodejs "$tmp/usr/bin/node" ;;
go) [ -e "$tmp/usr/bin/go" ] || ln -s ../lib/go/bin/go "$tmp/usr/bin/go" ;;
esac
printf '%s\n' "$stamp" >"$tmp/stamp.tmp"
rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp" "$dir/rootfs"
mv "$dir/rootfs/stamp.tmp" "$dir/stamp"
echo "$dir/rootfs"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install every Debian 12 package the build, the tests and the benchmark need.
# Idempotent and fast when everything is there: apt runs only for what is missing.
set -euo pipefail

PACKAGES=(
	# build
	build-essential autoconf automake pkg-config git ca-certificates
	libyajl-dev libseccomp-dev libcap-dev libselinux1-dev libsystemd-dev go-md2man
	libcurl4-openssl-dev libarchive-dev libssl-dev libzstd-dev
	clang clang-format libclang-rt-14-dev
	# tests
	bats jq busybox-static runc crun iproute2 util-linux libcap2-bin shellcheck
	coreutils procps tmux uidmap
	# cgroup v2 lane (tests/vm/v2-lane.sh)
	qemu-system-x86 bash-static cpio systemd
	# client integration tests (podman.bats, containerd.bats)
	podman conmon containerd docker-registry skopeo umoci catatonit
	# isolazi-pull tests (registry auth, TLS certificates, zstd layers, malicious layers)
	apache2-utils openssl zstd python3 curl
	# isolazi-vm (guest disk images)
	erofs-utils e2fsprogs
	# isolazi-vm sandboxes (qcow2 disk layers)
	qemu-utils
	# benchmark
	time linux-perf hyperfine
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
	case "$status" in
	ii*) ;;
	*) missing+=("$pkg") ;;
	esac
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages and not root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Compare `isolazi-pull bundle` with `skopeo copy` + `umoci unpack` and with `podman pull` on
# the same image from the same local docker-registry.
#
#   tests/bench/pull-bench.sh [-n RUNS] [--image REF]
#
# Without --image the script builds a test image (busybox from contrib/mkimage.sh plus two
# layers copied from this host: /usr/lib/python3.11 and perl's library, about 80 MB unpacked in
# thousands of files), pushes it to a private registry on 127.0.0.1 and uses that.
#
#   cold  empty store: download, verify, unpack, and for isolazi-pull also mount and write
#         config.json; skopeo copy + umoci unpack; podman pull (into empty storage)
#   warm  the image is in the store: a second bundle (isolazi-pull bundle to a new DIR;
#         umoci unpack again; podman create + podman mount)
#
# Printed: the median of RUNS runs in milliseconds per tool, and isolazi-pull's ratio to each.
# A benchmark, not a test: it never fails on timing.  Needs root.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SRCDIR="$(cd "$HERE/../.." && pwd)"
BUILDDIR="${ISOLAZI_BUILDDIR:-$SRCDIR}"
PULL="$BUILDDIR/src/isolazi-pull/isolazi-pull"
RUNS=5
IMAGE=""

while [ $# -gt 0 ]; do
	case "$1" in
	-n)
		RUNS="$2"
		shift 2
		;;
	--image)
		IMAGE="$2"
		shift 2
		;;
	-h | --help)
		sed -n '3,19p' "$0"
		exit 0
		;;
	*)
		echo "usage: $0 [-n RUNS] [--image REF]" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "pull-bench: needs root" >&2
	exit 1
fi
for tool in docker-registry skopeo umoci podman; do
	command -v "$tool" >/dev/null || {
		echo "pull-bench: $tool not found (contrib/install-deps.sh)" >&2
		exit 1
	}
done
[ -x "$PULL" ] || {
	echo "pull-bench: $PULL not built" >&2
	exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pull-bench.XXXXXX")"
REG_PID=""
cleanup() {
	local m
	awk -v d="$WORK" 'index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	[ -z "$REG_PID" ] || kill "$REG_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

median() {
	sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

# ---- the registry and the image ----------------------------------------------------------------
start_registry() {
	local port
	mkdir -p "$WORK/registry"
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		cat >"$WORK/registry/config.yml" <<-EOF
			version: 0.1
			log:
			  level: error
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $WORK/registry/storage
			http:
			  addr: 127.0.0.1:$port
		EOF
		setsid docker-registry serve "$WORK/registry/config.yml" </dev/null >"$WORK/registry/log" 2>&1 &
		REG_PID=$!
		for _ in $(seq 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				REGISTRY="127.0.0.1:$port"
				return 0
			fi
			sleep 0.1
		done
		kill "$REG_PID" 2>/dev/null || true
	done
	echo "pull-bench: the registry did not start" >&2
	exit 1
}

build_image() {
	local layout="$WORK/layout" b="$WORK/unpacked" d
	bash "$SRCDIR/contrib/mkimage.sh" "$layout" >/dev/null
	umoci unpack --image "$layout:latest" "$b" >/dev/null
	for d in /usr/lib/python3.11 /usr/lib/x86_64-linux-gnu/perl; do
		[ -d "$d" ] || continue
		mkdir -p "$b/rootfs$(dirname "$d")"
		cp -a "$d" "$b/rootfs$d"
		umoci repack --image "$layout:latest" "$b" >/dev/null
	done
	umoci gc --layout "$layout"
	skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$REGISTRY/bench/image:latest"
	IMAGE="$REGISTRY/bench/image:latest"
	rm -rf "$b"
}

start_registry
if [ -z "$IMAGE" ]; then
	echo "pull-bench: building the test image..." >&2
	build_image
fi

# ---- the tools -----------------------------------------------------------------------------------
# Each function runs once and prints its time in ms.  Stores live under $WORK.
isolazi_cold() {
	local s="$WORK/ip-store" d="$WORK/ip-bundle" t0 t1
	rm -rf "$s" "$d"
	t0=$(now_ms)
	"$PULL" --store "$s" bundle -q --tls-verify=false "$IMAGE" "$d" >/dev/null
	t1=$(now_ms)
	"$PULL" --store "$s" rm-bundle "$d"
	echo $((t1 - t0))
}

isolazi_warm() {
	local s="$WORK/ip-warm" d="$WORK/ip-bundle2" t0 t1
	[ -d "$s" ] || {
		"$PULL" --store "$s" bundle -q --tls-verify=false "$IMAGE" "$WORK/ip-first" >/dev/null
	}
	t0=$(now_ms)
	"$PULL" --store "$s" bundle -q "$IMAGE" "$d" >/dev/null
	t1=$(now_ms)
	"$PULL" --store "$s" rm-bundle "$d"
	echo $((t1 - t0))
}

umoci_cold() {
	local l="$WORK/umoci-layout" d="$WORK/umoci-bundle" t0 t1
	rm -rf "$l" "$d"
	t0=$(now_ms)
	skopeo copy --quiet --src-tls-verify=false "docker://$IMAGE" "oci:$l:latest"
	umoci unpack --image "$l:latest" "$d" >/dev/null
	t1=$(now_ms)
	rm -rf "$d"
	echo $((t1 - t0))
}

umoci_warm() {
	local l="$WORK/umoci-warm" d="$WORK/umoci-bundle2" t0 t1
	[ -d "$l" ] || skopeo copy --quiet --src-tls-verify=false "docker://$IMAGE" "oci:$l:latest"
	rm -rf "$d"
	t0=$(now_ms)
	umoci unpack --image "$l:latest" "$d" >/dev/null
	t1=$(now_ms)
	rm -rf "$d"
	echo $((t1 - t0))
}

PODMAN_CONF="$WORK/podman"
podman_cmd() {
	local dir="$1"
	shift
	CONTAINERS_REGISTRIES_CONF="$PODMAN_CONF/registries.conf" CONTAINERS_CONF="$PODMAN_CONF/containers.conf" \
		podman --root "$dir/graph" --runroot "$dir/run" --storage-driver overlay --cgroup-manager cgroupfs \
		--events-backend file --tmpdir "$dir/tmp" "$@"
}

podman_reset() {
	local dir="$1"
	podman_cmd "$dir" rm -af >/dev/null 2>&1 || true
	podman_cmd "$dir" rmi -af >/dev/null 2>&1 || true
	awk -v d="$dir" 'index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
}

podman_cold() {
	local dir="$WORK/podman-cold" t0 t1
	podman_reset "$dir"
	t0=$(now_ms)
	podman_cmd "$dir" pull -q "$IMAGE" >/dev/null
	t1=$(now_ms)
	podman_reset "$dir"
	echo $((t1 - t0))
}

podman_warm() {
	local dir="$WORK/podman-warm" t0 t1 id
	[ -d "$dir/graph" ] || {
		podman_reset "$dir"
		podman_cmd "$dir" pull -q "$IMAGE" >/dev/null
	}
	t0=$(now_ms)
	id="$(podman_cmd "$dir" create --net none "$IMAGE" true)"
	podman_cmd "$dir" mount "$id" >/dev/null
	t1=$(now_ms)
	podman_cmd "$dir" umount "$id" >/dev/null
	podman_cmd "$dir" rm "$id" >/dev/null
	echo $((t1 - t0))
}

mkdir -p "$PODMAN_CONF"
# A private lock range: the host's /libpod_lock may be sized for another podman.
cat >"$PODMAN_CONF/containers.conf" <<EOF
[engine]
num_locks = 256
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$PODMAN_CONF/registries.conf" <<EOF
unqualified-search-registries = []
[[registry]]
location = "$REGISTRY"
insecure = true
EOF

# ---- measure, round-robin ------------------------------------------------------------------------
TOOLS=(isolazi umoci podman)
declare -A COLD WARM
for tool in "${TOOLS[@]}"; do
	COLD[$tool]=""
	WARM[$tool]=""
done
for i in $(seq "$RUNS"); do
	echo "pull-bench: run $i/$RUNS" >&2
	for tool in "${TOOLS[@]}"; do
		COLD[$tool]+="$("${tool}_cold") "
		WARM[$tool]+="$("${tool}_warm") "
	done
done
podman_reset "$WORK/podman-warm"

med() {
	tr ' ' '\n' <<<"$1" | grep . | median
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "n/a"}'
}

SIZE="$("$PULL" --store "$WORK/ip-warm" images | awk 'NR == 2 {print $3, $4}')"
echo
echo "image: $IMAGE ($SIZE compressed), median of $RUNS runs, ms"
printf '%-34s %10s %10s\n' "tool" "cold" "warm"
ic="$(med "${COLD[isolazi]}")"
iw="$(med "${WARM[isolazi]}")"
printf '%-34s %10s %10s\n' "isolazi-pull bundle" "$ic" "$iw"
uc="$(med "${COLD[umoci]}")"
uw="$(med "${WARM[umoci]}")"
printf '%-34s %10s %10s\n' "skopeo copy + umoci unpack" "$uc" "$uw"
pc="$(med "${COLD[podman]}")"
pw="$(med "${WARM[podman]}")"
printf '%-34s %10s %10s\n' "podman pull (warm: create+mount)" "$pc" "$pw"
echo
echo "isolazi-pull / skopeo+umoci: cold $(ratio "$ic" "$uc"), warm $(ratio "$iw" "$uw")"
echo "isolazi-pull / podman:       cold $(ratio "$ic" "$pc"), warm $(ratio "$iw" "$pw")"

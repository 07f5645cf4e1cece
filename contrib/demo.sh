#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build isolazi and run one busybox container that shows what it is isolated from:
# its hostname, that it is pid 1, the processes it sees, and its namespaces against the host's.
set -euo pipefail

cd "$(dirname "$0")/.."

bash contrib/install-deps.sh
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure -q
make -s -j"$(nproc)"

runtime="${ISOLAZI_RUNTIME:-src/isolazi/isolazi}"
bundle="$(mktemp -d /tmp/isolazi-demo.XXXXXX)"
id="demo-$$"
cleanup() {
	"$runtime" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$bundle"
}
trap cleanup EXIT

bash contrib/mkbundle.sh "$bundle" >/dev/null

# The host's namespaces, for comparison inside.
host_ns=""
for ns in pid net uts ipc mnt cgroup user; do
	host_ns+="$ns:$(readlink "/proc/self/ns/$ns") "
done

# Expanded inside the container, not here.
# shellcheck disable=SC2016
script='
echo "hostname:  $(hostname)"
echo "my pid:    $$"
echo "processes I can see:"
ps -o pid,user,args
echo "namespaces (container vs host):"
for pair in $HOST_NS; do
	ns=${pair%%:*}
	mine=$(readlink /proc/self/ns/$ns)
	host=${pair#*:}
	if [ "$mine" = "$host" ]; then same="shared with the host"; else same="new"; fi
	printf "  %-6s %-20s host %-20s %s\n" "$ns" "$mine" "$host" "$same"
done
'
printf '%s' "$script" >"$bundle/rootfs/demo.sh"
jq --arg ns "HOST_NS=$host_ns" \
	'.process.args = ["sh", "/demo.sh"] | .hostname = "isolazi-demo" | .process.env += [$ns]' \
	"$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

echo "+ $runtime run -b $bundle $id"
"$runtime" run -b "$bundle" "$id" </dev/null

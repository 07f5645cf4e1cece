#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The runtime's own mechanics: --no-pivot, signal forwarding in run, joining a pid namespace,
# time namespaces, the systemd cgroup driver's absence, and checks made before anything exists.

load helpers

@test "--no-pivot: the container runs in its rootfs and cannot see the host's files" {
	marker="/tmp/isolazi-host-marker-$$"
	: >"$marker"
	set_args sh -c "test -x /bin/payload && ! test -e $marker && echo inside"
	run -0 runtime run --no-pivot --bundle "$BUNDLE" "$CID"
	rm -f "$marker"
	[ "$output" = inside ]
}

@test "run forwards SIGTERM to the container and exits with its status" {
	# A shell that is pid 1 gets SIGTERM only through a handler: the trap is one.
	set_args sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
	out="$BATS_TEST_TMPDIR/out"
	"$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" </dev/null >"$out" 2>&1 &
	bg=$!
	for _ in $(seq 50); do grep -q ready "$out" && break; sleep 0.1; done
	record_pid "$CID"
	kill -TERM "$bg"
	status=0
	wait "$bg" || status=$?
	[ "$status" -eq 7 ]
	grep -q got-term "$out"
}

@test "a container joins another's pid namespace by path and sees its processes" {
	set_args sleep 100
	start_container
	pid="$(container_pid)"
	setup_bundle2
	update_config ".process.args = [\"ps\", \"-o\", \"args\"] |
		.linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$pid/ns/pid\" else . end)" "$BUNDLE2"
	run -0 runtime run --bundle "$BUNDLE2" "$CID2"
	assert_contains "sleep 100" "ps -o args"
}

@test "time namespace with offsets" {
	isolazi_only "runc 1.1 does not support time namespaces"
	update_config '.linux.namespaces += [{"type": "time"}] |
		.linux.timeOffsets = {"boottime": {"secs": 86400000, "nanosecs": 0}}'
	set_args cat /proc/uptime
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	up="${output%%.*}"
	[ "$up" -ge 86400000 ]
}

@test "--systemd-cgroup without systemd fails clearly and leaves nothing" {
	[ ! -d /run/systemd/system ] || skip "systemd runs on this host"
	set_args true
	run -1 runtime --systemd-cgroup run --bundle "$BUNDLE" "$CID"
	assert_contains "systemd"
	if [ "$RUNTIME_NAME" = isolazi ]; then
		assert_contains "linux.cgroupsPath" "slice:prefix:name"
	fi
}

@test "hostname without a uts namespace is refused before anything is made" {
	update_config '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "h"'
	set_args true
	run -1 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "hostname"
	[[ "$output" == *uts* || "$output" == *UTS* ]]
}

@test "a joined namespace path of the wrong type is refused" {
	isolazi_only "runc 1.1 does not check the type of a namespace path"
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/proc/self/ns/ipc" else . end)'
	set_args true
	run -1 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "is not a network namespace" "linux.namespaces["
}

@test "--cgroup-manager disabled: the container runs and no cgroup is made" {
	isolazi_only "crun's flag, which podman passes for --cgroups=disabled; runc 1.1 has no such flag"
	set_args sh -c 'echo ran'
	run -0 runtime --cgroup-manager disabled run --bundle "$BUNDLE" "$CID"
	[ "$output" = ran ]
	[ -z "$(cgroup_dirs "$CID")" ]
	run -1 runtime --cgroup-manager bogus list
	assert_contains "--cgroup-manager" "disabled"
}

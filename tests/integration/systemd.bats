#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The systemd cgroup driver (--systemd-cgroup, --cgroup-manager systemd): the container's
# transient scope, its cgroup and properties, update, pause/resume, kill and delete, and the
# errors.  Without systemd as init only the error paths run; the v2 lane (tests/vm) runs the
# rest against Debian's systemd as pid 1 of the guest.

load helpers

SLICE=isolazi_test.slice

setup() {
	setup_bundle
	UNIT="sd-$CID.scope"
	SCOPE_DIR="/sys/fs/cgroup/$SLICE/$UNIT"
	update_config ".process.args = [\"sleep\", \"1000\"] | .linux.cgroupsPath = \"$SLICE:sd:$CID\""
}

teardown() {
	local ret=0 d units
	teardown_bundle || ret=$?
	# What the generic leak check cannot see: the units and their cgroups (one systemctl:
	# each costs a second in an emulated guest).
	if [ -d /run/systemd/system ]; then
		units=("$UNIT" "isolazi-$CID.scope")
		if systemctl is-active "${units[@]}" 2>/dev/null | grep -qx active; then
			echo "LEAKED: an active unit among ${units[*]}" >&2
			ret=1
			systemctl stop "${units[@]}" >/dev/null 2>&1 || true
		fi
		for d in "$SCOPE_DIR" "/sys/fs/cgroup/system.slice/isolazi-$CID.scope"; do
			if [ -d "$d" ]; then
				echo "LEAKED: cgroup $d" >&2
				ret=1
			fi
		done
	fi
	return $ret
}

# unit_prop UNIT PROPERTY: systemd's value (systemctl talks to systemd's private socket).
unit_prop() {
	systemctl show -P "$2" "$1" 2>/dev/null
}

# unit_show UNIT PROPERTY...: "PROPERTY=value" lines into $props, one systemctl for all.
unit_show() {
	local u="$1" p args=()
	shift
	for p in "$@"; do args+=(-p "$p"); done
	props="$(systemctl show "${args[@]}" "$u")"
}

# has LINE...: every LINE is one of $props.
has() {
	local l
	for l in "$@"; do
		grep -qxF "$l" <<<"$props" || {
			echo "no \"$l\" in: $props" >&2
			return 1
		}
	done
}

# sd ARGS...: the runtime with the systemd driver, stdio on a file (see rt).
sd() {
	rt --systemd-cgroup "$@"
}

sd_start() {
	sd create --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ] || return 1
	record_pid "$CID"
	run -0 runtime --systemd-cgroup start "$CID"
}

# wait_gone UNIT DIR: systemd stopped the unit and removed its cgroup (bounded).
wait_gone() {
	local tries=50
	while [ $tries -gt 0 ]; do
		if [ ! -d "$2" ] && [ "$(unit_prop "$1" ActiveState)" != active ]; then
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "unit $1: $(unit_prop "$1" ActiveState), cgroup $2 still there: $([ -d "$2" ] && echo yes)" >&2
	return 1
}

@test "--systemd-cgroup without systemd: a clear error, nothing left behind" {
	[ ! -d /run/systemd/system ] || skip "systemd runs as init here"
	isolazi_only "the error text"
	update_config '.linux.cgroupsPath = ""'
	sd run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "systemd cgroup driver: cannot connect to the system bus (" "): is systemd running as init?"
	# --cgroup-manager systemd is the same driver
	sd --cgroup-manager systemd create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "cannot connect to the system bus"
	[ -z "$(ls -A "$ROOT")" ]
	run -1 runtime state "$CID"
	[ ! -e "/sys/fs/cgroup/unified/system.slice/isolazi-$CID.scope" ]
	[ ! -e "/sys/fs/cgroup/system.slice/isolazi-$CID.scope" ]
}

@test "a cgroupsPath not in slice:prefix:name form fails naming linux.cgroupsPath, before anything exists" {
	isolazi_only "the error text"
	update_config ".linux.cgroupsPath = \"/isolazi-test/$CID\""
	sd run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.cgroupsPath: expected \"slice:prefix:name\" for the systemd cgroup driver, got \"/isolazi-test/$CID\""
	update_config ".linux.cgroupsPath = \"nope:sd:$CID\""
	sd create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.cgroupsPath: invalid slice name \`nope\`"
	update_config ".linux.cgroupsPath = \"$SLICE:sd:\""
	sd create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "linux.cgroupsPath" "empty"
	[ -z "$(ls -A "$ROOT")" ]
	if [ -d /run/systemd/system ]; then
		[ "$(unit_prop "sd-$CID.scope" LoadState)" != loaded ]
	fi
	[ ! -e "$SCOPE_DIR" ]
}

@test "the default cgroupsPath: isolazi-ID.scope in system.slice, delegated, holding only the container" {
	requires systemd
	update_config '.linux.cgroupsPath = ""'
	sd_start
	pid="$(container_pid)"
	unit="isolazi-$CID.scope"
	[ "$(cat "/proc/$pid/cgroup")" = "0::/system.slice/$unit" ]
	unit_show "$unit" ActiveState ControlGroup Slice Delegate Description
	has ActiveState=active "ControlGroup=/system.slice/$unit" Slice=system.slice Delegate=yes \
		"Description=isolazi container $CID"
	# the placeholder that held the new scope is gone: the init alone is in it
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/cgroup.procs")" = "$pid" ]
	run -0 runtime ps "$CID"
	assert_contains "sleep"
	run -0 runtime --systemd-cgroup delete --force "$CID"
	wait_gone "$unit" "/sys/fs/cgroup/system.slice/$unit"
}

@test "limits land in the scope's files and systemd's properties; update changes both" {
	requires systemd cgroup_v2
	update_config '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 20},
		"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"}}'
	sd_start
	pid="$(container_pid)"
	# a nested slice: isolazi_test.slice holds the scope
	[ "$(cat "/proc/$pid/cgroup")" = "0::/$SLICE/$UNIT" ]
	[ "$(cat "$SCOPE_DIR/memory.max")" = 67108864 ]
	[ "$(cat "$SCOPE_DIR/pids.max")" = 20 ]
	[ "$(cat "$SCOPE_DIR/cpu.max")" = "50000 100000" ]
	[ "$(cat "$SCOPE_DIR/cpu.weight")" = 39 ]
	[ "$(cat "$SCOPE_DIR/cpuset.cpus")" = 0 ]
	unit_show "$UNIT" Slice MemoryMax TasksMax CPUQuotaPerSecUSec CPUQuotaPeriodUSec CPUWeight AllowedCPUs
	has "Slice=$SLICE" MemoryMax=67108864 TasksMax=20 CPUQuotaPerSecUSec=500ms CPUQuotaPeriodUSec=100ms \
		CPUWeight=39 AllowedCPUs=0
	run -0 runtime --systemd-cgroup events --stats "$CID"
	[ "$(jq -r .data.memory.usage.limit <<<"$output")" = 67108864 ]
	[ "$(jq -r .data.pids.limit <<<"$output")" = 20 ]

	run -0 runtime --systemd-cgroup update --memory 134217728 --pids-limit 30 --cpu-quota 25000 "$CID"
	[ "$(cat "$SCOPE_DIR/memory.max")" = 134217728 ]
	[ "$(cat "$SCOPE_DIR/pids.max")" = 30 ]
	[ "$(cat "$SCOPE_DIR/cpu.max")" = "25000 100000" ]
	unit_show "$UNIT" MemoryMax TasksMax CPUQuotaPerSecUSec
	has MemoryMax=134217728 TasksMax=30 CPUQuotaPerSecUSec=250ms
	# a bad update changes neither
	run -1 runtime --systemd-cgroup update --cpuset-cpus 0-x "$CID"
	[ "$(cat "$SCOPE_DIR/memory.max")" = 134217728 ]
	[ "$(unit_prop "$UNIT" MemoryMax)" = 134217728 ]
}

@test "pause and resume freeze the scope; kill empties it and systemd removes it; delete finishes" {
	requires systemd cgroup_v2
	sd_start
	run -0 runtime --systemd-cgroup pause "$CID"
	[ "$(state_field "$CID" status)" = paused ]
	grep -qx "frozen 1" "$SCOPE_DIR/cgroup.events"
	run -0 runtime --systemd-cgroup resume "$CID"
	[ "$(state_field "$CID" status)" = running ]
	grep -qx "frozen 0" "$SCOPE_DIR/cgroup.events"
	run -0 runtime --systemd-cgroup kill "$CID" KILL
	wait_status "$CID" stopped
	# the scope's last process is gone: systemd stops the scope and removes its cgroup
	wait_gone "$UNIT" "$SCOPE_DIR"
	run -0 runtime --systemd-cgroup delete "$CID"
	run -1 runtime state "$CID"
	[ "$(unit_prop "$UNIT" ActiveState)" != active ]
}

@test "a failed start job is reported with its result, and leaves no unit, cgroup, process or state" {
	requires systemd
	isolazi_only "the error text"
	# a slice that requires a service that fails: the scope's start job ends in "dependency"
	mkdir -p /run/systemd/system
	printf '[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/false\n' \
		>/run/systemd/system/isolazi-failing.service
	printf '[Unit]\nDefaultDependencies=no\nRequires=isolazi-failing.service\nAfter=isolazi-failing.service\n' \
		>/run/systemd/system/isolazi_bad.slice
	systemctl daemon-reload
	update_config ".linux.cgroupsPath = \"isolazi_bad.slice:sd:$CID\""
	sd create --bundle "$BUNDLE" "$CID"
	rm -f /run/systemd/system/isolazi-failing.service /run/systemd/system/isolazi_bad.slice
	systemctl daemon-reload
	[ "$status" -ne 0 ]
	assert_contains "systemd cgroup driver: start transient unit \`sd-$CID.scope\`: job dependency"
	[ -z "$(ls -A "$ROOT")" ]
	[ "$(unit_prop "sd-$CID.scope" ActiveState)" != active ]
	[ ! -d "/sys/fs/cgroup/isolazi_bad.slice/sd-$CID.scope" ]
	# no placeholder left in the runtime's place either
	left="$(grep -l "sd-$CID.scope" /proc/[0-9]*/cgroup 2>/dev/null)" || true
	[ -z "$left" ]
}

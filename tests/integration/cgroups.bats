#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# cgroups: placement in linux.cgroupsPath, resources, removal, kill --all.

load helpers

@test "the init process is in cgroupsPath in every hierarchy" {
	set_args sleep 100
	create_container
	pid="$(container_pid)"
	run cat "/proc/$pid/cgroup"
	[ -n "$output" ]
	# every line (v1 controllers, name=systemd, and 0:: on a hybrid host)
	[ -z "$(grep -v ":/$CGROUP_PARENT/$CID\$" <<<"$output")" ]
	for d in $(cgroup_dirs "$CID"); do
		grep -qx "$pid" "$d/cgroup.procs"
	done
	if cgroup_v2; then
		[ "$(cgroup_dirs "$CID")" = "/sys/fs/cgroup/$CGROUP_PARENT/$CID" ]
	else
		[ -d "/sys/fs/cgroup/pids/$CGROUP_PARENT/$CID" ]
		[ -d "/sys/fs/cgroup/memory/$CGROUP_PARENT/$CID" ]
	fi
}

@test "the cgroup is removed on delete" {
	set_args sleep 100
	start_container
	[ -n "$(cgroup_dirs "$CID")" ]
	run -0 runtime delete --force "$CID"
	[ -z "$(cgroup_dirs "$CID")" ]
}

@test "a relative cgroupsPath and no cgroupsPath both work" {
	update_config 'del(.linux.cgroupsPath)'
	set_args payload cgroup
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	if cgroup_v2; then
		assert_contains "0::/"
	else
		assert_contains "pids:/"
	fi
}

@test "resources: pids, memory, cpu" {
	requires cgroup_v1
	update_config '.linux.resources.pids = {"limit": 123}
		| .linux.resources.memory = {"limit": 67108864}
		| .linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
	set_args sleep 100
	create_container
	d="$CGROUP_PARENT/$CID"
	[ "$(cat "/sys/fs/cgroup/pids/$d/pids.max")" = 123 ]
	[ "$(cat "/sys/fs/cgroup/memory/$d/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$d/cpu.shares")" = 512 ]
	[ "$(cat "/sys/fs/cgroup/cpu/$d/cpu.cfs_quota_us")" = 50000 ]
}

@test "resources on cgroup v2: pids, memory, cpu" {
	requires cgroup_v2
	update_config '.linux.resources.pids = {"limit": 123}
		| .linux.resources.memory = {"limit": 67108864}
		| .linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
	set_args sleep 100
	create_container
	d="/sys/fs/cgroup/$CGROUP_PARENT/$CID"
	[ "$(cat "$d/pids.max")" = 123 ]
	[ "$(cat "$d/memory.max")" = 67108864 ]
	# runc's conversion of shares to weight: 1 + (512 - 2) * 9999 / 262142
	[ "$(cat "$d/cpu.weight")" = 20 ]
	[ "$(cat "$d/cpu.max")" = "50000 100000" ]
}

@test "pids.limit is enforced" {
	update_config '.linux.resources.pids = {"limit": 5}'
	set_args sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; echo all-forked'
	run runtime run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "fork"
	[[ "$output" != *all-forked* ]]
}

@test "kill --all reaches a background process without a pid namespace" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sh -c 'sleep 1000 & exec sleep 1001'
	start_container
	for _ in $(seq 30); do
		[ "$(test_processes | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(test_processes | wc -l)" -ge 2 ]
	run -0 runtime kill --all "$CID" KILL
	for _ in $(seq 30); do
		[ -z "$(test_processes)" ] && break
		sleep 0.1
	done
	[ -z "$(test_processes)" ]
	wait_status "$CID" stopped
}

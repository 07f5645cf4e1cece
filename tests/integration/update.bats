#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# update: new limits reach the live cgroup (flags, --resources FILE, --resources -), later
# updates start from the earlier ones, bad input changes nothing.

load helpers

# Pure cgroup v2 (the VM lane) or v1 controllers (v1 and hybrid hosts).
ctl_v2() {
	[ -f /sys/fs/cgroup/cgroup.controllers ]
}

# cg V1_CONTROLLER V1_FILE V2_FILE: a file of this test's container cgroup.
cg() {
	if ctl_v2; then
		cat "/sys/fs/cgroup/$CGROUP_PARENT/$CID/$3"
	else
		cat "/sys/fs/cgroup/$1/$CGROUP_PARENT/$CID/$2"
	fi
}

mem_limit() { cg memory memory.limit_in_bytes memory.max; }
pids_max() { cg pids pids.max pids.max; }
cpuset_cpus() { cg cpuset cpuset.cpus cpuset.cpus; }
# "QUOTA PERIOD" on both
cpu_max() {
	if ctl_v2; then
		cg cpu - cpu.max
	else
		echo "$(cg cpu cpu.cfs_quota_us -) $(cg cpu cpu.cfs_period_us -)"
	fi
}
cpu_weight() { cg cpu cpu.shares cpu.weight; }

setup() {
	setup_bundle
	set_args sleep 100
	update_config '.linux.resources.memory = {"limit": 134217728}
		| .linux.resources.pids = {"limit": 100}
		| .linux.resources.cpu = {"shares": 1024, "quota": 20000, "period": 100000}'
	start_container
}

teardown() {
	teardown_bundle
}

@test "update with flags changes memory, cpu, pids and cpuset live" {
	[ "$(mem_limit)" = 134217728 ]
	[ "$(pids_max)" = 100 ]
	run -0 runtime update --memory 64m --cpu-quota 50000 --cpu-period 200000 --cpu-share 512 \
		--pids-limit 50 --cpuset-cpus 0 "$CID"
	[ -z "$output" ]
	[ "$(mem_limit)" = 67108864 ]
	[ "$(pids_max)" = 50 ]
	[ "$(cpu_max)" = "50000 200000" ]
	[ "$(cpuset_cpus)" = 0 ]
	if ctl_v2; then
		[ "$(cpu_weight)" = 20 ] # runc's shares -> weight conversion of 512
	else
		[ "$(cpu_weight)" = 512 ]
	fi
	# the container keeps running
	[ "$(state_field "$CID" status)" = running ]
}

@test "update --resources - takes containerd's payload on stdin" {
	# what containerd's shim sends (contract sample containerd-update-stdin.json)
	echo '{"memory":{"limit":67108864},"cpu":{"shares":512},"pids":{"limit":100}}' >"$BATS_TEST_TMPDIR/in.json"
	run -0 runtime update --resources - "$CID" <"$BATS_TEST_TMPDIR/in.json"
	[ "$(mem_limit)" = 67108864 ]
	[ "$(pids_max)" = 100 ]
	if ! ctl_v2; then
		[ "$(cpu_weight)" = 512 ]
	fi
}

@test "update --resources FILE takes podman's payload (memory with swap, cpu quota)" {
	echo '{"memory":{"limit":67108864,"swap":134217728}}' >"$BATS_TEST_TMPDIR/mem.json"
	echo '{"cpu":{"quota":50000,"period":100000}}' >"$BATS_TEST_TMPDIR/cpu.json"
	run -0 runtime update --resources="$BATS_TEST_TMPDIR/mem.json" "$CID"
	[ "$(mem_limit)" = 67108864 ]
	if ctl_v2; then
		[ "$(cg - - memory.swap.max)" = 67108864 ] # memory+swap minus memory
	elif [ -f "/sys/fs/cgroup/memory/$CGROUP_PARENT/$CID/memory.memsw.limit_in_bytes" ]; then
		[ "$(cg memory memory.memsw.limit_in_bytes -)" = 134217728 ]
	fi
	run -0 runtime update -r "$BATS_TEST_TMPDIR/cpu.json" "$CID"
	[ "$(cpu_max)" = "50000 100000" ]
}

@test "update raises memory and swap together past the old swap limit" {
	run -0 runtime update --memory 32m --memory-swap 64m "$CID"
	[ "$(mem_limit)" = 33554432 ]
	# both above the old memory+swap: the swap write must go first on v1
	run -0 runtime update --memory 256m --memory-swap 512m "$CID"
	[ "$(mem_limit)" = 268435456 ]
}

@test "a later update starts from the earlier one (quota alone keeps the period)" {
	run -0 runtime update --cpu-period 200000 --cpu-quota 40000 "$CID"
	[ "$(cpu_max)" = "40000 200000" ]
	run -0 runtime update --cpu-quota 60000 "$CID"
	[ "$(cpu_max)" = "60000 200000" ]
	run -0 runtime update --cpu-period 300000 "$CID"
	[ "$(cpu_max)" = "60000 300000" ]
}

@test "update accepts runc's memory units and -1" {
	run -0 runtime update --memory 1g "$CID"
	[ "$(mem_limit)" = 1073741824 ]
	run -0 runtime update --memory 512MiB "$CID"
	[ "$(mem_limit)" = 536870912 ]
	run -0 runtime update --pids-limit -1 "$CID"
	[ "$(pids_max)" = max ]
}

@test "invalid values are refused and change nothing" {
	before="$(mem_limit) $(pids_max) $(cpu_max)"
	run -1 runtime update --memory abc "$CID"
	assert_contains "memory" "abc"
	run -1 runtime update --pids-limit 10 --cpu-quota x "$CID"
	assert_contains "cpu-quota"
	echo '{"memory":{"limit":"lots"}}' >"$BATS_TEST_TMPDIR/bad.json"
	run -1 runtime update --resources "$BATS_TEST_TMPDIR/bad.json" "$CID"
	echo '{"memory":' >"$BATS_TEST_TMPDIR/trunc.json"
	run -1 runtime update --resources "$BATS_TEST_TMPDIR/trunc.json" "$CID"
	run -1 runtime update --resources "$BATS_TEST_TMPDIR/missing.json" "$CID"
	[ "$(mem_limit) $(pids_max) $(cpu_max)" = "$before" ]
}

@test "update names the field and the file when the kernel refuses a value" {
	isolazi_only "error text"
	run -1 runtime update --cpuset-cpus 4096 "$CID"
	assert_contains "cpuset.cpus" "linux.resources.cpu.cpus"
}

@test "update refuses a memory limit below the usage with checkBeforeUpdate" {
	isolazi_only "runtime-spec 1.1 checkBeforeUpdate (runc 1.1 has no such field)"
	before="$(mem_limit)"
	echo '{"memory":{"limit":4096,"checkBeforeUpdate":true}}' >"$BATS_TEST_TMPDIR/c.json"
	run -1 runtime update --resources - "$CID" <"$BATS_TEST_TMPDIR/c.json"
	assert_contains "below the current usage" "linux.resources.memory.limit"
	[ "$(mem_limit)" = "$before" ]
}

@test "linux.resources.unified is refused on cgroup v1 controllers, naming the field" {
	requires cgroup_v1
	echo '{"unified":{"memory.high":"52428800"}}' >"$BATS_TEST_TMPDIR/u.json"
	run -1 runtime update --resources "$BATS_TEST_TMPDIR/u.json" "$CID"
	isolazi_only "error text"
	assert_contains "linux.resources.unified"
}

@test "unified keys are written on cgroup v2" {
	ctl_v2 || skip "requires pure cgroup v2"
	echo '{"unified":{"memory.high":"52428800"}}' >"$BATS_TEST_TMPDIR/u.json"
	run -0 runtime update --resources "$BATS_TEST_TMPDIR/u.json" "$CID"
	[ "$(cg - - memory.high)" = 52428800 ]
}

@test "update: Intel RDT schemas are refused, a stopped container is refused" {
	isolazi_only "runc reports RDT per host support"
	run -1 runtime update --l3-cache-schema "L3:0=f" "$CID"
	assert_contains "Intel RDT"
	run -0 runtime kill "$CID" KILL
	wait_status "$CID" stopped
	run -1 runtime update --memory 64m "$CID"
	assert_contains "container not running"
}

@test "update of an unknown container" {
	run -1 runtime update --memory 64m nosuch
	assert_contains "does not exist"
}

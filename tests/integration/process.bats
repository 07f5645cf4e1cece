#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# process: user, umask, cwd, env, rlimits, oomScoreAdj, capabilities, PATH lookup.

load helpers

@test "uid, gid and additionalGids" {
	update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}'
	set_args payload ids
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "uid=1000 gid=1001 euid=1000 egid=1001 groups=10,20" ]
}

@test "root with no additionalGids has no supplementary groups" {
	set_args payload ids
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "uid=0 gid=0 euid=0 egid=0 groups=" ]
}

@test "umask: given, and 0022 by default" {
	update_config '.process.user.umask = 63'
	set_args payload umask
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = 0077 ]
	update_config 'del(.process.user.umask)'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = 0022 ]
}

@test "cwd" {
	mkdir -p "$BUNDLE/rootfs/work/dir"
	update_config '.process.cwd = "/work/dir"'
	set_args payload cwd
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = /work/dir ]
}

@test "env is exactly process.env (plus HOME)" {
	update_config '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="]'
	set_args payload env
	FROM_HOST=leak run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$(grep -v '^HOME=' <<<"$output" | sort)" = "$(printf '%s\n' EMPTY= 'FOO=bar baz' PATH=/bin:/usr/bin)" ]
	[[ "$output" != *FROM_HOST* ]]
	# HOME is set from /etc/passwd when the config does not set it
	assert_contains "HOME=/root"
}

@test "rlimits" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}, {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400}]'
	set_args payload rlimits
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "RLIMIT_NOFILE 512 1000" "RLIMIT_CORE 0 0" "RLIMIT_NPROC 300 400"
}

@test "oomScoreAdj" {
	update_config '.process.oomScoreAdj = 321'
	set_args payload oom_score_adj
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = 321 ]
}

@test "capabilities of the default spec" {
	set_args payload caps
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29); no ambient ones, as the
	# kernel raises an ambient capability only when it is also inheritable (capabilities(7))
	assert_contains "CapInh:	0000000000000000" "CapPrm:	0000000020000420" "CapEff:	0000000020000420" \
		"CapBnd:	0000000020000420" "CapAmb:	0000000000000000"
}

@test "capabilities: an empty set drops everything" {
	update_config '.process.capabilities = {"bounding": [], "effective": [], "permitted": []}'
	set_args payload caps
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "CapPrm:	0000000000000000" "CapEff:	0000000000000000" "CapBnd:	0000000000000000"
}

@test "noNewPrivileges" {
	set_args grep NoNewPrivs /proc/self/status
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[[ "$output" == *"	1" ]]
	update_config '.process.noNewPrivileges = false'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[[ "$output" == *"	0" ]]
}

@test "args[0] is looked up on the container's PATH" {
	mkdir -p "$BUNDLE/rootfs/opt/tools"
	cp "$BUNDLE/rootfs/bin/payload" "$BUNDLE/rootfs/opt/tools/mytool"
	update_config '.process.env = ["PATH=/nowhere:/opt/tools"]'
	set_args mytool pid
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "pid=1 ppid=0" ]
}

@test "signals: nothing blocked in the container" {
	set_args payload signals
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "blocked=0000000000000000"
}

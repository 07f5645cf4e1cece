#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# spec: the default config.json.

load helpers

setup() {
	requires root
	[ -x "$RUNTIME" ] || skip "runtime not built: $RUNTIME"
	DIR="$BATS_TEST_TMPDIR/spec"
	mkdir -p "$DIR"
}

teardown() {
	:
}

@test "spec writes a valid config.json" {
	cd "$DIR"
	run -0 runtime_bare spec
	jq -e . config.json >/dev/null
	jq -e '.ociVersion | type == "string"' config.json
	jq -e '.process.args | type == "array" and length > 0' config.json
	[ "$(jq -r .root.path config.json)" = rootfs ]
	jq -e '[.linux.namespaces[].type] | contains(["pid", "network", "ipc", "uts", "mount"])' config.json
	jq -e '[.mounts[].destination] | contains(["/proc", "/dev", "/sys"])' config.json
	jq -e '.linux.maskedPaths | length > 0' config.json
}

@test "spec refuses to overwrite an existing config.json" {
	cd "$DIR"
	echo '{"keep": true}' >config.json
	run -1 runtime_bare spec
	assert_contains "config.json" "exist"
	[ "$(jq -r .keep config.json)" = true ]
}

@test "spec --bundle writes into the bundle" {
	run -0 runtime_bare spec --bundle "$DIR"
	jq -e . "$DIR/config.json" >/dev/null
}

@test "spec --rootless has a user namespace and id mappings" {
	cd "$DIR"
	run -0 runtime_bare spec --rootless
	jq -e '[.linux.namespaces[].type] | index("user") != null' config.json
	jq -e '[.linux.namespaces[].type] | index("network") == null' config.json
	jq -e '.linux.uidMappings | length == 1' config.json
	jq -e '.linux.gidMappings | length == 1' config.json
}

@test "spec output is what runc writes (bar the defaults isolazi chose)" {
	isolazi_only "compares isolazi's spec to runc's"
	command -v runc >/dev/null || skip "runc not installed"
	cd "$DIR"
	run -0 runtime_bare spec
	mkdir runc && (cd runc && runc spec)
	# isolazi adds a cgroup namespace to the default (as runc 1.2 and crun do)
	for f in .process.args .root.path '[.mounts[].destination]' '[.linux.namespaces[].type | select(. != "cgroup")]' \
		.linux.maskedPaths .linux.readonlyPaths; do
		echo "$f: isolazi $(jq -c "$f" config.json) runc $(jq -c "$f" runc/config.json)" >&2
		[ "$(jq -c "$f" config.json)" = "$(jq -c "$f" runc/config.json)" ]
	done
}

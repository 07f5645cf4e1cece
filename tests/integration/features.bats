#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# features: the runtime-spec features document (features.md), as containerd >= 1.7 reads it.

load helpers

@test "features prints a features document" {
	run -0 runtime features
	jq -e . <<<"$output" >/dev/null
	# isolazi indents by 2 like its other JSON (runc by 4)
	if [ "$RUNTIME_NAME" = isolazi ]; then
		[ "$(sed -n 2p <<<"$output" | cut -c1-3)" = '  "' ]
	fi
	[ "$(jq -r .ociVersionMin <<<"$output")" = 1.0.0 ]
	[ "$(jq -r '.hooks | sort | join(",")' <<<"$output")" = \
		"createContainer,createRuntime,poststart,poststop,prestart,startContainer" ]
	for opt in ro rw nosuid nodev noexec bind rbind rprivate rslave rshared rro; do
		jq -e --arg o "$opt" '.mountOptions | index($o) != null' <<<"$output" >/dev/null
	done
}

@test "features: namespaces, capabilities and seccomp match this host" {
	run -0 runtime features
	doc="$output"
	for ns in cgroup ipc mount network pid uts; do
		jq -e --arg n "$ns" '.linux.namespaces | index($n) != null' <<<"$doc" >/dev/null
	done
	# every capability of this kernel, by its spec name
	[ "$(jq '.linux.capabilities | length' <<<"$doc")" -eq $(($(cat /proc/sys/kernel/cap_last_cap) + 1)) ]
	jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null and index("CAP_CHOWN") != null' <<<"$doc" >/dev/null
	jq -e '.linux.seccomp.enabled == true' <<<"$doc" >/dev/null
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null and index("SCMP_ACT_ALLOW") != null' \
		<<<"$doc" >/dev/null
	jq -e '.linux.seccomp.operators | length == 7' <<<"$doc" >/dev/null
	if [ "$(uname -m)" = x86_64 ]; then
		jq -e '.linux.seccomp.archs | index("SCMP_ARCH_X86_64") != null' <<<"$doc" >/dev/null
	fi
	jq -e '.linux.cgroup.v1 == true and .linux.cgroup.v2 == true' <<<"$doc" >/dev/null
}

@test "features tells the truth about what isolazi has and lacks, and names its version" {
	isolazi_only "isolazi's own answers and annotations"
	run -0 runtime features
	doc="$output"
	[ "$(jq -r .ociVersionMax <<<"$doc")" = "$(runtime --version | sed -n 's/^spec: //p')" ]
	jq -e '.linux.cgroup.systemd == true and .linux.cgroup.systemdUser == true and .linux.cgroup.rdma == true' <<<"$doc" >/dev/null
	jq -e '.linux.intelRdt.enabled == false' <<<"$doc" >/dev/null
	jq -e '.potentiallyUnsafeConfigAnnotations == []' <<<"$doc" >/dev/null
	jq -e '.linux.seccomp.knownFlags | index("SECCOMP_FILTER_FLAG_LOG") != null' <<<"$doc" >/dev/null
	# supported flags are known flags
	jq -e '.linux.seccomp as $s | $s.supportedFlags - $s.knownFlags == []' <<<"$doc" >/dev/null
	[ "$(jq -r '.annotations["io.github.isolazi.version"]' <<<"$doc")" = \
		"$(runtime --version | sed -n 's/^isolazi version //p')" ]
	[ "$(jq -r '.annotations["io.github.isolazi.commit"]' <<<"$doc")" = \
		"$(runtime --version | sed -n 's/^commit: //p')" ]
}

@test "features has every key runc 1.1 prints" {
	isolazi_only "compares isolazi with runc"
	command -v runc >/dev/null || skip "runc is not installed"
	keys='[paths | select(all(.[]; type == "string"))] | map(join(".")) | map(select(startswith("annotations.") | not)) | .[]'
	runc features | jq -r "$keys" | sort >"$BATS_TEST_TMPDIR/runc"
	runtime features | jq -r "$keys" | sort >"$BATS_TEST_TMPDIR/isolazi"
	missing="$(comm -23 "$BATS_TEST_TMPDIR/runc" "$BATS_TEST_TMPDIR/isolazi")"
	echo "missing: $missing" >&2
	[ -z "$missing" ]
}

@test "features takes no arguments" {
	run runtime features extra
	[ "$status" -ne 0 ]
}

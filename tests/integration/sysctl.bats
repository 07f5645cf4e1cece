#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# linux.sysctl: set in the container's namespaces, not on the host.

load helpers

@test "net.ipv4.ip_forward in a new network namespace" {
	host="$(cat /proc/sys/net/ipv4/ip_forward)"
	want=$((1 - host))
	update_config ".linux.sysctl = {\"net.ipv4.ip_forward\": \"$want\"}"
	set_args payload sysctl net.ipv4.ip_forward
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$want" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host" ]
}

@test "several sysctls, in net and ipc namespaces" {
	update_config '.linux.sysctl = {"net.core.somaxconn": "1234", "kernel.msgmax": "4321"}'
	set_args sh -c 'payload sysctl net.core.somaxconn; payload sysctl kernel.msgmax'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	[ "$output" = "$(printf '1234\n4321')" ]
	[ "$(cat /proc/sys/net/core/somaxconn)" != 1234 ]
}

@test "a net sysctl without a network namespace is refused" {
	update_config '.linux.namespaces |= map(select(.type != "network")) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	set_args true
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "net.ipv4.ip_forward"
}

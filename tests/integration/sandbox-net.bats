#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm sandboxes' network and warm pool: the policy (a blocked connection really fails,
# an allowed one works; sandboxes cannot reach each other), port forwards at create and live,
# and the pool (create takes a warm VM, a refill brings the pool back to its target, drain).
# "Internet" is reached as the host through QEMU's user-mode gateway (10.0.2.2): this host has
# no other network.

load sandbox-common

# A web server on the host, on 127.0.0.1 (what the guest reaches as 10.0.2.2).
host_server() {
	HOST_PORT="$(free_port)"
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo host-says-hi >"$BATS_TEST_TMPDIR/www/index.html"
	python3 -m http.server "$HOST_PORT" --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" >/dev/null 2>&1 &
	HOST_SERVER=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HOST_PORT/" && break; sleep 0.1; done
}

# fetch SANDBOX URL: python3 in the guest, 5 s timeout; prints the body or the error.
fetch() {
	sb exec "$1" python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "$2"
}

teardown() {
	[ -n "${HOST_SERVER:-}" ] && kill "$HOST_SERVER" 2>/dev/null
	sb_teardown
}

@test "sandbox policy: none blocks a connection to the host, internet allows it, and back" {
	host_server
	sb create --preset python n1
	[ "$(sb policy n1)" = "network: none" ]
	run fetch n1 "http://10.0.2.2:$HOST_PORT/"
	[ "$status" -ne 0 ]
	assert_contains "URLError"
	run sb policy --network internet n1
	[ "$status" -eq 0 ]
	assert_contains 'sandbox `n1` restarted with network `internet`'
	run fetch n1 "http://10.0.2.2:$HOST_PORT/"
	[ "$status" -eq 0 ]
	[ "$output" = host-says-hi ]
	[ "$(sb exec n1 cat /etc/resolv.conf)" = "nameserver 10.0.2.3" ]
	sb policy --network none n1
	run fetch n1 "http://10.0.2.2:$HOST_PORT/"
	[ "$status" -ne 0 ]
	run sb policy --network sideways n1
	[ "$status" -ne 0 ]
	assert_contains 'invalid network policy `sideways`'
}

@test "sandbox port-forward: at create and live, to a guest server; removed forwards stop; sandboxes cannot reach each other" {
	p1="$(free_port)"
	sb create --preset python -p "$p1:8000" w1
	sb exec w1 sh -c 'mkdir -p /srv && echo guest-says-hi > /srv/index.html && cd /srv && python3 -m http.server 8000 >/dev/null 2>&1 &'
	for _ in $(seq 100); do curl -s -m 2 -o /dev/null "http://127.0.0.1:$p1/" && break; sleep 0.2; done
	[ "$(curl -s -m 5 "http://127.0.0.1:$p1/")" = guest-says-hi ]
	# live: a second forward, listed, then removed
	p2="$(free_port)"
	run sb port-forward w1 "$p2:8000"
	[ "$status" -eq 0 ]
	[ "$(curl -s -m 5 "http://127.0.0.1:$p2/")" = guest-says-hi ]
	run sb port-forward --list w1
	assert_contains "$p1:8000" "$p2:8000"
	run sb port-forward w1 "$p2:9000"
	[ "$status" -ne 0 ]
	assert_contains "already forwards host port $p2"
	run sb port-forward --remove "$p2" w1
	[ "$status" -eq 0 ]
	run curl -s -m 3 "http://127.0.0.1:$p2/"
	[ "$status" -ne 0 ]
	run sb port-forward --remove "$p2" w1
	[ "$status" -ne 0 ]
	assert_contains "does not forward host port $p2"
	# a host port that is taken is refused by QEMU, with its reason
	run sb port-forward w1 "$p1:8001"
	[ "$status" -ne 0 ]

	# another sandbox (policy none) reaches neither the first one's forward nor its address
	sb create --preset python w2
	run fetch w2 "http://10.0.2.2:$p1/"
	[ "$status" -ne 0 ]
	run fetch w2 "http://10.0.2.15:8000/"
	[ "$status" -ne 0 ]
	# the forwards are in the state: after a restart they are back
	sb destroy w2
	sb stop w1
	sb start w1
	sb exec w1 sh -c 'cd /srv && python3 -m http.server 8000 >/dev/null 2>&1 &'
	for _ in $(seq 100); do curl -s -m 2 -o /dev/null "http://127.0.0.1:$p1/" && break; sleep 0.2; done
	[ "$(curl -s -m 5 "http://127.0.0.1:$p1/")" = guest-says-hi ]
}

@test "sandbox pool: create takes a warm VM, the pool refills to its target, drain empties it" {
	run sb pool status
	[ "$(echo "$output" | jq -r .configured)" = false ]
	run sb pool fill
	[ "$status" -ne 0 ]
	assert_contains "no pool is configured"
	run sb pool config --preset python --min 3 --target 3 --max 3 --memory-budget 512
	[ "$status" -ne 0 ]
	assert_contains "exceed the memory budget of 512 MiB"
	run sb pool config --preset python --target 1 --max 1 --memory-budget 512
	[ "$status" -eq 0 ]
	run sb pool fill
	[ "$status" -eq 0 ]
	[ "$output" = "booted 1" ]
	[ "$(sb pool status | jq -r .ready)" = 1 ]
	# a second fill has nothing to do: the target is met
	[ "$(sb pool fill)" = "booted 0" ]

	run sb create --preset python p1
	[ "$status" -eq 0 ]
	[ "$output" = "p1 (from the warm pool)" ]
	[ "$(sb exec p1 python3 -c 'print(6 * 7)')" = 42 ]
	[ "$(sb info p1 | jq -r .status)" = running ]
	# the pool refills in the background, back to its target
	for _ in $(seq 120); do [ "$(sb pool status | jq -r .ready)" = 1 ] && break; sleep 0.5; done
	[ "$(sb pool status | jq -r .ready)" = 1 ]
	# a sandbox with another policy does not take a warm VM
	run sb pool drain
	[ "$output" = "removed 1" ]
	[ "$(sb pool status | jq -r .ready)" = 0 ]
	[ -z "$(ls -A "$SBROOT/pool")" ]
	# what the pool took is an ordinary sandbox: snapshots and destroy work
	run sb snapshot p1
	[ "$status" -eq 0 ]
	sb destroy p1
	[ -z "$(sb_qemus)" ]
}

# guest_server SANDBOX TEXT: python's http.server on port 8000 in the guest, serving TEXT.
guest_server() {
	sb exec "$1" sh -c "mkdir -p /srv && echo $2 > /srv/index.html && cd /srv && python3 -m http.server 8000 >/dev/null 2>&1 &"
	for _ in $(seq 100); do sb exec "$1" python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8000/", timeout=2)' 2>/dev/null && break; sleep 0.2; done
}

@test "sandbox policy --allow-to: a link lets one sandbox reach another's port, only that one, until --deny-to" {
	sb create --preset python lb
	guest_server lb b-says-hi
	sb create --preset python la
	# no link: nothing of lb is reachable from la
	run fetch la "http://10.0.2.100:8000/"
	[ "$status" -ne 0 ]
	run sb policy --allow-to lb:8000 la
	[ "$status" -eq 0 ]
	assert_contains "lb:8000 at 10.0.2.100:8000" 'sandbox `la` restarted with a link to `lb`'
	run fetch la "http://10.0.2.100:8000/"
	[ "$status" -eq 0 ]
	[ "$output" = b-says-hi ]
	# only the allowed port: another port of lb is not there
	sb exec lb sh -c 'cd /srv && python3 -m http.server 8001 >/dev/null 2>&1 &'
	run fetch la "http://10.0.2.100:8001/"
	[ "$status" -ne 0 ]
	# the direction is la → lb only
	run fetch lb "http://10.0.2.100:8000/"
	[ "$status" -ne 0 ]
	run sb policy la
	assert_contains "network: none" "allow-to: lb:8000 at 10.0.2.100:8000"
	[ "$(sb info la | jq -r '.allow[0].to')" = lb ]
	# allowing again changes nothing and restarts nothing
	run sb policy --allow-to lb:8000 la
	[ "$status" -eq 0 ]
	[[ "$output" != *restarted* ]]
	# saved: after a restart of la the link is back
	sb stop la
	sb start la
	run fetch la "http://10.0.2.100:8000/"
	[ "$output" = b-says-hi ]
	# --deny-to takes effect at once
	run sb policy --deny-to lb:8000 la
	[ "$status" -eq 0 ]
	run fetch la "http://10.0.2.100:8000/"
	[ "$status" -ne 0 ]
	run sb policy --deny-to lb:8000 la
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `la` is not allowed to connect to `lb` port 8000'
	run sb policy --allow-to lb la
	[ "$status" -ne 0 ]
	assert_contains "expected SANDBOX:PORT"
	run sb policy --allow-to la:80 la
	[ "$status" -ne 0 ]
	assert_contains "cannot be linked to itself"
}

@test "sandbox policy: two sandboxes with internet do not reach each other without a link, not through the host" {
	sb create --preset python --network internet ib
	guest_server ib ib-says-hi
	sb create --preset python --network internet ia
	run fetch ia "http://10.0.2.100:8000/"
	[ "$status" -ne 0 ]
	# a link made and removed leaves ib's host side exposed (on 127.0.0.2, not 127.0.0.1)
	sb policy --allow-to ib:8000 ia
	[ "$(fetch ia "http://10.0.2.100:8000/")" = ib-says-hi ]
	sb policy --deny-to ib:8000 ia
	ports="$(ss -Hltn 'src 127.0.0.2' | awk '{print $4}' | sed 's/.*://')"
	[ -n "$ports" ]
	[ -z "$(ss -Hltn 'src 127.0.0.1' | awk '{print $4}' | sed 's/.*://' | grep -Fx -f <(echo "$ports"))" ]
	for p in $ports; do
		# the host is 10.0.2.2, its 127.0.0.1: ib's exposed port is not there
		run fetch ia "http://10.0.2.2:$p/"
		[ "$status" -ne 0 ]
	done
	run fetch ia "http://10.0.2.100:8000/"
	[ "$status" -ne 0 ]
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm's host directory shares (src/vm/share.h): a bind mount of a directory is a FUSE
# mount in the guest whose requests the monitor's share server answers from the directory.
# Boots are slow under TCG, so one VM does many checks: reads and writes both ways, ownership,
# a large file, a long listing, a read-only share, nesting in both directions, symlinks that
# point outside the share, exec, fds the container must not see, and the server's lifetime.

load vm-helpers

setup() {
	vm_setup
	H="$BATS_TEST_TMPDIR/host"
	mkdir -p "$H"
}

teardown() {
	local ret=0 s
	vm_teardown || ret=$?
	s="$(share_servers)"
	if [ -n "$s" ]; then
		echo "LEAKED SHARE SERVER: $s" >&2
		# shellcheck disable=SC2086 # pids
		kill -9 $s 2>/dev/null || true
		ret=1
	fi
	return $ret
}

# The share servers of this test: processes named isolazi-vm-fs (forked by the monitor, so
# their command line is the runtime's and names this test's --root).
share_servers() {
	local p
	[ -n "${ROOT:-}" ] || return 0
	for p in $(pgrep -x isolazi-vm-fs || true); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$ROOT "; then
			echo "$p"
		fi
	done
}

# add_mount DEST TYPE SOURCE OPTIONS-JSON
add_mount() {
	update_config ".mounts += [{\"destination\": \"$1\", \"type\": \"$2\", \"source\": \"$3\", \"options\": $4}]"
}

@test "vm-shares: a host directory read and written from the guest, ro, nested, symlinks, exec, nothing left" {
	mkdir -p "$H/rw/many" "$H/ro" "$H/sub" "$H/rw/rmdir-me"
	echo from-host >"$H/rw/hello.txt"
	echo keep >"$H/ro/keep.txt"
	echo in-sub >"$H/sub/subfile"
	echo old >"$H/rw/delete-me"
	echo old >"$H/rw/rename-me"
	for i in $(seq 1 300); do : >"$H/rw/many/file-$i"; done
	head -c 3000000 /dev/urandom >"$H/rw/big.bin"
	# symlinks the guest follows in its own root: /etc is the guest's, a host path is nowhere
	ln -s /etc "$H/rw/etclink"
	mkdir -p "$BATS_TEST_TMPDIR/outside"
	echo host-secret >"$BATS_TEST_TMPDIR/outside/secret"
	ln -s "$BATS_TEST_TMPDIR/outside/secret" "$H/rw/outlink"
	chown -R 1000:1000 "$H/rw"

	add_mount /data bind "$H/rw" '["rbind"]'
	add_mount /data/tmpmnt tmpfs tmpfs '["nosuid"]'
	add_mount /mnt tmpfs tmpfs '[]'
	add_mount /mnt/sub none "$H/sub" '["rbind", "ro"]'
	add_mount /ro bind "$H/ro" '["bind", "ro"]'
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	set_args sh -c 'echo up; while :; do sleep 1; done'

	rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$CID"
	[ "$status" -eq 0 ]
	record_pid "$CID"
	monitor="$(cat "$BATS_TEST_TMPDIR/pid")"
	# one share server, a child of the monitor, holding none of the monitor's sockets
	srv="$(share_servers)"
	[ -n "$srv" ] && [ "$(echo "$srv" | wc -l)" -eq 1 ]
	[ "$(awk '{print $4}' "/proc/$srv/stat")" = "$monitor" ]
	run ls -l "/proc/$srv/fd"
	[[ "$output" != *"$ROOT"* ]]
	run runtime start "$CID"
	[ "$status" -eq 0 ]

	# reads, then every kind of change, as the container's user
	run runtime exec --user 1000:1000 "$CID" sh -c '
		set -e
		cat /data/hello.txt
		echo guest-new >/data/new.txt
		echo appended >>/data/hello.txt
		mv /data/rename-me /data/renamed
		mkdir /data/newdir
		echo deep >/data/newdir/deep.txt
		rm /data/delete-me
		rmdir /data/rmdir-me
		echo in-tmpfs >/data/tmpmnt/only-in-guest
		cat /mnt/sub/subfile
		grep -c " /data fuse " /proc/mounts
		echo done'
	[ "$status" -eq 0 ]
	assert_contains from-host in-sub "done"
	[ "$(cat "$H/rw/new.txt")" = guest-new ]
	[ "$(stat -c %u:%g "$H/rw/new.txt")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$H/rw/newdir")" = 1000:1000 ]
	[ "$(cat "$H/rw/hello.txt")" = "$(printf 'from-host\nappended')" ]
	[ "$(cat "$H/rw/renamed")" = old ]
	[ ! -e "$H/rw/rename-me" ]
	[ "$(cat "$H/rw/newdir/deep.txt")" = deep ]
	[ ! -e "$H/rw/delete-me" ]
	[ ! -e "$H/rw/rmdir-me" ]
	# the tmpfs nested in the share hides what is written there from the host
	[ -d "$H/rw/tmpmnt" ] && [ ! -e "$H/rw/tmpmnt/only-in-guest" ]
	# and the host's later writes are seen by the guest
	echo host-later >"$H/rw/later.txt"
	run runtime exec "$CID" cat /data/later.txt
	[ "$status" -eq 0 ] && [ "$output" = host-later ]

	# a large file both ways: same digest
	want="$(sha256sum <"$H/rw/big.bin" | cut -d' ' -f1)"
	run runtime exec --user 1000:1000 "$CID" sh -c 'sha256sum </data/big.bin; cp /data/big.bin /data/big-copy.bin'
	[ "$status" -eq 0 ]
	assert_contains "$want"
	[ "$(sha256sum <"$H/rw/big-copy.bin" | cut -d' ' -f1)" = "$want" ]

	# a listing of many entries matches the host's
	run runtime exec "$CID" sh -c 'ls /data/many | sort'
	[ "$status" -eq 0 ]
	[ "$output" = "$(ls "$H/rw/many" | LC_ALL=C sort)" ]
	[ "$(echo "$output" | wc -l)" -eq 300 ]

	# read-only: refused with EROFS, nothing changed on the host
	run runtime exec "$CID" sh -c 'cat /ro/keep.txt; echo x >/ro/keep.txt; echo status=$?; touch /ro/new 2>&1; echo status=$?'
	assert_contains keep "Read-only file system" status=1
	[ "$(cat "$H/ro/keep.txt")" = keep ]
	[ ! -e "$H/ro/new" ]
	run runtime exec "$CID" sh -c 'echo x >/mnt/sub/subfile'
	[ "$status" -ne 0 ]
	[ "$(cat "$H/sub/subfile")" = in-sub ]

	# symlinks resolve in the guest: /etc is the guest's (the host's debian_version is not
	# there), and a host path outside the share is not reachable
	[ -e /etc/debian_version ]
	run runtime exec "$CID" sh -c 'test -e /data/etclink/passwd && echo guest-etc; test -e /data/etclink/debian_version && echo HOST-ETC; cat /data/outlink 2>&1; true'
	assert_contains guest-etc
	[[ "$output" != *HOST-ETC* ]]
	[[ "$output" != *host-secret* ]]

	# the container's processes see no FUSE device and no share port
	run runtime exec "$CID" /bin/payload fds
	[ "$status" -eq 0 ]
	[[ "$output" != *fuse* ]]
	[[ "$output" != *vport* ]]

	run runtime kill "$CID" KILL
	[ "$status" -eq 0 ]
	wait_status "$CID" stopped 100
	run runtime delete "$CID"
	[ "$status" -eq 0 ]
	[ -z "$(share_servers)" ]
	[ -z "$(vm_qemus)" ]
	run alive "$monitor"
	[ "$status" -ne 0 ]
}

@test "vm-shares: run with a share: the workload's writes are on the host when run returns" {
	mkdir -p "$H/out"
	add_mount /out bind "$H/out" '["rbind"]'
	set_args sh -c 'for i in 1 2 3; do echo line-$i >>/out/log; done; ls /out'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -eq 0 ]
	assert_contains log
	[ "$(cat "$H/out/log")" = "$(printf 'line-1\nline-2\nline-3')" ]
	[ -z "$(ls -A "$ROOT")" ]
	[ -z "$(share_servers)" ]
}

@test "vm-shares: a bind mount whose source does not exist fails create, naming it, leaving nothing" {
	add_mount /data bind "$H/missing" '["rbind"]'
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "mounts[" ".source" "$H/missing" "no such file or directory"
	[ -z "$(ls -A "$ROOT")" ]
	[ -z "$(vm_qemus)" ]
	[ -z "$(share_servers)" ]
}

@test "vm-shares: a share the guest cannot mount (its destination is a file) fails create, naming the mount, leaving nothing" {
	mkdir -p "$H/d"
	echo a-file >"$BUNDLE/rootfs/afile"
	n="$(jq '.mounts | length' "$BUNDLE/config.json")"
	add_mount /afile bind "$H/d" '["rbind"]'
	rt create --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "mounts[$n]" "mount the share on \`/afile\`" "not a directory"
	[ -z "$(ls -A "$ROOT")" ]
	[ -z "$(vm_qemus)" ]
	[ -z "$(share_servers)" ]
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Idmapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP): mounts[].uidMappings/gidMappings and the
# idmap/ridmap options.  A file owned by `containerID` on disk shows as `hostID` (runc 1.2's
# reading of the spec).  runc 1.1.5 has no idmapped mounts.

load helpers

setup() {
	setup_bundle
	isolazi_only "runc 1.1.5 does not support idmapped mounts"
	SRC="$BATS_TEST_TMPDIR/src"
	mkdir -p "$SRC/sub"
	touch "$SRC/a" "$SRC/b"
	chown 1000:1000 "$SRC/a"
	chown 1001:1002 "$SRC/b"
	chmod o+x "$BATS_TEST_TMPDIR"
}

idmap_mount() { # DEST OPTIONS-JSON UIDMAPS-JSON GIDMAPS-JSON
	update_config '.mounts += [{"destination": "'"$1"'", "type": "bind", "source": "'"$SRC"'",
		"options": '"$2"', "uidMappings": '"$3"', "gidMappings": '"$4"'}]'
}

@test "idmap: without a user namespace, on-disk ids show as the mapped host ids" {
	idmap_mount /m '["bind"]' '[{"containerID": 1000, "hostID": 5000, "size": 10}]' \
		'[{"containerID": 1000, "hostID": 6000, "size": 10}]'
	set_args sh -c 'stat -c %n=%u:%g /m/a /m/b'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "/m/a=5000:6000" "/m/b=5001:6002"
	# The source itself is untouched.
	[ "$(stat -c %u:%g "$SRC/a")" = 1000:1000 ]
}

@test "idmap: in a user namespace, host uid 1000 shows as the container's root" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	d="$BUNDLE"
	while [ "$d" != / ]; do chmod o+x "$d"; d="$(dirname "$d")"; done
	idmap_mount /m '["bind"]' '[{"containerID": 1000, "hostID": 100000, "size": 2}]' \
		'[{"containerID": 1000, "hostID": 100000, "size": 3}]'
	chown 1000:1000 "$SRC"
	set_args sh -c 'stat -c %n=%u:%g /m/a /m/b; touch /m/new && stat -c %n=%u:%g /m/new'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	assert_contains "/m/a=0:0" "/m/b=1:2" "/m/new=0:0"
	# Written through the idmapped mount as the container's root: host uid 1000 on disk.
	[ "$(stat -c %u:%g "$SRC/new")" = 1000:1000 ]
}

@test "idmap: the idmap option takes the container's mappings" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	d="$BUNDLE"
	while [ "$d" != / ]; do chmod o+x "$d"; d="$(dirname "$d")"; done
	update_config '.mounts += [{"destination": "/m", "type": "bind", "source": "'"$SRC"'", "options": ["bind", "idmap"]},
		{"destination": "/plain", "type": "bind", "source": "'"$SRC"'", "options": ["bind"]}]'
	set_args sh -c 'stat -c %n=%u:%g /m/a /plain/a'
	run -0 runtime run --bundle "$BUNDLE" "$CID"
	# On disk 1000 -> container 1000 through the container's own mapping; a plain bind shows
	# the host's 1000 unmapped in the container's namespace (the overflow id).
	assert_contains "/m/a=1000:1000" "/plain/a=$(cat /proc/sys/kernel/overflowuid):$(cat /proc/sys/kernel/overflowgid)"
}

@test "idmap: ridmap maps submounts too, idmap only the top" {
	mkdir -p "$BATS_TEST_TMPDIR/inner"
	touch "$BATS_TEST_TMPDIR/inner/c"
	chown 1000:1000 "$BATS_TEST_TMPDIR/inner/c"
	mount --bind "$BATS_TEST_TMPDIR/inner" "$SRC/sub"
	idmap_mount /r '["rbind", "ridmap"]' '[{"containerID": 1000, "hostID": 7000, "size": 1}]' \
		'[{"containerID": 1000, "hostID": 7000, "size": 1}]'
	idmap_mount /i '["rbind", "idmap"]' '[{"containerID": 1000, "hostID": 7000, "size": 1}]' \
		'[{"containerID": 1000, "hostID": 7000, "size": 1}]'
	set_args sh -c 'stat -c %n=%u /r/a /r/sub/c /i/a /i/sub/c'
	run runtime run --bundle "$BUNDLE" "$CID"
	umount "$SRC/sub"
	[ "$status" -eq 0 ]
	assert_contains "/r/a=7000" "/r/sub/c=7000" "/i/a=7000" "/i/sub/c=1000"
}

@test "idmap: an idmapped tmpfs is refused with the JSON path" {
	update_config '.mounts += [{"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
		"uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "mounts[" "idmapped mounts are only supported for bind mounts"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "idmap: a filesystem without idmap support gives a clear error and leaves nothing" {
	# procfs has no FS_ALLOW_IDMAP.
	update_config '.mounts += [{"destination": "/m", "type": "bind", "source": "/proc/sys", "options": ["bind"],
		"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "mount \`/proc/sys\` on \`/m\`" "idmapped mounts are not supported by this filesystem or kernel"
	[ -z "$(ls -A "$ROOT")" ]
}

@test "idmap: overlapping mount mappings are refused with the JSON path" {
	idmap_mount /m '["bind"]' '[{"containerID": 0, "hostID": 1000, "size": 10}, {"containerID": 5, "hostID": 3000, "size": 1}]' \
		'[{"containerID": 0, "hostID": 1000, "size": 1}]'
	rt run --bundle "$BUNDLE" "$CID"
	[ "$status" -ne 0 ]
	assert_contains "mounts[" "].uidMappings[1]: containerID range overlaps"
	[ -z "$(ls -A "$ROOT")" ]
}

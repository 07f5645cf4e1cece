#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-pull end to end: Debian's docker-registry on 127.0.0.1 (anonymous, and with htpasswd
# Basic auth), images built by the tests (contrib/mkimage.sh, mkfixture.py, pushed by skopeo),
# bundles run by `isolazi run`.  Every test has its own store; tests that damage a registry
# start their own.

load helpers
load registry
load images

ISOLAZI_PULL="$BUILDDIR/src/isolazi-pull/isolazi-pull"
TLS=(--tls-verify=false)

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "requires root"
	[ -x "$ISOLAZI_PULL" ] || skip "isolazi-pull not built: $ISOLAZI_PULL"
	for t in docker-registry skopeo umoci python3 zstd htpasswd openssl; do
		command -v "$t" >/dev/null || skip "$t not installed (contrib/install-deps.sh)"
	done
	fixtures_build
	reg_start "$BATS_FILE_TMPDIR/registry"
	reg_push_busybox isolazi/busybox:latest oci
	reg_push_busybox isolazi/busybox-v2s2:latest v2s2
	for f in whiteouts multiarch zstd shared-a shared-b symlink-escape hardlink-escape dotdot; do
		fixture_push "$f"
	done
	BUSYBOX="$REG_HOST/isolazi/busybox:latest"
	export BUSYBOX
}

teardown_file() {
	reg_stop "$BATS_FILE_TMPDIR/registry"
}

setup() {
	setup_bundle
	STORE="$BATS_TEST_TMPDIR/store"
	# The bundle isolazi-pull makes; helpers' leak check looks for mounts under BUNDLE2.
	PB="$BATS_TEST_TMPDIR/pb"
	BUNDLE2="$PB"
	export STORE PB BUNDLE2
}

teardown() {
	slow_proxy_stop
	[ -z "${CERTSD:-}" ] || rm -rf "$CERTSD"
	# A test that started its own registry stops it.
	[ "${REG_DIR:-}" = "$BATS_FILE_TMPDIR/registry" ] || reg_stop "$REG_DIR"
	teardown_bundle
}

# ip ARGS...: isolazi-pull on this test's store.
ip() {
	isolazi_pull_bare --store "$STORE" "$@"
}

# own_registry [--user U P]: a registry of this test's own (for tampering), holding shared-a.
own_registry() {
	reg_start "$BATS_TEST_TMPDIR/registry" "$@"
	fixture_push shared-a
	OWN="$REG_HOST/fx/shared-a:latest"
}

# The test's cgroup, so that the leak check covers the container.
run_bundle() {
	update_config ".linux.cgroupsPath = \"/$CGROUP_PARENT/$CID\"" "$PB"
	run runtime run -b "$PB" "$CID"
}

# No tag, and every blob verified: what a failed pull must leave.
assert_store_consistent() {
	store_blobs_verified "$STORE"
	run -0 store_images "$STORE"
	[ -z "$output" ] || {
		echo "unexpected images: $output" >&2
		return 1
	}
}

check_whiteouts() {
	local r="$1"
	[ ! -e "$r/data/gone" ]
	[ "$(cat "$r/data/kept")" = kept ]
	[ ! -e "$r/data/dir" ]
	[ "$(ls "$r/data/opq")" = new ]
	# The opaque marker came after data/late/new in the same layer: it hides only the lower one.
	[ "$(ls "$r/data/late")" = new ]
	[ "$(cat "$r/data/f2d/now")" = "dir now" ]
	[ -f "$r/data/d2f" ] && [ "$(cat "$r/data/d2f")" = "file now" ]
	[ -L "$r/data/d2l" ] && [ "$(readlink "$r/data/d2l")" = kept ]
	[ "$(stat -c %u:%g:%a "$r/data/big-uid")" = "100000:100000:4755" ]
	[ -x "$r/bin/busybox" ]
}

@test "pull: usage errors exit 2 and name the flag or argument; --help and --version exit 0" {
	run -2 ip
	assert_contains "missing command"
	run -2 ip frobnicate
	assert_contains "unknown command \`frobnicate\`"
	run -2 ip pull
	assert_contains "requires an image reference"
	run -2 ip pull --bogus x
	assert_contains "unknown flag \`--bogus\`"
	run -2 ip pull x --platform
	assert_contains "\`--platform\`" "needs a value"
	run -2 ip pull --tls-verify=maybe x
	assert_contains "\`--tls-verify\`"
	run -2 ip bundle --memory lots x "$PB"
	assert_contains "\`--memory\`"
	run -2 ip bundle --seccomp loose x "$PB"
	assert_contains "\`--seccomp\`"
	run -2 ip bundle x
	assert_contains "requires an image reference and a directory"
	run -2 ip images --format yaml
	assert_contains "\`--format\`"
	run -2 ip pull --platform linux x
	assert_contains "invalid platform \`linux\`"
	[ ! -e "$PB" ]
	for c in pull bundle images inspect rm prune login logout mount rm-bundle; do
		run -0 ip "$c" --help
		assert_contains "Usage: isolazi-pull $c"
	done
	run -0 ip --version
	assert_contains "isolazi-pull version"
	run -1 ip pull "Not/A/Valid/Reference"
	assert_contains "Not/A/Valid/Reference"
}

@test "pull: busybox (OCI): digest, images, inspect, verified blobs; a second pull is a no-op" {
	run -0 ip pull "${TLS[@]}" "$BUSYBOX"
	want="$(reg_manifest_digest isolazi/busybox latest)"
	[ "$(tail -n 1 <<<"$output")" = "$want" ]
	# Without a terminal: a line per blob, no escape sequences.
	assert_contains "blob sha256:"
	[[ "$output" != *$'\033'* ]]
	run -0 ip images
	assert_contains "$BUSYBOX" "${want:7:12}"
	run -0 ip images -q
	[ "$output" = "${want:7:12}" ]
	run -0 ip inspect "$BUSYBOX"
	[ "$(jq -r .record.manifestDigest <<<"$output")" = "$want" ]
	[ "$(jq -r '.config.config.Cmd[0]' <<<"$output")" = sh ]
	[ "$(jq -r '.manifest.layers | length' <<<"$output")" = 1 ]
	layer="$(jq -r '.manifest.layers[0].digest' <<<"$output")"
	[ -f "$STORE/blobs/sha256/${layer#sha256:}" ]
	[ -f "$STORE/blobs/sha256/${want#sha256:}" ]
	store_blobs_verified "$STORE"
	# Found by a prefix of the manifest digest too.
	run -0 ip inspect "${want:7:12}"
	# Again: the same digest, and -q prints nothing else.
	run -0 ip pull -q "${TLS[@]}" "$BUSYBOX"
	[ "$output" = "$want" ]
}

@test "bundle: busybox as an overlay bundle, run by isolazi run; rm-bundle leaves nothing" {
	run -0 ip bundle -q "${TLS[@]}" "$BUSYBOX" "$PB" -- sh -c 'echo hello from the image; echo x >/written; id -u'
	[ "$(findmnt -n -o FSTYPE "$PB/rootfs")" = overlay ]
	[ -f "$PB/config.json" ]
	[ "$(jq -c .process.args "$PB/config.json")" = '["sh","-c","echo hello from the image; echo x >/written; id -u"]' ]
	# bundle.c makes the root read-only, as `isolazi spec` does; the overlay takes writes.
	update_config '.root.readonly = false' "$PB"
	run_bundle
	[ "$status" -eq 0 ]
	assert_contains "hello from the image"
	[ "$(tail -n 1 <<<"$output")" = 0 ]
	# Writes land in the bundle's upper directory, never in the store's layers.
	[ -f "$PB/upper/written" ]
	[ -z "$(find "$STORE/layers" -name written)" ]
	run -0 ip rm-bundle "$PB"
	[ ! -e "$PB" ]
	# A directory bundle did not make is refused.
	mkdir "$PB"
	run -1 ip rm-bundle "$PB"
	assert_contains "not a bundle made by"
	[ -d "$PB" ]
}

@test "bundle: a second bundle of the same image reuses the unpacked layers" {
	run -0 ip bundle -q "${TLS[@]}" "$BUSYBOX" "$PB"
	layers="$(ls "$STORE/layers")"
	run -0 ip bundle "$BUSYBOX" "$BATS_TEST_TMPDIR/pb2"
	[ "$(ls "$STORE/layers")" = "$layers" ]
	[ "$(findmnt -n -o FSTYPE "$BATS_TEST_TMPDIR/pb2/rootfs")" = overlay ]
	run -0 ip rm-bundle "$PB" "$BATS_TEST_TMPDIR/pb2"
	[ ! -e "$BATS_TEST_TMPDIR/pb2" ]
}

@test "bundle: schema2 (Docker) image, --copy, run" {
	run -0 ip pull -q "${TLS[@]}" "$REG_HOST/isolazi/busybox-v2s2:latest"
	run -0 ip inspect "$REG_HOST/isolazi/busybox-v2s2"
	[ "$(jq -r .manifest.mediaType <<<"$output")" = application/vnd.docker.distribution.manifest.v2+json ]
	run -0 ip bundle --copy "$REG_HOST/isolazi/busybox-v2s2" "$PB" -- cat /etc/group
	# --copy: a plain directory, no mount.
	! mountpoint -q "$PB/rootfs"
	run_bundle
	[ "$status" -eq 0 ]
	assert_contains "user:x:1000:"
	run -0 ip rm-bundle "$PB"
	[ ! -e "$PB" ]
}

@test "bundle: file, directory and opaque whiteouts and type changes, overlay and --copy" {
	run -0 ip bundle -q "${TLS[@]}" "$REG_HOST/fx/whiteouts" "$PB"
	check_whiteouts "$PB/rootfs"
	# The same from inside a container.
	update_config '.process.args = ["sh", "-c", "ls /data; ls /data/opq /data/late; cat /data/d2f"]' "$PB"
	run_bundle
	[ "$status" -eq 0 ]
	[[ "$output" != *gone* ]]
	assert_contains "kept" "file now"
	run -0 ip rm-bundle "$PB"

	run -0 ip bundle --copy "$REG_HOST/fx/whiteouts" "$PB"
	check_whiteouts "$PB/rootfs"
	# No whiteout devices or markers left in a copy.
	[ -z "$(find "$PB/rootfs" -name '.wh.*' -o -type c -path '*/data/*')" ]
	run -0 ip rm-bundle "$PB"
}

@test "pull: a multi-arch index: the host's platform by default, --platform, attestations skipped, clear error" {
	[ "$(uname -m)" = x86_64 ] || skip "the fixture's default platform is linux/amd64"
	run -0 ip bundle -q --copy "${TLS[@]}" "$REG_HOST/fx/multiarch" "$PB"
	[ "$(cat "$PB/rootfs/etc/arch")" = amd64 ]
	run -0 ip inspect "$REG_HOST/fx/multiarch"
	[ "$(jq -r .record.indexDigest <<<"$output")" = "$(reg_manifest_digest fx/multiarch latest)" ]
	[ "$(jq -r .config.architecture <<<"$output")" = amd64 ]
	run -0 ip rm-bundle "$PB"

	run -0 ip pull -q --platform linux/arm64 "${TLS[@]}" "$REG_HOST/fx/multiarch"
	run -0 ip inspect "$REG_HOST/fx/multiarch"
	[ "$(jq -r .config.architecture <<<"$output")" = arm64 ]
	run -0 ip bundle --copy "$REG_HOST/fx/multiarch" "$PB"
	[ "$(cat "$PB/rootfs/etc/arch")" = arm64 ]
	run -0 ip rm-bundle "$PB"

	run -1 ip pull --platform linux/s390x "${TLS[@]}" "$REG_HOST/fx/multiarch"
	assert_contains "no image for platform \`linux/s390x\`" "linux/amd64" "linux/arm64/v8"
	[[ "$output" != *unknown/unknown* ]]
	run -1 ip pull --platform linux/arm64/v7 "${TLS[@]}" "$REG_HOST/fx/multiarch"
	assert_contains "no image for platform \`linux/arm64/v7\`"
}

@test "bundle: zstd layers" {
	run -0 ip bundle -q "${TLS[@]}" "$REG_HOST/fx/zstd" "$PB" -- head -n 1 /zstd/hello
	run -0 ip inspect "$REG_HOST/fx/zstd"
	[ "$(jq -r '.manifest.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	run_bundle
	[ "$status" -eq 0 ]
	[ "$output" = "compressed with zstd" ]
	run -0 ip rm-bundle "$PB"
}

@test "pull: a blob with the wrong content fails clearly and stores nothing of it" {
	own_registry
	layer="$(reg_layer_digest fx/shared-a latest 1)"
	f="$(reg_blob_path "$layer")"
	# Same size, other bytes.
	printf 'XXXX' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
	run -1 ip pull -q "${TLS[@]}" "$OWN"
	assert_contains "${layer}"
	assert_contains "digest"
	[ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ]
	assert_store_consistent
}

@test "pull: a truncated blob fails clearly and stores nothing of it" {
	own_registry
	layer="$(reg_layer_digest fx/shared-a latest 1)"
	truncate -s 50 "$(reg_blob_path "$layer")"
	run -1 ip pull -q "${TLS[@]}" "$OWN"
	assert_contains "${layer}"
	[ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ]
	assert_store_consistent
}

@test "pull: 404 for a tag, a repository and a blob" {
	run -1 ip pull -q "${TLS[@]}" "$REG_HOST/isolazi/busybox:nope"
	assert_contains "isolazi/busybox:nope"
	run -1 ip pull -q "${TLS[@]}" "$REG_HOST/no/such/repo:latest"
	assert_contains "no/such/repo"
	own_registry
	layer="$(reg_layer_digest fx/shared-a latest 1)"
	rm -f "$(reg_blob_path "$layer")"
	run -1 ip pull -q "${TLS[@]}" "$OWN"
	assert_contains "$layer"
	assert_store_consistent
}

@test "pull: malformed manifests and configs are refused with their JSON path" {
	own_registry
	# The registry checks that the blobs exist in the repository, not what sizes say.
	put_manifest() {
		curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
			--data-binary "$(reg_manifest_json fx/shared-a latest | jq -c "$1")" \
			"http://$REG_HOST/v2/fx/shared-a/manifests/$2"
	}
	run -0 put_manifest '.layers[0].size = -1' bad-size
	run -1 ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-a:bad-size"
	assert_contains "layers[0].size"
	assert_store_consistent
	[ -z "$(ls "$STORE/blobs/sha256" 2>/dev/null)" ]
	# A "config" that is a gzip layer.
	run -0 put_manifest '.config.digest = .layers[1].digest | .config.size = .layers[1].size' bad-config
	run -1 ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-a:bad-config"
	assert_contains "config"
	assert_store_consistent
	# A layer type nobody can unpack.
	run -0 put_manifest '.layers[1].mediaType = "application/x-unknown"' bad-type
	run -1 ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-a:bad-type"
	assert_contains "layers[1].mediaType" "application/x-unknown"
	assert_store_consistent
}

@test "pull: Basic auth: 401 without credentials, --creds, login/logout with an auth file" {
	own_registry --user alice s3cret
	run -1 ip pull -q "${TLS[@]}" "$OWN"
	assert_contains "$REG_HOST"
	assert_store_consistent
	run -1 ip pull -q "${TLS[@]}" --creds alice:wrong "$OWN"
	assert_store_consistent
	run -0 ip pull -q "${TLS[@]}" --creds alice:s3cret "$OWN"
	store_blobs_verified "$STORE"
	run -0 ip rm "$OWN"

	auth="$BATS_TEST_TMPDIR/auth.json"
	run -1 bash -c "echo wrong | '$ISOLAZI_PULL' login ${TLS[*]} --authfile '$auth' -u alice --password-stdin $REG_HOST"
	[ ! -s "$auth" ] || [ "$(jq -r ".auths[\"$REG_HOST\"] // empty" "$auth")" = "" ]
	run -0 bash -c "echo s3cret | '$ISOLAZI_PULL' login ${TLS[*]} --authfile '$auth' -u alice --password-stdin $REG_HOST"
	assert_contains "Login Succeeded"
	[ "$(jq -r ".auths[\"$REG_HOST\"].auth" "$auth" | base64 -d)" = alice:s3cret ]
	[ "$(stat -c %a "$auth")" = 600 ]
	run -0 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
	run -0 ip rm "$OWN"
	run -0 ip logout --authfile "$auth" "$REG_HOST"
	[ "$(jq -r ".auths[\"$REG_HOST\"] // empty" "$auth")" = "" ]
	run -1 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
}

# tls_registry [--client-ca]: a registry of this test's own over HTTPS (reg_make_pki in PKI),
# holding shared-a as OWN; CERTS is an empty --cert-dir to fill.
tls_registry() {
	PKI="$BATS_TEST_TMPDIR/pki"
	CERTS="$BATS_TEST_TMPDIR/certs"
	reg_make_pki "$PKI"
	mkdir -p "$CERTS"
	if [ "${1:-}" = --client-ca ]; then
		mkdir -p "$BATS_TEST_TMPDIR/push-certs"
		cp "$PKI/client.cert" "$PKI/client.key" "$BATS_TEST_TMPDIR/push-certs/"
		REG_PUSH_CERT_DIR="$BATS_TEST_TMPDIR/push-certs"
	fi
	reg_start "$BATS_TEST_TMPDIR/registry" --tls "$PKI" "$@"
	fixture_push shared-a
	unset REG_PUSH_CERT_DIR
	OWN="$REG_HOST/fx/shared-a:latest"
}

@test "pull: TLS: an untrusted CA is refused with the way out; --cert-dir and certs.d trust it" {
	tls_registry
	# The system's CAs do not know the test CA: refused, nothing stored, the remedies named.
	run -1 ip pull -q "$OWN"
	assert_contains "$REG_HOST" "certificate" "/etc/containers/certs.d/$REG_HOST (or use --cert-dir)" "--tls-verify=false"
	assert_store_consistent
	# A CA that did not sign the registry's certificate does not help, and the message names the
	# directory it came from.
	cp "$PKI/other-ca.crt" "$CERTS/other.crt"
	run -1 ip pull -q --cert-dir "$CERTS" "$OWN"
	assert_contains "certificate" "$CERTS"
	assert_store_consistent
	# The right CA among others: verified and pulled.
	cp "$PKI/ca.crt" "$CERTS/ca.crt"
	run -0 ip pull -q --cert-dir "$CERTS" "$OWN"
	store_blobs_verified "$STORE"
	run -0 ip rm "$OWN"
	# The same CA found in /etc/containers/certs.d/HOST:PORT, as podman and skopeo read it.
	CERTSD="/etc/containers/certs.d/$REG_HOST"
	mkdir -p "$CERTSD"
	cp "$PKI/ca.crt" "$CERTSD/ca.crt"
	run -0 ip pull -q "$OWN"
	run -0 ip rm "$OWN"
	rm -rf "$CERTSD"
	# Without any CA, --tls-verify=false still talks HTTPS to it.
	run -0 ip pull -q --tls-verify=false "$OWN"
	run -0 ip images --format json
	[ "$(echo "$output" | jq -r '.[].name')" = "$OWN" ]
	# A broken cert dir is an error naming the file, before any request.
	echo "not a certificate" >"$CERTS/broken.crt"
	run -1 ip pull -q --cert-dir "$CERTS" "$OWN"
	assert_contains "$CERTS/broken.crt" "no PEM certificate"
	run -1 ip pull -q --cert-dir "$BATS_TEST_TMPDIR/nonexistent" "$OWN"
	assert_contains "$BATS_TEST_TMPDIR/nonexistent" "no such file or directory"
}

@test "pull: TLS: a registry asking for a client certificate gets the cert dir's NAME.cert and NAME.key" {
	tls_registry --client-ca
	cp "$PKI/ca.crt" "$CERTS/ca.crt"
	# No client certificate: the handshake fails, and the message says what the registry wants.
	run -1 ip pull -q --cert-dir "$CERTS" "$OWN"
	assert_contains "$REG_HOST" "client certificate" "$CERTS"
	assert_store_consistent
	# A certificate without its key is refused before any request.
	cp "$PKI/client.cert" "$CERTS/client.cert"
	run -1 ip pull -q --cert-dir "$CERTS" "$OWN"
	assert_contains "\`client.cert\` has no \`client.key\`"
	# With the pair: pulled, and login goes through the same TLS setup.
	cp "$PKI/client.key" "$CERTS/client.key"
	run -0 ip pull -q --cert-dir "$CERTS" "$OWN"
	store_blobs_verified "$STORE"
	run -0 "$ISOLAZI_PULL" login --cert-dir "$CERTS" --authfile "$BATS_TEST_TMPDIR/auth.json" -u u -p p "$REG_HOST"
	assert_contains "Login Succeeded"
}

@test "pull: credentials from a docker credential helper (credHelpers, credsStore)" {
	own_registry --user alice s3cret
	# A helper as docker-credential-helpers writes them: the server on stdin, JSON on stdout.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/docker-credential-isolazitest" <<-EOF
		#!/bin/sh
		[ "\$1" = get ] || exit 9
		read -r server
		echo "\$server" >>"$BATS_TEST_TMPDIR/asked"
		[ -s "$BATS_TEST_TMPDIR/secret" ] || { echo "credentials not found in native keychain"; exit 1; }
		printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$server" "\$(cat "$BATS_TEST_TMPDIR/secret")"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-isolazitest"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	auth="$BATS_TEST_TMPDIR/config.json"
	echo "{\"credHelpers\": {\"$REG_HOST\": \"isolazitest\"}}" >"$auth"

	echo s3cret >"$BATS_TEST_TMPDIR/secret"
	run -0 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
	[ "$(cat "$BATS_TEST_TMPDIR/asked")" = "$REG_HOST" ]
	store_blobs_verified "$STORE"
	run -0 ip rm "$OWN"
	# The helper has nothing: an anonymous pull, which the registry refuses.
	: >"$BATS_TEST_TMPDIR/secret"
	run -1 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
	assert_contains "$REG_HOST"
	assert_store_consistent
	# The default store (credsStore) for an auths entry that is only a placeholder.
	echo "{\"auths\": {\"$REG_HOST\": {}}, \"credsStore\": \"isolazitest\"}" >"$auth"
	echo s3cret >"$BATS_TEST_TMPDIR/secret"
	run -0 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
	run -0 ip rm "$OWN"
	# A helper that is not installed is a clear error naming it and the file.
	echo "{\"credHelpers\": {\"$REG_HOST\": \"isolazi-missing\"}}" >"$auth"
	run -1 ip pull -q "${TLS[@]}" --authfile "$auth" "$OWN"
	assert_contains "docker-credential-isolazi-missing" "not found in \$PATH" "$auth"
	assert_store_consistent
}

@test "pull: killed mid-download leaves no corrupt blob; the next pull resumes with Range" {
	reg_start "$BATS_TEST_TMPDIR/registry"
	fixture_push big
	layer="$(reg_layer_digest fx/big latest 1)"
	slow_proxy_start $((3 << 20))
	partial="$STORE/tmp/${layer#sha256:}.partial"
	"$ISOLAZI_PULL" --store "$STORE" pull -q "${TLS[@]}" "$PROXY_HOST/fx/big:latest" </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	tries=200
	while [ $tries -gt 0 ] && [ "$(stat -c %s "$partial" 2>/dev/null || echo 0)" -lt $((4 << 20)) ]; do
		sleep 0.05
		tries=$((tries - 1))
	done
	kill -9 "$pid"
	wait "$pid" || true
	have="$(stat -c %s "$partial")"
	[ "$have" -ge $((4 << 20)) ]
	[ "$have" -lt $((24 << 20)) ]
	[ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ]
	assert_store_consistent

	run -0 ip pull -q "${TLS[@]}" "$PROXY_HOST/fx/big:latest"
	[ -f "$STORE/blobs/sha256/${layer#sha256:}" ]
	store_blobs_verified "$STORE"
	# The second pull asked for the rest only.
	run -0 jq -r "select(.path | endswith(\"/blobs/$layer\")) | .range // \"none\"" "$PROXY_LOG"
	[[ "$output" == *"bytes="[1-9]* ]]
	[ ! -e "$partial" ]
}

@test "pull: concurrent pulls of images sharing a layer" {
	ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-a" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	a=$!
	ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-b" >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$BATS_TEST_TMPDIR/a.out"; false; }
	wait "$b" || { cat "$BATS_TEST_TMPDIR/b.out"; false; }
	store_blobs_verified "$STORE"
	run -0 store_images "$STORE"
	assert_contains "$REG_HOST/fx/shared-a:latest" "$REG_HOST/fx/shared-b:latest"
	[ -z "$(ls -A "$STORE/tmp")" ]
	# Two bundles at once: the shared base layer is unpacked once.
	ip bundle "$REG_HOST/fx/shared-a" "$PB" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	a=$!
	ip bundle "$REG_HOST/fx/shared-b" "$BATS_TEST_TMPDIR/pb2" >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$BATS_TEST_TMPDIR/a.out"; false; }
	wait "$b" || { cat "$BATS_TEST_TMPDIR/b.out"; false; }
	[ "$(cat "$PB/rootfs/which")" = a ]
	[ "$(cat "$BATS_TEST_TMPDIR/pb2/rootfs/which")" = b ]
	[ "$(ls "$STORE/layers" | wc -l)" = 3 ]
	run -0 ip rm-bundle "$PB" "$BATS_TEST_TMPDIR/pb2"
}

@test "prune: keeps what images and live bundles use" {
	run -0 ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-a"
	run -0 ip pull -q "${TLS[@]}" "$REG_HOST/fx/shared-b"
	run -0 ip bundle "$REG_HOST/fx/shared-a" "$PB"
	run -0 ip rm "$REG_HOST/fx/shared-a" "$REG_HOST/fx/shared-b"
	run -0 ip images -q
	[ -z "$output" ]
	run -1 ip rm "$REG_HOST/fx/shared-a"
	assert_contains "not in the store"
	b_layer="$(reg_layer_digest fx/shared-b latest 1)"
	run -0 ip prune
	assert_contains "removed"
	# shared-b's own layer went; shared-a's unpacked layers stay while its bundle lives.
	[ ! -e "$STORE/blobs/sha256/${b_layer#sha256:}" ]
	[ "$(ls "$STORE/layers" | wc -l)" = 2 ]
	[ "$(cat "$PB/rootfs/which")" = a ]
	run -0 ip rm-bundle "$PB"
	run -0 ip prune
	[ -z "$(ls -A "$STORE/layers")" ]
	[ -z "$(ls -A "$STORE/blobs/sha256")" ]
	# A tagged image keeps everything.
	run -0 ip pull -q "${TLS[@]}" "$BUSYBOX"
	run -0 ip prune
	run -0 ip bundle --copy "$BUSYBOX" "$PB"
	store_blobs_verified "$STORE"
	run -0 ip rm-bundle "$PB"
}

@test "bundle: -e, -v, --hostname, --cwd, --memory and a user name from the image's /etc/passwd" {
	mkdir -p "$BATS_TEST_TMPDIR/vol"
	echo "from the host" >"$BATS_TEST_TMPDIR/vol/f"
	run -0 ip bundle -q "${TLS[@]}" -e FOO=bar -v "$BATS_TEST_TMPDIR/vol:/mnt/vol:ro" --hostname pulled \
		--cwd /tmp --memory 64m --user user "$BUSYBOX" "$PB" -- \
		sh -c 'echo FOO=$FOO; hostname; pwd; cat /mnt/vol/f; id -u; id -g; touch /mnt/vol/g || echo read-only;
			cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || true'
	[ "$(jq -r .linux.resources.memory.limit "$PB/config.json")" = 67108864 ]
	run_bundle
	[ "$status" -eq 0 ]
	assert_contains "FOO=bar" $'\npulled\n' $'\n/tmp\n' "from the host" $'\n1000\n1000\n' "read-only" "67108864"
	run -0 ip rm-bundle "$PB"
}

@test "bundle: a failure leaves nothing behind" {
	# A directory that is not empty is refused and left as it was.
	mkdir "$PB"
	echo keep >"$PB/mine"
	run -1 ip bundle -q "${TLS[@]}" "$BUSYBOX" "$PB"
	assert_contains "not empty"
	[ "$(ls -A "$PB")" = mine ]
	rm -rf "$PB"
	# An error after the overlay is mounted (an unknown user): no mount, no directory.
	run -1 ip bundle --user nosuchuser "$BUSYBOX" "$PB"
	assert_contains "nosuchuser"
	[ ! -e "$PB" ]
	[ -z "$(mounts_below "$BATS_TEST_TMPDIR")" ]
	run -1 ip bundle --copy --user nosuchuser "$BUSYBOX" "$PB"
	[ ! -e "$PB" ]
	# An existing empty directory stays, empty.
	mkdir "$PB"
	run -1 ip bundle --user nosuchuser "$BUSYBOX" "$PB"
	[ -d "$PB" ] && [ -z "$(ls -A "$PB")" ]
	# An image that is not there and cannot be pulled.
	rmdir "$PB"
	run -1 ip bundle "${TLS[@]}" "$REG_HOST/isolazi/busybox:nope" "$PB"
	[ ! -e "$PB" ]
}

mounts_below() {
	awk -v d="$1" 'index($5, d "/") == 1 {print $5}' /proc/self/mountinfo
}

@test "bundle: malicious layers stay inside the rootfs or fail clearly" {
	rm -rf "$ESCAPE_DIR"
	mkdir -p "$ESCAPE_DIR"
	echo secret >"$ESCAPE_DIR/secret"
	for mode in overlay copy; do
		flags=()
		[ $mode = copy ] && flags=(--copy)
		run ip bundle -q "${TLS[@]}" "${flags[@]}" "$REG_HOST/fx/symlink-escape" "$PB"
		[ ! -e "$ESCAPE_DIR/pwned" ]
		if [ "$status" -eq 0 ]; then
			run -0 ip rm-bundle "$PB"
		else
			assert_contains "evil"
			[ ! -e "$PB" ]
		fi
		run ip bundle -q "${TLS[@]}" "${flags[@]}" "$REG_HOST/fx/hardlink-escape" "$PB"
		[ "$(stat -c %h "$ESCAPE_DIR/secret")" = 1 ]
		[ "$(cat "$ESCAPE_DIR/secret")" = secret ]
		if [ "$status" -eq 0 ]; then
			[ ! -e "$PB/rootfs/stolen" ] || [ "$(stat -c %i "$PB/rootfs/stolen")" != "$(stat -c %i "$ESCAPE_DIR/secret")" ]
			run -0 ip rm-bundle "$PB"
		else
			assert_contains "stolen"
			[ ! -e "$PB" ]
		fi
		run -1 ip bundle -q "${TLS[@]}" "${flags[@]}" "$REG_HOST/fx/dotdot" "$PB"
		assert_contains ".."
		[ ! -e "$ESCAPE_DIR/dotdot" ]
		[ ! -e "$PB" ]
		[ -z "$(mounts_below "$BATS_TEST_TMPDIR")" ]
	done
	rm -rf "$ESCAPE_DIR"
}

@test "mount: an overlay bundle unmounted (as by a reboot) is mounted again" {
	run -0 ip bundle -q "${TLS[@]}" "$BUSYBOX" "$PB" -- cat /etc/hostname-check
	echo remembered >"$PB/rootfs/etc/hostname-check"
	run -0 ip mount --umount "$PB"
	! mountpoint -q "$PB/rootfs"
	[ ! -e "$PB/rootfs/etc/hostname-check" ]
	run -1 ip mount --umount "$PB"
	assert_contains "not mounted"
	run -0 ip mount "$PB"
	[ "$(findmnt -n -o FSTYPE "$PB/rootfs")" = overlay ]
	run -1 ip mount "$PB"
	assert_contains "already mounted"
	run_bundle
	[ "$status" -eq 0 ]
	[ "$output" = remembered ]
	run -0 ip rm-bundle "$PB"
	[ ! -e "$PB" ]
}

@test "bundle: rootless, by an unprivileged user (a copy), run by isolazi run as that user" {
	command -v runuser >/dev/null || skip "requires runuser (util-linux)"
	TUSER="isolazipull-$$-${BATS_TEST_NUMBER}"
	useradd -m "$TUSER"
	THOME="$(getent passwd "$TUSER" | cut -d: -f6)"
	mkdir -p "$THOME/run" && chown "$TUSER:" "$THOME/run" && chmod 700 "$THOME/run"
	for bin in "$ISOLAZI_PULL" "$RUNTIME"; do
		d="$(dirname "$bin")"
		while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
	done
	as_tuser() {
		bounded runuser -u "$TUSER" -- env XDG_RUNTIME_DIR="$THOME/run" HOME="$THOME" XDG_DATA_HOME="$THOME/data" "$@"
	}
	run as_tuser "$ISOLAZI_PULL" bundle -q "${TLS[@]}" --rootless "$BUSYBOX" "$THOME/b" -- sh -c 'id -u; cat /etc/passwd | head -n 1'
	status_bundle=$status
	out_bundle="$output"
	# The default store of a user: under XDG_DATA_HOME.
	[ -d "$THOME/data/isolazi/blobs" ] || status_bundle=99
	if [ "$status_bundle" -eq 0 ]; then
		! mountpoint -q "$THOME/b/rootfs"
		run as_tuser sh -c "cd '$THOME/b' && exec '$RUNTIME' run rl-$$"
		status_run=$status
		out_run="$output"
		run as_tuser "$ISOLAZI_PULL" rm-bundle "$THOME/b"
		status_rm=$status
	fi
	pkill -9 -u "$TUSER" 2>/dev/null || true
	userdel -r "$TUSER" >/dev/null 2>&1 || true
	echo "bundle: $status_bundle $out_bundle" >&2
	[ "$status_bundle" -eq 0 ]
	echo "run: $status_run $out_run" >&2
	[ "$status_run" -eq 0 ]
	out_run="$(tr -d '\r' <<<"$out_run")"
	[ "$(head -n 1 <<<"$out_run")" = 0 ]
	[[ "$out_run" == *root:x:0:0* ]]
	[ "$status_rm" -eq 0 ]
}

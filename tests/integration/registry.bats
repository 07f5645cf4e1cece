#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The registry client of isolazi-pull (src/image/registry.c, auth.c) against a real
# docker-registry, directly and through registry-proxy.py (token server, Bearer auth, cut
# transfers, injected 429/5xx, redirects to another host).  Driven by tests/unit/registry-tool.
# Every test starts its own registry and stops it; teardown checks that no registry or proxy
# process is left.

load helpers
load registry

REPO=isolazi/busybox

setup() {
	requires root
	command -v docker-registry >/dev/null || skip "docker-registry not installed (contrib/install-deps.sh)"
	command -v skopeo >/dev/null || skip "skopeo not installed (contrib/install-deps.sh)"
	command -v umoci >/dev/null || skip "umoci not installed (contrib/install-deps.sh)"
	TOOL="$BUILDDIR/tests/unit/registry-tool"
	[ -x "$TOOL" ] || skip "registry-tool not built: $TOOL (make check-integration builds it)"
	T="$BATS_TEST_TMPDIR"
}

teardown() {
	show_registry_output
	reg_proxy_stop
	reg_stop
	if [ -n "${REG_DIR:-}" ] && pgrep -f -- "$REG_DIR" >/dev/null; then
		echo "LEAKED: processes of $REG_DIR: $(pgrep -af -- "$REG_DIR")" >&2
		return 1
	fi
}

show_registry_output() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output:-}" ]; then
		echo "last output (status ${status:-?}): $output" >&2
	fi
}

# assert_status N: $status is N (with the output on failure).
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected status $1, got $status; output: $output" >&2
		return 1
	fi
}

# tool ARGS...: the registry client, bounded.
tool() {
	timeout --kill-after=5 120 "$TOOL" "$@"
}

# A registry holding the busybox image; LAYER, LAYER_SIZE and CONFIG describe it.
registry_with_image() {
	reg_start "$@"
	reg_push_busybox "$REPO:latest"
	LAYER="$(reg_layer_digest "$REPO" latest)"
	LAYER_SIZE="$(stat -c %s "$(reg_blob_path "$LAYER")")"
	CONFIG="$(reg_config_digest "$REPO" latest)"
}

sha256_of() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

@test "registry: anonymous pull of an OCI manifest, its config and its layer, verified" {
	registry_with_image
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:latest" -o "$T/manifest"
	assert_status 0
	[ "$output" = "application/vnd.oci.image.manifest.v1+json $(reg_manifest_digest "$REPO" latest) $(stat -c %s "$T/manifest")" ]
	cmp "$T/manifest" "$(reg_blob_path "$(reg_manifest_digest "$REPO" latest)")"

	run tool --tls-verify=false get-blob "$REG_HOST/$REPO" "$CONFIG" -o "$T/config"
	assert_status 0
	[ "$(sha256_of "$T/config")" = "$CONFIG" ]

	run tool --tls-verify=false --progress fetch-blob "$REG_HOST/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	assert_contains "ok $LAYER" "progress $LAYER $LAYER_SIZE $LAYER_SIZE"
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"

	# By digest too; a digest the registry does not hold is a 404 with its error code.
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO@$(reg_manifest_digest "$REPO" latest)" -o "$T/m2"
	assert_status 0
	cmp "$T/manifest" "$T/m2"
}

@test "registry: Docker schema2 manifests and the media type from Content-Type" {
	reg_start
	reg_push_busybox "$REPO:v2" v2s2
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:v2" -o "$T/manifest"
	assert_status 0
	assert_contains "application/vnd.docker.distribution.manifest.v2+json $(reg_manifest_digest "$REPO" v2)"
	cmp "$T/manifest" "$(reg_blob_path "$(reg_manifest_digest "$REPO" v2)")"

	# An OCI manifest without mediaType (it is optional in image-spec 1.0): the Content-Type
	# the registry answers with names it.
	reg_push_busybox "$REPO:latest"
	reg_manifest_json "$REPO" latest | jq -c 'del(.mediaType)' >"$T/bare.json"
	[ "$(jq -r '.mediaType // "absent"' "$T/bare.json")" = absent ]
	curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary "@$T/bare.json" \
		"http://$REG_HOST/v2/$REPO/manifests/bare"
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:bare" -o "$T/m"
	assert_status 0
	[ "$output" = "application/vnd.oci.image.manifest.v1+json $(sha256_of "$T/bare.json") $(stat -c %s "$T/bare.json")" ]
}

@test "registry: plain HTTP with TLS verification on is a clear error naming --tls-verify=false" {
	registry_with_image
	run tool get-manifest "$REG_HOST/$REPO:latest" -o "$T/manifest"
	assert_status 1
	assert_contains "server gave an HTTP response to an HTTPS client" "--tls-verify=false" "$REG_HOST"
	[ ! -s "$T/manifest" ]
}

@test "registry: an unknown tag is a 404 naming the registry, the repository and the registry's error" {
	registry_with_image
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:nope" -o "$T/manifest"
	assert_status 1
	assert_contains "get manifest \`nope\` of \`$REG_HOST/$REPO\`" "HTTP 404" "MANIFEST_UNKNOWN"
	run tool --tls-verify=false get-manifest "$REG_HOST/isolazi/other:latest" -o "$T/manifest"
	assert_status 1
	assert_contains "\`$REG_HOST/isolazi/other\`" "HTTP 404" "manifest unknown"
	run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:bad%2Ftag" -o "$T/manifest"
	assert_status 1
	assert_contains "not a valid tag or digest"
}

@test "registry: a tampered blob fails its digest check and leaves an empty file" {
	registry_with_image
	local blob
	blob="$(reg_blob_path "$LAYER")"
	# Same size, one byte changed in the middle: only the digest can tell.
	printf 'X' | dd of="$blob" bs=1 seek=$((LAYER_SIZE / 2)) conv=notrunc status=none
	run tool --tls-verify=false fetch-blob "$REG_HOST/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 1
	assert_contains "error $LAYER" "fetch blob \`$LAYER\` from \`$REG_HOST/$REPO\`" "digest mismatch"
	[ -f "$T/layer" ] && [ ! -s "$T/layer" ]

	# A size that disagrees with the descriptor is refused too.
	run tool --tls-verify=false fetch-blob "$REG_HOST/$REPO" "$CONFIG" 10 "$T/config"
	assert_status 1
	assert_contains "the descriptor says 10"

	printf 'X' | dd of="$(reg_blob_path "$CONFIG")" bs=1 seek=5 conv=notrunc status=none
	run tool --tls-verify=false get-blob "$REG_HOST/$REPO" "$CONFIG" -o "$T/config"
	assert_status 1
	assert_contains "digest mismatch"
}

@test "registry: a manifest over the size limit is refused" {
	registry_with_image
	run tool --tls-verify=false --max-size 100 get-manifest "$REG_HOST/$REPO:latest" -o "$T/manifest"
	assert_status 1
	assert_contains "over the limit of 100"
	[ ! -s "$T/manifest" ]
}

@test "registry: Basic auth with the right, the wrong and no password; credentials never printed" {
	registry_with_image --user alice 'Pa55-w0rd!'
	run tool --tls-verify=false --creds 'alice:Pa55-w0rd!' get-manifest "$REG_HOST/$REPO:latest" -o "$T/m"
	assert_status 0

	run tool --tls-verify=false --creds 'alice:wrong-s3cret' get-manifest "$REG_HOST/$REPO:latest" -o "$T/m2"
	assert_status 1
	assert_contains "HTTP 401" "refused the credentials"
	[[ "$output" != *wrong-s3cret* ]]
	[[ "$output" != *"$(printf 'alice:wrong-s3cret' | base64)"* ]]

	run tool --tls-verify=false --authfile "$T/none.json" get-manifest "$REG_HOST/$REPO:latest" -o "$T/m2"
	assert_status 1
	assert_contains "authentication required" "no credentials for \`$REG_HOST\`"

	run tool --tls-verify=false --creds 'alice:wrong-s3cret' check-login "$REG_HOST"
	assert_status 1
	assert_contains "log in to \`$REG_HOST\`" "401"
	[[ "$output" != *wrong-s3cret* ]]
	run tool --tls-verify=false --creds 'alice:Pa55-w0rd!' check-login "$REG_HOST"
	assert_status 0
}

@test "registry: login stores credentials (0600) that a pull then uses; logout removes them" {
	registry_with_image --user alice 'Pa55-w0rd!'
	mkdir -p "$T/auth"
	echo '{"auths": {"other.example": {"auth": "eDp5"}}, "credHelpers": {"gcr.io": "gcr"}}' >"$T/auth/auth.json"
	run tool --authfile "$T/auth/auth.json" login "$REG_HOST" alice 'Pa55-w0rd!'
	assert_status 0
	[ "$(stat -c %a "$T/auth/auth.json")" = 600 ]
	[ "$(jq -r --arg h "$REG_HOST" '.auths[$h].auth' "$T/auth/auth.json" | base64 -d)" = 'alice:Pa55-w0rd!' ]
	# What was there is kept.
	[ "$(jq -r '.auths["other.example"].auth' "$T/auth/auth.json")" = eDp5 ]
	[ "$(jq -r '.credHelpers["gcr.io"]' "$T/auth/auth.json")" = gcr ]
	[ -z "$(find "$T/auth" -name '.*tmp*')" ]

	run tool --tls-verify=false --authfile "$T/auth/auth.json" get-manifest "$REG_HOST/$REPO:latest" -o "$T/m"
	assert_status 0
	# The default search finds REGISTRY_AUTH_FILE.
	REGISTRY_AUTH_FILE="$T/auth/auth.json" run tool --tls-verify=false get-manifest "$REG_HOST/$REPO:latest" -o "$T/m"
	assert_status 0

	run tool --authfile "$T/auth/auth.json" logout "$REG_HOST"
	assert_status 0
	[ "$(jq -r --arg h "$REG_HOST" '.auths[$h]' "$T/auth/auth.json")" = null ]
	run tool --authfile "$T/auth/auth.json" logout "$REG_HOST"
	assert_status 1
	assert_contains "not logged in"

	echo '{"auths": ' >"$T/auth/bad.json"
	run tool --tls-verify=false --authfile "$T/auth/bad.json" get-manifest "$REG_HOST/$REPO:latest" -o "$T/m"
	assert_status 1
	assert_contains "$T/auth/bad.json"
}

@test "registry: the Bearer token flow, with the scope, Basic auth at the token server, and a bad password" {
	registry_with_image
	reg_proxy_start '{"auth": "bearer", "users": {"bob": "t0ken-pw"}}'
	run tool --tls-verify=false --creds bob:t0ken-pw get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m"
	assert_status 0
	cmp "$T/m" "$(reg_blob_path "$(reg_manifest_digest "$REPO" latest)")"
	run tool --tls-verify=false --creds bob:t0ken-pw fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer" \
		"$CONFIG" -1 "$T/config"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	cmp "$T/config" "$(reg_blob_path "$CONFIG")"
	# The token was asked for with the service and the repository's pull scope.
	[ "$(reg_proxy_requests '[.[] | select(.path | startswith("/token?service=isolazi-test&scope=repository%3Aisolazi%2Fbusybox%3Apull"))] | length')" -ge 2 ]
	# One token per process run served all the blob requests: no token request per blob.
	[ "$(reg_proxy_requests '[.[] | select(.path | startswith("/token"))] | length')" -eq 2 ]

	run tool --tls-verify=false --creds bob:nope-nope get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m2"
	assert_status 1
	assert_contains "get a token from \`http://127.0.0.1:" "HTTP 401" "credentials were refused"
	[[ "$output" != *nope-nope* ]]

	run tool --tls-verify=false --authfile "$T/none.json" get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m2"
	assert_status 1
	assert_contains "anonymous access refused"

	run tool --tls-verify=false --creds bob:t0ken-pw check-login "$REG_PROXY"
	assert_status 0
	run tool --tls-verify=false --creds bob:nope-nope check-login "$REG_PROXY"
	assert_status 1
	assert_contains "log in to \`$REG_PROXY\`" "credentials were refused"
}

@test "registry: an identity token from the auth file is exchanged for an access token (OAuth2 refresh)" {
	registry_with_image
	reg_proxy_start '{"auth": "bearer", "users": {"bob": "pw"}, "refresh_tokens": ["rt-s3cret"]}'
	echo "{\"auths\": {\"$REG_PROXY\": {\"auth\": \"$(printf '<token>:' | base64)\", \"identitytoken\": \"rt-s3cret\"}}}" >"$T/auth.json"
	run tool --tls-verify=false --authfile "$T/auth.json" get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m"
	assert_status 0
	[ "$(reg_proxy_requests '[.[] | select(.method == "POST" and .path == "/token" and .status == 200)] | length')" -eq 1 ]

	sed -i 's/rt-s3cret/rt-revoked/' "$T/auth.json"
	run tool --tls-verify=false --authfile "$T/auth.json" get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m"
	assert_status 1
	assert_contains "HTTP 401" "credentials were refused"
	[[ "$output" != *rt-revoked* ]]
}

@test "registry: anonymous tokens, access_token, and a token that expires is refreshed once" {
	registry_with_image
	reg_proxy_start '{"auth": "bearer", "token_field": "access_token", "token_uses": 1}'
	: >"$REG_PROXY_LOG"
	run tool --tls-verify=false --parallel 1 fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer" \
		"$CONFIG" -1 "$T/config"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	# The second blob's request met a 401 with the used-up token and got a fresh one.
	[ "$(reg_proxy_requests '[.[] | select(.path | test("/blobs/")) | .status] | map(tostring) | join(" ")')" = '"200 401 200"' ]
	[ "$(reg_proxy_requests '[.[] | select(.path | startswith("/token"))] | length')" -eq 2 ]
}

@test "registry: a cut transfer resumes with Range and verifies" {
	registry_with_image
	reg_proxy_start "{\"cut\": [\"$LAYER\"]}"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	run reg_proxy_requests '[.[] | select(.path | test("/blobs/"))]'
	[ "$(echo "$output" | jq -r '.[0].status')" = cut ]
	[ "$(echo "$output" | jq -r '.[0].headers.Range')" = null ]
	[ "$(echo "$output" | jq -r '.[1].headers.Range')" = "bytes=$((LAYER_SIZE / 2))-" ]
	[ "$(echo "$output" | jq -r '.[1].status')" = 206 ]
	[ "$(echo "$output" | jq length)" -eq 2 ]
}

@test "registry: a server that ignores Range or answers the wrong range makes the client start over" {
	registry_with_image
	reg_proxy_start "{\"cut\": [\"$LAYER\"], \"ignore_range\": true}"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	[ "$(reg_proxy_requests '[.[] | select(.path | test("/blobs/")) | .status] | map(tostring) | join(" ")')" = '"cut 200"' ]
	reg_proxy_stop

	reg_proxy_start "{\"cut\": [\"$LAYER\"], \"bad_range\": true}"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer2"
	assert_status 0
	cmp "$T/layer2" "$(reg_blob_path "$LAYER")"
	# cut, a 206 from byte 0 (refused), then the whole blob without Range
	run reg_proxy_requests '[.[] | select(.path | test("/blobs/"))]'
	[ "$(echo "$output" | jq -r '[.[].status | tostring] | join(" ")')" = "cut 206 200" ]
	[ "$(echo "$output" | jq -r '.[2].headers.Range')" = null ]
}

@test "registry: a partial file from an earlier pull is resumed; a bad one is started over" {
	registry_with_image
	reg_proxy_start
	head -c 1000 "$(reg_blob_path "$LAYER")" >"$T/layer"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	[ "$(reg_proxy_requests '[.[] | select(.path | test("/blobs/")) | .headers.Range] | join(" ")')" = '"bytes=1000-"' ]

	# A complete file is verified without a request.
	: >"$REG_PROXY_LOG"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	[ "$(reg_proxy_requests '[.[] | select(.path | test("/blobs/"))] | length')" -eq 0 ]

	# A prefix that is not the blob's: the resumed result fails its digest, then a fresh start passes.
	head -c 1000 /dev/zero >"$T/bad"
	: >"$REG_PROXY_LOG"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/bad"
	assert_status 0
	cmp "$T/bad" "$(reg_blob_path "$LAYER")"
	[ "$(reg_proxy_requests '[.[] | select(.path | test("/blobs/")) | .headers.Range // "none"] | join(" ")')" = '"bytes=1000- none"' ]
}

@test "registry: 429 then 503 then success, honouring Retry-After; too many failures is an error" {
	registry_with_image
	reg_proxy_start '{"fail": {"manifests/latest": [429, 503]}, "retry_after": 1}'
	run tool --tls-verify=false --retry-base-ms 50 get-manifest "$REG_PROXY/$REPO:latest" -o "$T/m"
	assert_status 0
	run reg_proxy_requests '[.[] | select(.path | test("/manifests/"))]'
	[ "$(echo "$output" | jq -r '[.[].status | tostring] | join(" ")')" = "429 503 200" ]
	# Retry-After: 1 was waited for (the base backoff is 50 ms).
	[ "$(echo "$output" | jq '.[1].time - .[0].time >= 0.95')" = true ]

	reg_proxy_config '{"fail": {"/blobs/": [500, 502, 503, 504, 503, 503]}}'
	run tool --tls-verify=false --retries 2 --retry-base-ms 10 fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 1
	assert_contains "HTTP 503" "after 2 retries" "UNAVAILABLE: injected failure"
}

@test "registry: a blob redirected to another host gets no Authorization header" {
	registry_with_image
	reg_proxy_start '{"auth": "bearer", "redirect_blobs": true}'
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer"
	assert_status 0
	cmp "$T/layer" "$(reg_blob_path "$LAYER")"
	# The registry saw the token; the blob store (localhost:PORT) saw the request without it.
	[ "$(reg_proxy_requests '[.[] | select(.server == "main" and (.path | test("/blobs/")) and .status == 307) | .headers.Authorization | startswith("Bearer ")] | all')" = true ]
	run reg_proxy_requests '[.[] | select(.server == "store")]'
	[ "$(echo "$output" | jq length)" -eq 1 ]
	[ "$(echo "$output" | jq -r '.[0].headers | has("Authorization")')" = false ]
	[ "$(echo "$output" | jq -r '.[0].headers.Host')" = "$REG_PROXY_STORE" ]

	# A cut at the blob store: the retry starts at the registry again and resumes there.
	reg_proxy_config "{\"auth\": \"bearer\", \"redirect_blobs\": true, \"cut\": [\"$LAYER\"]}"
	: >"$REG_PROXY_LOG"
	run tool --tls-verify=false fetch-blob "$REG_PROXY/$REPO" "$LAYER" "$LAYER_SIZE" "$T/layer2"
	assert_status 0
	cmp "$T/layer2" "$(reg_blob_path "$LAYER")"
	[ "$(reg_proxy_requests '[.[] | select(.server == "store") | .status | tostring] | join(" ")')" = '"cut 206"' ]
	[ "$(reg_proxy_requests '[.[] | select(.server == "store") | .headers | has("Authorization")] | any')" = false ]
}

# SPDX-License-Identifier: Apache-2.0
# Test images and store checks for pull.bats.  Load after helpers.bash and registry.bash.
#
#   fixtures_build            the busybox layout (contrib/mkimage.sh, shared with registry.bash)
#                             and the fixtures of mkfixture.py, once per bats run
#   fixture_push NAME [REPO]  push fixture NAME to $REG_HOST/REPO:latest (default fx/NAME); an
#                             index is pushed with all its manifests; REG_PUSH_CERT_DIR, when
#                             set, is skopeo's --dest-cert-dir (a registry asking for a client
#                             certificate)
#   store_blobs_verified DIR  every blob in the store DIR hashes to its name
#   store_images DIR          the image names in the store DIR, one a line
#   slow_proxy_start RATE     a throttling proxy in front of $REG_HOST (sets PROXY_HOST, PROXY_LOG)
#   slow_proxy_stop

FIXTURES=(whiteouts multiarch zstd big shared-a shared-b symlink-escape hardlink-escape dotdot)

# The host paths the escape fixtures aim at: a file and a directory that must never change.
ESCAPE_DIR="/tmp/isolazi-pull-escape-$(id -u)"

fixtures_build() {
	local base="$BATS_RUN_TMPDIR/image" out="$BATS_RUN_TMPDIR/fixtures" name
	exec 8>"$BATS_RUN_TMPDIR/image.lock"
	flock 8
	if [ ! -e "$base/.done" ]; then
		bash "$SRCDIR/contrib/mkimage.sh" "$base" >&2
		touch "$base/.done"
	fi
	if [ ! -e "$out/.done" ]; then
		rm -rf "$out"
		for name in "${FIXTURES[@]}"; do
			case "$name" in
			symlink-escape) python3 "$INTEGRATION_DIR/mkfixture.py" "$base" "$out" "$name" "$ESCAPE_DIR" ;;
			hardlink-escape) python3 "$INTEGRATION_DIR/mkfixture.py" "$base" "$out" "$name" "$ESCAPE_DIR/secret" ;;
			dotdot) python3 "$INTEGRATION_DIR/mkfixture.py" "$base" "$out" "$name" "$ESCAPE_DIR/dotdot" ;;
			*) python3 "$INTEGRATION_DIR/mkfixture.py" "$base" "$out" "$name" ;;
			esac
		done
		touch "$out/.done"
	fi
	exec 8>&-
	FIXTURE_LAYOUT="$out"
	export FIXTURE_LAYOUT
}

fixture_push() {
	local name="$1" repo="${2:-fx/$1}" all=() creds=()
	[ "$name" = multiarch ] && all=(--all)
	[ -z "${REG_USER:-}" ] || creds=(--dest-creds "$REG_USER:$REG_PASS")
	# A registry that demands a client certificate (reg_start --client-ca).
	[ -z "${REG_PUSH_CERT_DIR:-}" ] || creds+=(--dest-cert-dir "$REG_PUSH_CERT_DIR")
	timeout --kill-after=5 120 skopeo copy --quiet "${all[@]}" "${creds[@]}" --dest-tls-verify=false \
		"oci:$FIXTURE_LAYOUT:$name" "docker://$REG_HOST/$repo:latest"
}

store_blobs_verified() {
	local f bad=0
	for f in "$1"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		if [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "${f##*/}" ]; then
			echo "blob $f does not match its name" >&2
			bad=1
		fi
	done
	return $bad
}

store_images() {
	isolazi_pull_bare --store "$1" images --format json | jq -r '.[].name'
}

# isolazi_pull_bare ARGS...: the binary, bounded.
isolazi_pull_bare() {
	timeout --kill-after=5 "${PULL_TIMEOUT:-120}" "$ISOLAZI_PULL" "$@"
}

slow_proxy_start() {
	local dir="$BATS_TEST_TMPDIR/proxy"
	mkdir -p "$dir"
	setsid python3 "$INTEGRATION_DIR/slow-proxy.py" --upstream "$REG_HOST" --rate "$1" --log "$dir/log" \
		--port-file "$dir/port" </dev/null >"$dir/out" 2>&1 3>&- &
	echo $! >"$dir/pid"
	wait_file "$dir/port" 100
	PROXY_HOST="127.0.0.1:$(cat "$dir/port")"
	PROXY_LOG="$dir/log"
	export PROXY_HOST PROXY_LOG
}

slow_proxy_stop() {
	local pidfile="$BATS_TEST_TMPDIR/proxy/pid" pid
	[ -f "$pidfile" ] || return 0
	pid="$(cat "$pidfile")"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

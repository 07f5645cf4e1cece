# SPDX-License-Identifier: Apache-2.0
# A private docker-registry (Debian's distribution 2.x) for the isolazi-pull tests: plain HTTP
# on 127.0.0.1, a free port, config and storage under a directory of the test's own, optionally
# with htpasswd Basic auth.  Load it after helpers.bash.  Self-contained: it does not need
# clients.bash, and its names do not clash with it.
#
# Functions (stable: other test files use them):
#   reg_start [DIR] [--user USER PASS]
#                    start a registry whose config, log, htpasswd and storage live in DIR
#                    (default: $BATS_TEST_TMPDIR/registry inside a test, else
#                    $BATS_FILE_TMPDIR/registry); with --user it demands Basic auth (bcrypt
#                    htpasswd made with `htpasswd -B`).  Sets and exports REG_HOST
#                    (127.0.0.1:PORT), REG_DIR, REG_USER and REG_PASS (empty without --user).
#   reg_start ... --tls PKI [--client-ca]
#                    the same over HTTPS with PKI/server.crt and PKI/server.key (from
#                    reg_make_pki); with --client-ca it also demands a client certificate
#                    signed by PKI/client-ca.crt.  Pushes need REG_PUSH_CERT_DIR for that.
#   reg_make_pki DIR make a test PKI in DIR: ca.crt (the CA that signed server.crt, for
#                    127.0.0.1 and localhost), other-ca.crt (a CA that signed nothing the
#                    registry uses), client-ca.crt, and client.cert/client.key signed by it.
#   reg_stop         stop it (TERM, then KILL after 10 s) and wait: no process is left.
#   reg_push_busybox [REPO:TAG] [oci|v2s2]
#                    push the busybox test image (contrib/mkimage.sh, built once per bats run)
#                    as REPO:TAG (default isolazi/busybox:latest) in OCI (default) or Docker
#                    schema2 form; sets REG_IMAGE (host/repo:tag).
#   reg_manifest_digest REPO TAG
#                    the digest the registry holds for the tag (from its storage).
#   reg_blob_path DIGEST
#                    the file in the registry's storage that holds the blob (for tampering).
#   reg_manifest_json REPO TAG
#                    the manifest's bytes as stored (cat of its blob).
#   reg_layer_digest REPO TAG [N]
#                    the digest of layer N (default 0) of the tag's manifest.
#   reg_config_digest REPO TAG
#                    the digest of the tag's image config.
#   reg_proxy_start [JSON]
#                    start tests/integration/registry-proxy.py in front of the running
#                    registry (a token server and Bearer auth, cut transfers, injected 429/5xx,
#                    ignored Range, redirects to another host: see the script's header) with
#                    JSON as its config (default {}).  Sets and exports REG_PROXY
#                    (127.0.0.1:PORT), REG_PROXY_STORE (localhost:PORT, the "other host"),
#                    REG_PROXY_CONFIG and REG_PROXY_LOG (one JSON line per request seen).
#   reg_proxy_config JSON
#                    replace the proxy's config (read again on every request).
#   reg_proxy_requests JQ_FILTER
#                    the logged requests (as a JSON array) through a jq filter, e.g.
#                    'map(select(.path | test("/blobs/"))) | length'.
#   reg_proxy_stop   stop the proxy and wait for it.

# _reg_port_open PORT: something listens on 127.0.0.1:PORT.
_reg_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

reg_start() {
	local dir="" port tries=20 n user="" pass="" pid pki="" client_ca=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--user)
			user="$2"
			pass="$3"
			shift 3
			;;
		--tls)
			pki="$2"
			shift 2
			;;
		--client-ca)
			client_ca=1
			shift
			;;
		*)
			dir="$1"
			shift
			;;
		esac
	done
	if [ -z "$dir" ]; then
		if [ -n "${BATS_TEST_TMPDIR:-}" ]; then
			dir="$BATS_TEST_TMPDIR/registry"
		else
			dir="$BATS_FILE_TMPDIR/registry"
		fi
	fi
	command -v docker-registry >/dev/null || {
		echo "reg_start: docker-registry not installed (contrib/install-deps.sh)" >&2
		return 1
	}
	mkdir -p "$dir/storage"
	if [ -n "$user" ]; then
		htpasswd -Bbc "$dir/htpasswd" "$user" "$pass" 2>/dev/null
	fi
	while [ $tries -gt 0 ]; do
		tries=$((tries - 1))
		port=$((20000 + RANDOM % 30000))
		_reg_port_open "$port" && continue
		{
			echo "version: 0.1"
			echo "log:"
			echo "  level: warn"
			echo "  accesslog:"
			echo "    disabled: true"
			echo "storage:"
			echo "  filesystem:"
			echo "    rootdirectory: $dir/storage"
			echo "  delete:"
			echo "    enabled: true"
			echo "http:"
			echo "  addr: 127.0.0.1:$port"
			if [ -n "$pki" ]; then
				echo "  tls:"
				echo "    certificate: $pki/server.crt"
				echo "    key: $pki/server.key"
				if [ -n "$client_ca" ]; then
					echo "    clientcas:"
					echo "      - $pki/client-ca.crt"
				fi
			fi
			if [ -n "$user" ]; then
				echo "auth:"
				echo "  htpasswd:"
				echo "    realm: isolazi-test"
				echo "    path: $dir/htpasswd"
			fi
		} >"$dir/config.yml"
		# Its own session, no bats fd 3 and no stdio of ours: bats would wait for it.
		setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/log" 2>&1 3>&- &
		pid=$!
		echo "$pid" >"$dir/pid"
		n=100
		while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
			if _reg_port_open "$port"; then
				REG_HOST="127.0.0.1:$port"
				REG_DIR="$dir"
				REG_USER="$user"
				REG_PASS="$pass"
				export REG_HOST REG_DIR REG_USER REG_PASS
				return 0
			fi
			sleep 0.1
			n=$((n - 1))
		done
		reg_stop "$dir"
	done
	echo "reg_start: the registry did not start; its log:" >&2
	cat "$dir/log" >&2
	return 1
}

# _reg_cert DIR NAME CA|- SUBJECT [EXTFILE]: an EC key DIR/NAME.key and a certificate
# DIR/NAME.crt signed by DIR/CA (self-signed with -), valid for a day.
_reg_cert() {
	local dir="$1" name="$2" ca="$3" subj="$4" ext="${5:-}"
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key" 2>/dev/null || return 1
	if [ "$ca" = - ]; then
		openssl req -x509 -new -key "$dir/$name.key" -subj "$subj" -days 1 -out "$dir/$name.crt" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	else
		openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null &&
			openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
				-days 1 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
	fi
}

reg_make_pki() {
	local dir="$1"
	mkdir -p "$dir"
	printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
	printf '%s\n' "extendedKeyUsage=clientAuth" >"$dir/client.ext"
	if ! { _reg_cert "$dir" ca - "/CN=isolazi test registry CA" &&
		_reg_cert "$dir" other-ca - "/CN=isolazi test unrelated CA" &&
		_reg_cert "$dir" client-ca - "/CN=isolazi test client CA" &&
		_reg_cert "$dir" server ca "/CN=127.0.0.1" "$dir/server.ext" &&
		_reg_cert "$dir" client client-ca "/CN=isolazi test client" "$dir/client.ext"; }; then
		echo "reg_make_pki: openssl failed" >&2
		return 1
	fi
	mv "$dir/client.crt" "$dir/client.cert"
}

# reg_stop_pidfile PIDFILE TRIES: TERM the process, KILL it after TRIES tenths of a second,
# wait for it (clients.bash's stop_pidfile does the same for podman.bats and containerd.bats).
reg_stop_pidfile() {
	local pid tries="$2"
	[ -f "$1" ] || return 0
	pid="$(cat "$1")"
	kill -TERM "$pid" 2>/dev/null || true
	while [ "$tries" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$1"
}

# reg_stop [DIR]
reg_stop() {
	local dir="${1:-${REG_DIR:-}}"
	[ -n "$dir" ] || return 0
	reg_stop_pidfile "$dir/pid" 100
}

reg_push_busybox() {
	local ref="${1:-isolazi/busybox:latest}" format="${2:-oci}" layout="$BATS_RUN_TMPDIR/image"
	local creds=()
	# The same layout and lock as clients.bash's image_push: one build per bats run.
	exec 8>"$BATS_RUN_TMPDIR/image.lock"
	flock 8
	if [ ! -e "$layout/.done" ]; then
		bash "$SRCDIR/contrib/mkimage.sh" "$layout" >&2
		touch "$layout/.done"
	fi
	exec 8>&-
	[ -z "${REG_USER:-}" ] || creds=(--dest-creds "$REG_USER:$REG_PASS")
	case "$format" in
	oci) format=oci ;;
	v2s2) format=v2s2 ;;
	*)
		echo "reg_push_busybox: format is oci or v2s2, not $format" >&2
		return 1
		;;
	esac
	timeout --kill-after=5 120 skopeo copy --quiet --dest-tls-verify=false --format "$format" "${creds[@]}" \
		"oci:$layout:latest" "docker://$REG_HOST/$ref"
	REG_IMAGE="$REG_HOST/$ref"
	export REG_IMAGE
}

_reg_v2() {
	echo "$REG_DIR/storage/docker/registry/v2"
}

reg_manifest_digest() {
	local link
	link="$(_reg_v2)/repositories/$1/_manifests/tags/$2/current/link"
	[ -f "$link" ] || {
		echo "reg_manifest_digest: no tag $1:$2 in $REG_DIR" >&2
		return 1
	}
	cat "$link"
}

reg_blob_path() {
	local alg="${1%%:*}" hex="${1#*:}"
	echo "$(_reg_v2)/blobs/$alg/${hex:0:2}/$hex/data"
}

reg_manifest_json() {
	local d
	d="$(reg_manifest_digest "$1" "$2")" || return 1
	cat "$(reg_blob_path "$d")"
}

reg_layer_digest() {
	reg_manifest_json "$1" "$2" | jq -r ".layers[${3:-0}].digest"
}

reg_config_digest() {
	reg_manifest_json "$1" "$2" | jq -r ".config.digest"
}

reg_proxy_start() {
	local json="${1:-}" dir="$REG_DIR/proxy" n=100 pid
	[ -n "$json" ] || json="{}"
	mkdir -p "$dir"
	rm -f "$dir/ports"
	: >"$dir/log"
	echo "$json" >"$dir/config.json"
	setsid python3 "$SRCDIR/tests/integration/registry-proxy.py" --upstream "$REG_HOST" \
		--config "$dir/config.json" --log "$dir/log" --ports "$dir/ports" </dev/null >"$dir/out" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$dir/pid"
	while [ $n -gt 0 ] && [ ! -s "$dir/ports" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	if [ ! -s "$dir/ports" ]; then
		echo "reg_proxy_start: the proxy did not start:" >&2
		cat "$dir/out" >&2
		reg_proxy_stop
		return 1
	fi
	read -r n pid <"$dir/ports"
	REG_PROXY="127.0.0.1:$n"
	REG_PROXY_STORE="localhost:$pid"
	REG_PROXY_CONFIG="$dir/config.json"
	REG_PROXY_LOG="$dir/log"
	export REG_PROXY REG_PROXY_STORE REG_PROXY_CONFIG REG_PROXY_LOG
}

reg_proxy_config() {
	echo "$1" >"$REG_PROXY_CONFIG.new"
	mv "$REG_PROXY_CONFIG.new" "$REG_PROXY_CONFIG"
}

reg_proxy_requests() {
	jq -s "$1" "$REG_PROXY_LOG"
}

reg_proxy_stop() {
	[ -n "${REG_DIR:-}" ] || return 0
	reg_stop_pidfile "$REG_DIR/proxy/pid" 50
}

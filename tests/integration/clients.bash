# SPDX-License-Identifier: Apache-2.0
# Shared setup for podman.bats and containerd.bats: a private registry holding the busybox test
# image, and a private podman and containerd (config, storage, state and socket under the bats
# file's temporary directory) that run the runtime under test ($RUNTIME, from helpers.bash).
#
# Environment:
#   ISOLAZI_CLIENT_TIMEOUT  bound on every podman/ctr call in seconds (default 60)

CLIENT_TIMEOUT="${ISOLAZI_CLIENT_TIMEOUT:-60}"

# The runtime's default state directory: podman never passes --root.
case "$RUNTIME_NAME" in
runc) RUNTIME_STATE_ROOT=/run/runc ;;
*) RUNTIME_STATE_ROOT="/run/$RUNTIME_NAME" ;;
esac

# client SECONDS CMD...: run a client command bounded in time; a timeout is reported on stderr.
client_bounded() {
	local t="$1" rc=0
	shift
	timeout --kill-after=5 "$t" "$@" || rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "timed out after ${t}s: $*" >&2
	fi
	return $rc
}

# requires_client CMD...: skip when a client tool is not installed.
requires_client() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed (contrib/install-deps.sh)"
	done
}

# Background daemons must not hold bats' fd 3 or stdio, or bats waits for them forever.
# spawn LOG PIDFILE CMD...: start CMD in the background in its own session.
spawn() {
	local log="$1" pidfile="$2"
	shift 2
	setsid "$@" </dev/null >"$log" 2>&1 3>&- &
	echo $! >"$pidfile"
}

# stop_pidfile PIDFILE: TERM the process, KILL it after 10 s, wait for it.
stop_pidfile() {
	local pid tries=100
	[ -f "$1" ] || return 0
	pid="$(cat "$1")"
	kill -TERM "$pid" 2>/dev/null || true
	while [ $tries -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$1"
}

# port_open PORT: something listens on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for TRIES CMD...: poll CMD every 0.1 s.
wait_for() {
	local tries="$1"
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# ---- registry and image --------------------------------------------------------------------
# registry_start: Debian's docker-registry on a free 127.0.0.1 port with its own storage;
# sets REGISTRY (host:port).
registry_start() {
	local dir="$BATS_FILE_TMPDIR/registry" port tries=20
	mkdir -p "$dir/storage"
	while [ $tries -gt 0 ]; do
		port=$((20000 + RANDOM % 30000))
		tries=$((tries - 1))
		port_open "$port" && continue
		cat >"$dir/config.yml" <<-EOF
			version: 0.1
			log:
			  level: warn
			storage:
			  filesystem:
			    rootdirectory: $dir/storage
			  delete:
			    enabled: true
			http:
			  addr: 127.0.0.1:$port
		EOF
		spawn "$dir/log" "$dir/pid" docker-registry serve "$dir/config.yml"
		if wait_for 100 port_open "$port"; then
			REGISTRY="127.0.0.1:$port"
			export REGISTRY
			return 0
		fi
		stop_pidfile "$dir/pid"
	done
	echo "registry did not start; its log:" >&2
	cat "$dir/log" >&2
	return 1
}

registry_stop() {
	stop_pidfile "$BATS_FILE_TMPDIR/registry/pid"
}

# image_push: build the busybox image once per bats run and push it to the registry; sets
# IMAGE (the reference clients pull).
image_push() {
	local layout="$BATS_RUN_TMPDIR/image"
	exec 8>"$BATS_RUN_TMPDIR/image.lock"
	flock 8
	if [ ! -e "$layout/.done" ]; then
		bash "$SRCDIR/contrib/mkimage.sh" "$layout" >&2
		touch "$layout/.done"
	fi
	exec 8>&-
	IMAGE="$REGISTRY/isolazi/busybox:latest"
	client_bounded 60 skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$IMAGE"
	export IMAGE
}

# ---- leak checks shared by both clients ------------------------------------------------------
# mounts_under DIR: mount points at or below DIR.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo
}

# umount_under DIR: lazily unmount everything at or below DIR, deepest first.
umount_under() {
	local m
	mounts_under "$1" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# state_ids: container ids in the runtime's default state directory (podman's 64-hex ids).
state_ids() {
	local d
	for d in "$RUNTIME_STATE_ROOT"/*; do
		[ -d "$d" ] && basename "$d"
	done | grep -E '^[0-9a-f]{64}$' || true
}

# cgroups_named PATTERN: cgroup directories (any hierarchy) whose name matches the ERE.
cgroups_named() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d 2>/dev/null | grep -E "$1" || true
}

# report_leaks TEXT: fail with the leak report when TEXT is not empty.
report_leaks() {
	if [ -n "$1" ]; then
		echo "LEAKED after the test:" >&2
		echo "$1" >&2
		return 1
	fi
}

# show_last_output: on failure, what the last `run` printed.
show_last_output() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output:-}" ]; then
		echo "last output (status ${status:-?}):" >&2
		echo "$output" | head -n 40 >&2
	fi
}

# assert_status N: $status is N (with the output on failure).
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected status $1, got $status; output: $output" >&2
		return 1
	fi
}

# in_tty SECONDS CMD...: run CMD on a new 30x100 pty as its controlling terminal and stdio, stdin
# at end of file; the pty's output goes to stdout and CMD's status is returned (ptyrun.py).
TTY_ROWS=30 TTY_COLS=100
in_tty() {
	local t="$1"
	shift
	client_bounded "$t" python3 "$INTEGRATION_DIR/ptyrun.py" "$TTY_ROWS" "$TTY_COLS" "$@" </dev/null
}

# ---- podman ------------------------------------------------------------------------------------
# podman_vars: the private podman's paths and command line (PODMAN); call it at load time.
podman_vars() {
	PM_DIR="$BATS_FILE_TMPDIR/podman"
	PM_GRAPH="$PM_DIR/graph"
	PM_RUN="$PM_DIR/run"
	# Every container of this file goes below this cgroup parent (one per hierarchy).
	PM_CGROUP="isolazi-podman-${BATS_RUN_TMPDIR##*-}"
	PODMAN=(podman --root "$PM_GRAPH" --runroot "$PM_RUN" --storage-driver overlay
		--cgroup-manager cgroupfs --events-backend file --tmpdir "$PM_DIR/tmp" --runtime "$RUNTIME_NAME")
	CONTAINERS_CONF="$PM_DIR/containers.conf"
	CONTAINERS_REGISTRIES_CONF="$PM_DIR/registries.conf"
	CONTAINERS_STORAGE_CONF="$PM_DIR/storage.conf"
	export CONTAINERS_CONF CONTAINERS_REGISTRIES_CONF CONTAINERS_STORAGE_CONF
}

# podman_setup_file: private storage, config and registry access for podman; pulls IMAGE.
podman_setup_file() {
	mkdir -p "$PM_GRAPH" "$PM_RUN" "$PM_DIR/tmp" "$PM_DIR/cni"
	cat >"$PM_DIR/registries.conf" <<-EOF
		unqualified-search-registries = []
		[[registry]]
		location = "$REGISTRY"
		insecure = true
	EOF
	cat >"$PM_DIR/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$PM_GRAPH"
		runroot = "$PM_RUN"
	EOF
	# contrib/containers.conf plus what isolates this podman from the host's.
	# [engine.runtimes] maps the runtime's name to the binary under test: podman matches the
	# name (not the path) against runtime_supports_nocgroups.
	awk -v dir="$PM_DIR" -v name="$RUNTIME_NAME" -v rt="$RUNTIME" '
		skip { if ($0 ~ /\]/) skip = 0; next }
		inrt && index($0, name " = [") == 1 { skip = ($0 !~ /\]/); next }
		/^\[/ { inrt = 0 }
		{ print }
		/^\[engine\.runtimes\]$/ {
			inrt = 1
			print name " = [\"" rt "\"]"
		}
		/^\[containers\]$/ {
			print "netns = \"none\""
			print "init_path = \"/usr/bin/catatonit\""
		}
		/^\[engine\]$/ {
			print "cgroup_manager = \"cgroupfs\""
			print "events_logger = \"file\""
			print "events_logfile_path = \"" dir "/events.log\""
			print "tmp_dir = \"" dir "/tmp\""
			print "static_dir = \"" dir "/graph/libpod\""
			print "volume_path = \"" dir "/graph/volumes\""
			print "num_locks = 256"
		}
	' "$SRCDIR/contrib/containers.conf" >"$PM_DIR/containers.conf"
	cat >>"$PM_DIR/containers.conf" <<-EOF

		[network]
		network_backend = "cni"
		network_config_dir = "$PM_DIR/cni"
	EOF
	pm pull -q "$IMAGE" >/dev/null
}

# pm ARGS...: podman with the private storage and the runtime under test, bounded.  The
# command line is also in the array PODMAN, for callers that need it (in_tty).
pm() {
	client_bounded "$CLIENT_TIMEOUT" "${PODMAN[@]}" "$@"
}

# pm_run ARGS...: `podman run` with this file's cgroup parent (bounded, like pm).
pm_run() {
	pm run --cgroup-parent "/$PM_CGROUP" "$@"
}

# pm_cleanup: remove every container and pod, quietly.
pm_cleanup() {
	pm pod rm -af -t 0 >/dev/null 2>&1 || true
	pm rm -af -t 0 >/dev/null 2>&1 || true
}

# podman_leaks: containers, runtime state, mounts, cgroups and processes podman left behind.
podman_leaks() {
	local c
	c="$(pm ps -aq 2>&1)" || echo "podman ps failed: $c"
	[ -z "$c" ] || echo "containers left: $(echo "$c" | tr '\n' ' ')"
	c="$(pm pod ps -q 2>&1)" || echo "podman pod ps failed: $c"
	[ -z "$c" ] || echo "pods left: $(echo "$c" | tr '\n' ' ')"
	for c in $(state_ids); do
		echo "runtime state left: $RUNTIME_STATE_ROOT/$c"
	done
	# The overlay driver keeps its home bind-mounted onto itself while the storage is in use.
	for c in $(mounts_under "$PM_DIR"); do
		[ "$c" = "$PM_GRAPH/overlay" ] || echo "mount left: $c"
	done
	# Podman keeps empty cgroups of its own below the parent (conmon, and a pod's in the
	# hierarchies it does not manage); a container's cgroup or any process is a leak.
	while read -r c; do
		if [[ "${c##*/}" == libpod-* ]]; then
			echo "cgroup left: $c"
		elif [ -n "$(cat "$c/cgroup.procs" 2>/dev/null)" ]; then
			echo "processes left in $c: $(tr '\n' ' ' <"$c/cgroup.procs")"
		fi
	done < <(find /sys/fs/cgroup/*/"$PM_CGROUP" -mindepth 1 -type d 2>/dev/null)
	for c in $(pgrep -x conmon || true); do
		if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -qF "$PM_DIR"; then
			echo "conmon left: $c"
		fi
	done
}

podman_teardown() {
	local found tries=30
	show_last_output
	# A failed test may leave its containers: remove them first, then check that removing
	# them left nothing behind.
	[ -n "${BATS_TEST_COMPLETED:-}" ] || pm_cleanup
	while [ $tries -gt 0 ]; do
		found="$(podman_leaks)"
		[ -z "$found" ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	# Clean up anyway so that one leak does not fail the following tests too.
	[ -z "$found" ] || pm_cleanup
	report_leaks "$found"
}

podman_teardown_file() {
	local d
	if [ -n "${PM_DIR:-}" ]; then
		pm_cleanup
		pm rmi -af >/dev/null 2>&1 || true
		umount_under "$PM_DIR"
		for d in /sys/fs/cgroup/*/"$PM_CGROUP"; do
			[ -d "$d" ] || continue
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	fi
	registry_stop
}

# ---- containerd --------------------------------------------------------------------------------
# containerd_setup_file: a private containerd (root, state, socket under the file's tmpdir);
# pulls IMAGE into the namespace CTR_NS.
containerd_setup_file() {
	CTRD_DIR="$BATS_FILE_TMPDIR/containerd"
	CTRD_SOCK="$CTRD_DIR/containerd.sock"
	CTR_NS="isolazi-test-$$"
	CTR_RUNC_ROOT="$CTRD_DIR/runc"
	mkdir -p "$CTRD_DIR/root" "$CTRD_DIR/state" "$CTR_RUNC_ROOT"
	cat >"$CTRD_DIR/config.toml" <<-EOF
		version = 2
		root = "$CTRD_DIR/root"
		state = "$CTRD_DIR/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]

		[grpc]
		  address = "$CTRD_SOCK"

		[ttrpc]
		  address = "$CTRD_DIR/containerd.sock.ttrpc"

		[debug]
		  address = "$CTRD_DIR/debug.sock"
		  level = "info"
	EOF
	spawn "$CTRD_DIR/log" "$CTRD_DIR/pid" containerd --config "$CTRD_DIR/config.toml"
	export CTRD_DIR CTRD_SOCK CTR_NS CTR_RUNC_ROOT
	if ! wait_for 150 ctr_ready; then
		echo "containerd did not start; its log:" >&2
		tail -n 30 "$CTRD_DIR/log" >&2
		return 1
	fi
	ctrd image pull --plain-http "$IMAGE" >/dev/null
}

ctr_ready() {
	[ -S "$CTRD_SOCK" ] && ctrd version >/dev/null 2>&1
}

# ctrd ARGS...: ctr on the private containerd, in this file's namespace, bounded.
ctrd() {
	client_bounded "$CLIENT_TIMEOUT" ctr --address "$CTRD_SOCK" --namespace "$CTR_NS" "$@"
}

# ctr_run ARGS...: `ctr run` with the runtime under test and a private runtime state dir.
ctr_run() {
	ctrd run --runc-binary "$RUNTIME" --runc-root "$CTR_RUNC_ROOT" "$@"
}

ctr_cleanup() {
	local id
	for id in $(ctrd task ls -q 2>/dev/null); do
		ctrd task kill -a -s KILL "$id" >/dev/null 2>&1 || true
		ctrd task delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(ctrd container ls -q 2>/dev/null); do
		ctrd container delete "$id" >/dev/null 2>&1 || true
	done
}

# shim_pids: containerd shims of this file's namespace.
shim_pids() {
	local p
	for p in $(pgrep -f containerd-shim-runc-v2 || true); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-namespace $CTR_NS "; then
			echo "$p"
		fi
	done
}

containerd_leaks() {
	local c
	c="$(ctrd task ls -q 2>&1)" || echo "ctrd task ls failed: $c"
	[ -z "$c" ] || echo "tasks left: $(echo "$c" | tr '\n' ' ')"
	c="$(ctrd container ls -q 2>&1)" || echo "ctrd container ls failed: $c"
	[ -z "$c" ] || echo "containers left: $(echo "$c" | tr '\n' ' ')"
	# The shim runs the runtime with --root RUNC_ROOT/NAMESPACE.
	for c in "$CTR_RUNC_ROOT/$CTR_NS"/*; do
		[ -e "$c" ] && echo "runtime state left: $c"
	done
	for c in $(mounts_under "$CTRD_DIR"); do
		echo "mount left: $c"
	done
	find /sys/fs/cgroup/*/"$CTR_NS" -mindepth 1 -type d 2>/dev/null | sed 's/^/cgroup left: /'
	for c in $(shim_pids); do
		echo "shim left: $c"
	done
}

containerd_teardown() {
	local found tries=30
	show_last_output
	[ -n "${BATS_TEST_COMPLETED:-}" ] || ctr_cleanup
	while [ $tries -gt 0 ]; do
		found="$(containerd_leaks)"
		[ -z "$found" ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -z "$found" ] || ctr_cleanup
	report_leaks "$found"
}

containerd_teardown_file() {
	local d
	if [ -n "${CTRD_DIR:-}" ]; then
		ctr_cleanup
		stop_pidfile "$CTRD_DIR/pid"
		umount_under "$CTRD_DIR"
		for d in /sys/fs/cgroup/*/"$CTR_NS"; do
			[ -d "$d" ] || continue
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	fi
	registry_stop
}

#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm sandboxes: lifecycle, exec, files in the guest and through the files root,
# snapshot/restore/fork contents, a killed daemon or QEMU (reaped, the disk survives), bad
# input, and the MCP server driven by a scripted client.  The python preset is the image.

load sandbox-common
load registry

teardown() {
	[ -z "${REG_DIR:-}" ] || reg_stop
	sb_teardown
}

@test "sandbox: create, list, info, exec (output, status, env, cwd, stdin, timeout), stop, start, destroy" {
	run sb create --preset python s1
	[ "$status" -eq 0 ]
	[ "$output" = s1 ]
	run sb list
	[ "$status" -eq 0 ]
	assert_contains "s1" "running" "preset:python"
	[ "$(sb list --json | jq -r '.[0].status')" = running ]
	run sb info s1
	[ "$(echo "$output" | jq -r .status)" = running ]
	[ "$(echo "$output" | jq -r .network)" = none ]
	[ "$(echo "$output" | jq -r .memory_mib)" = 256 ]

	run sb exec -e GREETING=hello --cwd /tmp s1 python3 -c 'import os, sys; print(os.environ["GREETING"], os.getcwd()); print("to-stderr", file=sys.stderr); sys.exit(3)'
	[ "$status" -eq 3 ]
	assert_contains "hello /tmp" "to-stderr"
	run sb exec --json s1 sh -c 'echo out; echo err >&2; exit 5'
	[ "$status" -eq 5 ]
	[ "$(echo "$output" | jq -r .stdout)" = out ]
	[ "$(echo "$output" | jq -r .stderr)" = err ]
	[ "$(echo "$output" | jq -r .exit_code)" = 5 ]
	run bash -c "echo from-stdin | $VM_RUNTIME sandbox exec -i s1 cat"
	[ "$output" = from-stdin ]
	# without -i, stdin is empty: cat ends at once
	run sb exec s1 cat
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	# --timeout kills the process and reports 124, as timeout(1)
	start=$SECONDS
	run sb exec --timeout 1 s1 sleep 30
	[ "$status" -eq 124 ]
	[ $((SECONDS - start)) -lt 10 ]
	# the sandbox is still usable after a timeout
	run sb exec s1 echo alive
	[ "$output" = alive ]

	run -127 sb exec s1 /nonexistent
	assert_contains 'exec `/nonexistent`: no such file or directory'

	# stop keeps the disk; start boots it again
	echo persisted | sb write s1 /root/note
	run sb stop s1
	[ "$status" -eq 0 ]
	[ -z "$(sb_qemus)" ]
	[ "$(sb info s1 | jq -r .status)" = stopped ]
	run sb exec s1 true
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `s1` is not running'
	run sb start s1
	[ "$status" -eq 0 ]
	[ "$(sb read s1 /root/note)" = persisted ]
	run sb start s1
	[ "$status" -ne 0 ]
	assert_contains "already running"

	run sb destroy s1
	[ "$status" -eq 0 ]
	[ -z "$(sb list -q)" ]
	[ -z "$(sb_qemus)" ]
	[ -z "$(ls -A "$SBROOT/layers")" ]
}

@test "sandbox: files: write/read in the guest, upload/download confined to the files root, size limit" {
	sb create --preset python f1
	printf 'line1\nline2\n' | sb write --mode 0600 f1 /work/sub/dir/a.txt
	[ "$(sb read f1 /work/sub/dir/a.txt)" = "$(printf 'line1\nline2')" ]
	[ "$(sb exec f1 stat -c %a /work/sub/dir/a.txt)" = 600 ]
	# binary content survives the round trip
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/bin"
	sb write f1 /work/bin <"$BATS_TEST_TMPDIR/bin"
	sb read f1 /work/bin >"$BATS_TEST_TMPDIR/bin.back"
	cmp "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/bin.back"

	# upload and download, relative to the files root
	head -c 1200000 /dev/urandom >"$FILES/in.dat"
	run sb upload --files-root "$FILES" f1 in.dat /work/in.dat
	[ "$status" -eq 0 ]
	[ "$(sb exec f1 sha256sum /work/in.dat | cut -d' ' -f1)" = "$(sha256sum "$FILES/in.dat" | cut -d' ' -f1)" ]
	run sb download --files-root "$FILES" f1 /work/in.dat out.dat
	[ "$status" -eq 0 ]
	cmp "$FILES/in.dat" "$FILES/out.dat"
	ISOLAZI_VM_FILES_ROOT="$FILES" sb download f1 /work/sub/dir/a.txt env.txt
	[ -s "$FILES/env.txt" ]

	# escapes are refused: .., absolute paths, symlinks out of the root; nothing is written outside
	echo secret >"$BATS_TEST_TMPDIR/outside"
	ln -s "$BATS_TEST_TMPDIR/outside" "$FILES/link"
	for p in ../outside "$BATS_TEST_TMPDIR/outside" link; do
		run sb upload --files-root "$FILES" f1 "$p" /work/stolen
		[ "$status" -ne 0 ]
		assert_contains "escapes the files root"
	done
	run sb exec f1 test -e /work/stolen
	[ "$status" -ne 0 ]
	run sb download --files-root "$FILES" f1 /work/in.dat ../dropped
	[ "$status" -ne 0 ]
	assert_contains "escapes the files root"
	[ ! -e "$BATS_TEST_TMPDIR/dropped" ]
	run env -u ISOLAZI_VM_FILES_ROOT "$VM_RUNTIME" sandbox upload f1 in.dat /x
	[ "$status" -ne 0 ]
	assert_contains "no files root is configured"

	# the size limit (16 MiB), both ways and for stdin
	head -c $((17 * 1024 * 1024)) /dev/zero >"$FILES/big"
	run sb upload --files-root "$FILES" f1 big /work/big
	[ "$status" -ne 0 ]
	assert_contains "exceed the limit"
	run sb exec f1 test -e /work/big
	[ "$status" -ne 0 ]
	run bash -c "head -c $((17 * 1024 * 1024)) /dev/zero | $VM_RUNTIME sandbox write f1 /work/big"
	[ "$status" -ne 0 ]
	assert_contains "exceeds the limit"
	sb exec f1 sh -c 'head -c 17825792 /dev/zero > /work/big'
	run sb read f1 /work/big
	[ "$status" -ne 0 ]
	assert_contains "exceed the limit"
	rm -f "$FILES/out.dat"
	run sb download --files-root "$FILES" f1 /work/big out.dat
	[ "$status" -ne 0 ]

	# guest-side errors name the path
	run sb read f1 /nope/missing
	[ "$status" -ne 0 ]
	assert_contains 'open `/nope/missing`: no such file or directory'
	run sb read f1 /work
	[ "$status" -ne 0 ]
	assert_contains "is a directory"
	run sb write f1 relative/path </dev/null
	[ "$status" -ne 0 ]
	assert_contains "must be absolute"
}

@test "sandbox: snapshot, restore and fork: contents, a tree, forks diverge and outlive their source" {
	sb create --preset python a
	echo v1 | sb write a /data/f
	run sb snapshot --time a snap1
	[ "$status" -eq 0 ]
	assert_contains snap1 "snapshot: "
	echo v2 | sb write a /data/f
	# a snapshot name is taken only once; an automatic one gets the next number
	run sb snapshot a snap1
	[ "$status" -ne 0 ]
	assert_contains "already has a snapshot"
	[ "$(sb snapshot a)" = snap-2 ]

	run sb restore --time a snap1
	[ "$status" -eq 0 ]
	[ "$(sb read a /data/f)" = v1 ]
	[ "$(sb info a | jq -r .status)" = running ]
	run sb snapshot --list a
	assert_contains "snap1 *" "  snap-2"
	run sb restore a nosuch
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `a` has no snapshot `nosuch`'

	# a fork starts from the snapshot's content and diverges from there
	run sb fork --snapshot snap1 a b
	[ "$status" -eq 0 ]
	[ "$(sb read b /data/f)" = v1 ]
	echo from-b | sb write b /data/f
	echo from-a | sb write a /data/f
	[ "$(sb read a /data/f)" = from-a ]
	[ "$(sb read b /data/f)" = from-b ]
	[ "$(sb info b | jq -r .forked_from)" = a@snap1 ]

	# exec --all runs in both, output under each name
	run sb exec --all cat /data/f
	[ "$status" -eq 0 ]
	assert_contains "=== a: exit 0" "from-a" "=== b: exit 0" "from-b"
	run sb exec --all --json sh -c 'cat /data/f; exit 1'
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "b") | .stdout')" = from-b ]
	# in parallel (one after the other would take 8 s or more), results in the order of the names
	start=$SECONDS
	run sb exec --all --json sh -c 'sleep 4; cat /data/f'
	[ $((SECONDS - start)) -lt 8 ]
	[ "$(echo "$output" | jq -r '[.[].name] | join(",")')" = a,b ]
	run sb exec --all -i cat
	[ "$status" -ne 0 ]
	assert_contains "cannot be used with"

	# the source goes; the fork keeps the layers it needs
	sb destroy a
	[ "$(sb read b /data/f)" = from-b ]
	sb stop b
	sb start b
	[ "$(sb read b /data/f)" = from-b ]

	# a fork without a snapshot name snapshots the source now; a stopped source works too
	sb stop b
	run sb fork b c
	[ "$status" -eq 0 ]
	[ "$(sb read c /data/f)" = from-b ]
	sb snapshot --list b | grep -q fork-c
}

@test "sandbox: a killed daemon or QEMU is reaped, nothing is left running, the disk survives" {
	sb create --preset python k
	echo kept | sb write k /root/kept
	daemon="$(jq -r .pid "$SBROOT/sandboxes/k/daemon.json")"
	kill -9 "$daemon"
	run sb list
	[ "$status" -eq 0 ]
	assert_contains "sandbox \`k\`: its daemon (pid $daemon) died; reaped, now stopped"
	[ "$(sb list --json | jq -r '.[0].status')" = stopped ]
	# QEMU died with its daemon; the socket and runtime file are gone
	for _ in $(seq 50); do [ -z "$(sb_qemus)" ] && break; sleep 0.1; done
	[ -z "$(sb_qemus)" ]
	[ ! -e "$SBROOT/sandboxes/k/sandbox.sock" ]
	[ ! -e "$SBROOT/sandboxes/k/daemon.json" ]
	run sb start k
	[ "$status" -eq 0 ]
	[ "$(sb read k /root/kept)" = kept ]

	qemu="$(jq -r .qemu_pid "$SBROOT/sandboxes/k/daemon.json")"
	kill -9 "$qemu"
	sleep 0.5
	run sb exec k true
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `k` is not running: its VM stopped: QEMU was killed by signal 9'
	[ "$(sb info k | jq -r .stopped_reason)" = "its VM stopped: QEMU was killed by signal 9" ]
	[ -z "$(sb_daemons)" ]
	[ ! -e "$SBROOT/sandboxes/k/sandbox.sock" ]
	sb start k
	[ "$(sb read k /root/kept)" = kept ]
}

@test "sandbox: bad input: unknown sandbox, bad names and values, a failed create leaves nothing" {
	for cmd in "exec nosuch true" "read nosuch /x" "snapshot nosuch" "restore nosuch s" "stop nosuch" "start nosuch" "destroy nosuch" "info nosuch" "policy nosuch"; do
		# shellcheck disable=SC2086 # the command's words
		run sb $cmd
		[ "$status" -ne 0 ]
		assert_contains 'sandbox `nosuch` does not exist'
	done
	run sb create --preset python "bad/name"
	[ "$status" -ne 0 ]
	assert_contains 'invalid sandbox name `bad/name`'
	run sb create --preset cobol x
	[ "$status" -ne 0 ]
	assert_contains 'unknown preset `cobol`'
	run env ISOLAZI_VM_PRESETS="$BATS_TEST_TMPDIR/none" "$VM_RUNTIME" sandbox create --preset ruby x
	[ "$status" -ne 0 ]
	assert_contains 'preset `ruby` is not built: run `contrib/sandbox-preset.sh ruby`'
	run sb create --memory lots --preset python x
	[ "$status" -ne 0 ]
	assert_contains 'invalid value `lots` for `--memory`'
	run sb create --network everywhere --preset python x
	[ "$status" -ne 0 ]
	assert_contains 'invalid network policy `everywhere`'
	run sb create -p 80 --preset python x
	[ "$status" -ne 0 ]
	assert_contains 'invalid port forward `80`'
	run sb create --bundle "$BATS_TEST_TMPDIR/nobundle" x
	[ "$status" -ne 0 ]
	assert_contains "is not a directory"
	run sb create x
	[ "$status" -ne 0 ]
	assert_contains "exactly one source"
	# a guest that cannot boot: the error says why, nothing stays
	run env ISOLAZI_VM_BOOT_TIMEOUT=1 ISOLAZI_VM_KERNEL=/etc/hostname "$VM_RUNTIME" sandbox create --preset python x
	[ "$status" -ne 0 ]
	assert_contains 'create sandbox `x`'
	[ -z "$(sb list -q)" ]
	[ -z "$(ls -A "$SBROOT/layers")" ]
	[ -z "$(sb_qemus)" ]

	sb create --preset python dup
	run sb create --preset python dup
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `dup` already exists'
}

@test "mcp: a scripted client lists the tools and calls them; failures are error results" {
	cat >"$BATS_TEST_TMPDIR/client.py" <<'PY'
import json, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
n = 0
def send(obj):
    p.stdin.write(json.dumps(obj) + "\n"); p.stdin.flush()
def call(method, params=None, notify=False):
    global n
    n += 1
    msg = {"jsonrpc": "2.0", "method": method}
    if params is not None: msg["params"] = params
    if notify:
        send(msg); return None
    msg["id"] = n
    send(msg)
    r = json.loads(p.stdout.readline())
    assert r["id"] == n and r["jsonrpc"] == "2.0", r
    return r
def tool(tool_name, **args):
    r = call("tools/call", {"name": tool_name, "arguments": args})["result"]
    return r["isError"], r["content"][0]["text"]
r = call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
assert r["result"]["serverInfo"]["name"] == "isolazi-vm" and "tools" in r["result"]["capabilities"], r
call("notifications/initialized", notify=True)
tools = {t["name"]: t for t in call("tools/list")["result"]["tools"]}
for t in ["sandbox_create", "sandbox_exec", "sandbox_write_file", "sandbox_read_file", "sandbox_snapshot", "sandbox_restore", "sandbox_fork", "sandbox_destroy", "sandbox_list"]:
    assert tools[t]["inputSchema"]["type"] == "object", t
assert tools["sandbox_exec"]["inputSchema"]["required"] == ["name", "command"]
assert tools["sandbox_snapshot_delete"]["inputSchema"]["required"] == ["name", "snapshot"]
pol = tools["sandbox_policy"]["inputSchema"]
assert pol["required"] == ["name"] and {"network", "allow_to", "deny_to"} <= set(pol["properties"]), pol
assert pol["properties"]["allow_to"]["required"] == ["sandbox", "port"], pol
def cli(*args):
    return subprocess.run([sys.argv[1], "sandbox"] + list(args), capture_output=True, text=True, timeout=60)
print("tools", len(tools))
err, text = tool("sandbox_create", name="m1", preset="python")
assert not err, text
err, text = tool("sandbox_exec", name="m1", command=["python3", "-c", "import os; print(os.environ['X']); exit(4)"], env={"X": "y"})
res = json.loads(text)
assert not err and res["exit_code"] == 4 and res["stdout"] == "y\n", text
err, text = tool("sandbox_exec", name="m1", command=["sleep", "20"], timeout_seconds=1)
assert not err and json.loads(text)["exit_code"] == 124 and json.loads(text)["timed_out"], text
assert tool("sandbox_write_file", name="m1", path="/srv/a.txt", content="one")[0] is False
err, snap = tool("sandbox_snapshot", name="m1")
assert not err and snap == "snap-1", snap
tool("sandbox_write_file", name="m1", path="/srv/a.txt", content="two")
assert tool("sandbox_snapshot", name="m1", snapshot="later") == (False, "later")
assert tool("sandbox_restore", name="m1", snapshot="snap-1")[0] is False
assert tool("sandbox_read_file", name="m1", path="/srv/a.txt") == (False, "one")
# snapshot deletion: `later` (a branch off snap-1 the disk no longer sits on) blocks snap-1's
err, text = tool("sandbox_snapshot_delete", name="m1", snapshot="snap-1")
assert err and "snapshot `later` is based on it" in text, text
err, text = tool("sandbox_snapshot_delete", name="m1", snapshot="nosuch")
assert err and "sandbox `m1` has no snapshot `nosuch`" in text, text
err, text = tool("sandbox_snapshot_delete", name="m1", snapshot="later")
assert not err, text
out = cli("snapshot", "--list", "m1").stdout
assert "snap-1" in out and "later" not in out, out
err, text = tool("sandbox_list")
assert json.loads(text)[0]["name"] == "m1", text
# failures are results with isError
err, text = tool("sandbox_exec", name="nosuch", command=["true"])
assert err and "sandbox `nosuch` does not exist" in text, text
err, text = tool("sandbox_exec", name="m1", command=[])
assert err and "command" in text, text
err, text = tool("sandbox_read_file", name="m1")
assert err and "argument `path`: required" in text, text
err, text = tool("sandbox_exec", name="m1", command=["/nope"])
assert err and "no such file or directory" in text, text
# protocol errors are JSON-RPC errors
assert call("tools/call", {"name": "no_such_tool", "arguments": {}})["error"]["code"] == -32602
assert call("no/such/method")["error"]["code"] == -32601
p.stdin.write("not json\n"); p.stdin.flush()
r = json.loads(p.stdout.readline())
assert r["error"]["code"] == -32700 and r["id"] is None, r
assert call("ping")["result"] == {}
# links between sandboxes, on the stopped m1 (nothing to restart): allow, shown by the CLI, deny
assert tool("sandbox_stop", name="m1")[0] is False
err, text = tool("sandbox_policy", name="m1", allow_to={"sandbox": "peer", "port": 8000})
assert not err and "at 10.0.2.100:8000" in text and "restarted" not in text, text
out = cli("policy", "m1").stdout
assert "network: none" in out and "allow-to: peer:8000 at 10.0.2.100:8000" in out, out
err, text = tool("sandbox_policy", name="m1", allow_to={"sandbox": "peer"})
assert err and "argument `allow_to`" in text, text
err, text = tool("sandbox_policy", name="m1", network="internet", deny_to={"sandbox": "peer", "port": 8000})
assert err and "exactly one of" in text, text
assert tool("sandbox_policy", name="m1", deny_to={"sandbox": "peer", "port": 8000})[0] is False
assert "allow-to" not in cli("policy", "m1").stdout
err, text = tool("sandbox_policy", name="m1", deny_to={"sandbox": "peer", "port": 8000})
assert err and "is not allowed to connect to `peer` port 8000" in text, text
assert tool("sandbox_destroy", name="m1")[0] is False
p.stdin.close()
assert p.wait() == 0
print("mcp ok")
PY
	run timeout 120 python3 "$BATS_TEST_TMPDIR/client.py" "$VM_RUNTIME" mcp
	[ "$status" -eq 0 ]
	assert_contains "tools 15" "mcp ok"
	[ -z "$(sb list -q)" ]
}

@test "sandbox: create from an image reference (pulled with isolazi-pull once, then reused)" {
	command -v docker-registry >/dev/null || skip "docker-registry not installed"
	command -v skopeo >/dev/null || skip "skopeo not installed"
	[ -x "$BUILDDIR/src/isolazi-pull/isolazi-pull" ] || skip "isolazi-pull not built"
	reg_start "$BATS_TEST_TMPDIR/registry"
	reg_push_busybox
	export ISOLAZI_PULL_STORE="$BATS_TEST_TMPDIR/store" ISOLAZI_VM_PULL_TLS_VERIFY=false
	run sb create --image "$REG_IMAGE" img1
	[ "$status" -eq 0 ]
	[ "$(sb exec img1 echo from-image)" = from-image ]
	[ "$(sb info img1 | jq -r .source)" = "image:$REG_IMAGE" ]
	sb destroy img1
	# the unpacked image is reused: no registry needed any more
	reg_stop
	REG_DIR=
	run sb create --image "$REG_IMAGE" img2
	[ "$status" -eq 0 ]
	[ "$(sb exec img2 echo again)" = again ]
	run sb create --image 127.0.0.1:1/no/such:tag img3
	[ "$status" -ne 0 ]
	assert_contains 'unpack image `127.0.0.1:1/no/such:tag`'
	[ -z "$(find "$SBROOT/images" -maxdepth 1 -name 'bundle-*.tmp.*')" ]
}

@test "sandbox snapshot --delete: refused while a later snapshot or a fork is based on it; folds or drops otherwise" {
	sb create --preset python d
	echo v1 | sb write d /data/f
	sb snapshot d s1
	echo v2 | sb write d /data/f
	sb snapshot d s2
	echo v3 | sb write d /data/f
	run sb snapshot --delete s1 d
	[ "$status" -ne 0 ]
	assert_contains 'delete snapshot `s1` of sandbox `d`: snapshot `s2` is based on it'
	sb fork --snapshot s2 d e
	run sb snapshot --delete s2 d
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `e` (a fork) is based on it'
	sb destroy e
	layers=$(ls "$SBROOT/layers" | wc -l)
	# the disk sits on s2: what was written since is folded into it, the sandbox restarts
	run sb snapshot --delete s2 d
	[ "$status" -eq 0 ]
	[ "$(sb read d /data/f)" = v3 ]
	[ "$(sb info d | jq -r '[.snapshots[].name] | join(",")')" = s1 ]
	[ "$(sb info d | jq -r .head)" = s1 ]
	[ "$(ls "$SBROOT/layers" | wc -l)" -eq $((layers - 1)) ]
	[ "$(sb info d | jq -r .status)" = running ]
	# a leaf that the disk does not sit on is dropped: restore to s1 leaves s3 on the side
	echo v4 | sb write d /data/f
	sb snapshot d s3
	sb restore d s1
	[ "$(sb read d /data/f)" = v1 ]
	sb stop d
	run sb snapshot --delete s3 d
	[ "$status" -eq 0 ]
	[ "$(sb info d | jq -r '[.snapshots[].name] | join(",")')" = s1 ]
	sb start d
	[ "$(sb read d /data/f)" = v1 ]
	echo v5 | sb write d /data/f
	# the last one, the disk on it, stopped or not
	sb snapshot --delete s1 d
	[ "$(sb info d | jq -r '.snapshots | length')" = 0 ]
	[ "$(sb info d | jq -r .head)" = null ]
	[ "$(sb read d /data/f)" = v5 ]
	run sb snapshot --delete nosuch d
	[ "$status" -ne 0 ]
	assert_contains 'sandbox `d` has no snapshot `nosuch`'
}

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test double in front of a plain docker-registry: a token server, Bearer-token auth with
scopes, and misbehaviour on demand (cut transfers, 429/5xx sequences, ignored Range, redirects
of blobs to another host).  Debian ships no token server, hence this.

    registry-proxy.py --upstream HOST:PORT --config FILE --log FILE --ports FILE

It listens on two free ports of 127.0.0.1: the registry ("main") and a blob store ("store",
reached through the name `localhost`, so it is another host for the client).  It writes
"MAIN STORE" to --ports once both listen.  --config is JSON, read again on every request, so a
test changes behaviour by rewriting it:

    auth          "none" (default) or "bearer": the API wants a token with the repository's
                  pull scope from /token (realm http://127.0.0.1:MAIN/token)
    users         {"user": "password"}: /token wants one of them (Basic); empty: anonymous
    refresh_tokens ["...", ...]: what a POST to /token (OAuth2 grant_type=refresh_token, as
                  clients with an identity token send) must carry
    token_field   "token" (default) or "access_token": the name of the token in the answer
    token_uses    a token stops working after that many API requests (0: never)
    cut           [digest, ...]: the first full GET of such a blob sends half and hangs up
    ignore_range  true: Range is ignored (200 with the whole blob)
    bad_range     true: a Range request gets a 206 whose Content-Range starts at 0
    fail          {"substring of the path": [429, 503, ...]}: the next requests whose path
                  contains it get these statuses, one each, in order
    retry_after   Retry-After value sent with a 429 (default none)
    redirect_blobs true: blob GETs get a 307 to http://localhost:STORE/store/<digest>?sig=x

Every request is logged as one JSON line: server, method, path, headers, status ("cut" for
a cut one), time.
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {"fail_used": {}, "cut_done": set(), "tokens": {}}
ARGS = None
PORTS = {}


def config():
    try:
        with open(ARGS.config) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def log(entry):
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def upstream(method, path, headers):
    conn = http.client.HTTPConnection(ARGS.upstream, timeout=30)
    fwd = {k: v for k, v in headers.items() if k.lower() in ("accept", "range")}
    conn.request(method, path, headers=fwd)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), body


class Handler(http.server.BaseHTTPRequestHandler):
    server_name_tag = "main"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def record(self, status):
        log({"server": self.server_name_tag, "method": self.command, "path": self.path,
             "headers": {k: v for k, v in self.headers.items()}, "status": status, "time": time.time()})

    def reply(self, status, body=b"", headers=None):
        self.record(status)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error_json(self, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.reply(status, body, h)

    def send_blob(self, status, headers, body, cfg, digest):
        """Forward an upstream answer, honouring the misbehaviour switches."""
        rng = self.headers.get("Range")
        hdrs = {k: v for k, v in headers if k.lower() in ("content-type", "docker-content-digest", "content-range")}
        if status == 206 and cfg.get("bad_range"):
            m = re.match(r"bytes=(\d+)-", rng or "")
            total = int(m.group(1)) + len(body) if m else len(body)
            hdrs["Content-Range"] = "bytes 0-%d/%d" % (len(body) - 1, total)
        if status == 200 and digest and digest in cfg.get("cut", []) and not rng:
            with LOCK:
                first = digest not in STATE["cut_done"]
                STATE["cut_done"].add(digest)
            if first:
                self.record("cut")
                self.send_response(200)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
        self.reply(status, body, hdrs)

    def fetch_blob(self, cfg, digest, path):
        headers = dict(self.headers.items())
        if cfg.get("ignore_range"):
            headers.pop("Range", None)
        status, h, body = upstream("GET", path, headers)
        self.send_blob(status, h, body, cfg, digest)


class MainHandler(Handler):
    server_name_tag = "main"

    def token_endpoint(self, cfg):
        users = cfg.get("users") or {}
        if users:
            auth = self.headers.get("Authorization", "")
            ok = False
            if auth.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = users.get(user) == pw
                except ValueError:
                    ok = False
            if not ok:
                return self.error_json(401, "UNAUTHORIZED", "invalid username or password")
        scope = ""
        m = re.search(r"[?&]scope=([^&]*)", self.path)
        if m:
            scope = urllib.parse.unquote(m.group(1))
        tok = secrets.token_hex(16)
        with LOCK:
            STATE["tokens"][tok] = {"scope": scope, "uses": 0}
        field = cfg.get("token_field", "token")
        self.reply(200, json.dumps({field: tok, "expires_in": 300}).encode(), {"Content-Type": "application/json"})

    def challenge(self, repo, error=None):
        realm = "http://127.0.0.1:%d/token" % PORTS["main"]
        v = 'Bearer realm="%s",service="isolazi-test"' % realm
        if repo:
            v += ',scope="repository:%s:pull"' % repo
        if error:
            v += ',error="%s"' % error
        return v

    def do_POST(self):
        cfg = config()
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self.path.split("?")[0] != "/token":
            return self.reply(404)
        if form.get("grant_type") != ["refresh_token"] or \
                form.get("refresh_token", [""])[0] not in (cfg.get("refresh_tokens") or []):
            return self.error_json(401, "UNAUTHORIZED", "invalid refresh token")
        tok = secrets.token_hex(16)
        with LOCK:
            STATE["tokens"][tok] = {"scope": form.get("scope", [""])[0], "uses": 0}
        self.reply(200, json.dumps({"access_token": tok, "expires_in": 300}).encode(),
                   {"Content-Type": "application/json"})

    def do_GET(self):
        cfg = config()
        path = self.path.split("?")[0]
        if path == "/token":
            return self.token_endpoint(cfg)
        for key, seq in (cfg.get("fail") or {}).items():
            if key in path:
                with LOCK:
                    used = STATE["fail_used"].get(key, 0)
                    STATE["fail_used"][key] = used + 1
                if used < len(seq):
                    h = {}
                    if seq[used] == 429 and cfg.get("retry_after") is not None:
                        h["Retry-After"] = str(cfg["retry_after"])
                    return self.error_json(seq[used], "TOOMANYREQUESTS" if seq[used] == 429 else "UNAVAILABLE",
                                           "injected failure", h)
        m = re.match(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$", path)
        repo = m.group(1) if m else None
        if cfg.get("auth") == "bearer":
            auth = self.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else None
            with LOCK:
                info = STATE["tokens"].get(tok) if tok else None
                if info is not None:
                    info["uses"] += 1
                    limit = cfg.get("token_uses", 0)
                    if limit and info["uses"] > limit:
                        info = None
            if info is None or (repo and ("repository:%s:" % repo) not in info["scope"]):
                return self.error_json(401, "UNAUTHORIZED", "authentication required",
                                       {"WWW-Authenticate": self.challenge(repo, "invalid_token" if tok else None)})
        if m and m.group(2) == "blobs" and cfg.get("redirect_blobs"):
            loc = "http://localhost:%d/store/%s/%s?sig=%s" % (PORTS["store"], repo, m.group(3), secrets.token_hex(4))
            return self.reply(307, b"", {"Location": loc})
        if m and m.group(2) == "blobs":
            return self.fetch_blob(cfg, m.group(3), self.path)
        status, h, body = upstream("GET", self.path, dict(self.headers.items()))
        hdrs = {k: v for k, v in h if k.lower() in ("content-type", "docker-content-digest", "www-authenticate")}
        self.reply(status, body, hdrs)


class StoreHandler(Handler):
    server_name_tag = "store"

    def do_GET(self):
        cfg = config()
        m = re.match(r"^/store/(.+)/([^/?]+)(\?.*)?$", self.path)
        if not m:
            return self.reply(404)
        repo, digest = m.group(1), m.group(2)
        self.fetch_blob(cfg, digest, "/v2/%s/blobs/%s" % (repo, digest))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ports", required=True)
    ARGS = p.parse_args()
    main_srv = Server(("127.0.0.1", 0), MainHandler)
    store_srv = Server(("127.0.0.1", 0), StoreHandler)
    PORTS["main"] = main_srv.server_address[1]
    PORTS["store"] = store_srv.server_address[1]
    threading.Thread(target=store_srv.serve_forever, daemon=True).start()
    tmp = ARGS.ports + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (PORTS["main"], PORTS["store"]))
    os.rename(tmp, ARGS.ports)
    try:
        main_srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

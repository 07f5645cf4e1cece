#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A throttling HTTP proxy in front of a plain docker-registry, for the killed-pull test: blob
bodies are sent at --rate bytes per second, so that a pull can be killed half-way.  Every
request is logged as one JSON line (method, path, Range header, status) to --log.

    slow-proxy.py --upstream HOST:PORT --rate BYTES_PER_S --log FILE --port-file FILE
"""
import argparse
import http.client
import http.server
import json
import socketserver
import threading
import time

LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def relay(self):
        args = self.server.args
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}
        conn = http.client.HTTPConnection(args.upstream, timeout=60)
        conn.request(self.command, self.path, headers=headers)
        resp = conn.getresponse()
        with LOCK, open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                                "status": resp.status}) + "\n")
        self.send_response(resp.status)
        length = None
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "keep-alive"):
                continue
            if k.lower() == "content-length":
                length = int(v)
            self.send_header(k, v)
        if length is None:
            body = resp.read()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        self.end_headers()
        if self.command == "HEAD":
            return
        slow = "/blobs/" in self.path
        chunk = max(1, args.rate // 20) if slow else 1 << 16
        while True:
            data = resp.read(chunk)
            if not data:
                break
            self.wfile.write(data)
            self.wfile.flush()
            if slow:
                time.sleep(0.05)
        conn.close()

    do_GET = relay
    do_HEAD = relay


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--rate", type=int, default=1 << 20)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    args = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.args = args
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

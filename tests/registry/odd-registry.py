#!/usr/bin/python3
"""A loopback server that behaves as no honest registry should, for the bad-input tests.

--mode deny-all: every request gets 401 with a Bearer challenge whose realm is this same
    server, so the token request is refused too (a client must give up, not recurse).
--mode upload-elsewhere: Basic auth (user u, password pw); HEAD of a blob is 404 and an
    upload POST is answered 202 with a Location on a second port of this server, which logs
    the Authorization scheme of every request it gets and refuses them with 400.
"""
import argparse
import base64
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BASIC = "Basic " + base64.b64encode(b"u:pw").decode()


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, headers=()):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


class DenyAll(Quiet):
    def deny(self):
        realm = "http://%s/token" % self.server.me
        self.answer(401, [("WWW-Authenticate", 'Bearer realm="%s",service="odd"' % realm)])

    do_GET = do_HEAD = do_POST = do_PUT = deny


class Registry(Quiet):
    def authed(self):
        if self.headers.get("Authorization") == BASIC:
            return True
        self.answer(401, [("WWW-Authenticate", 'Basic realm="odd"')])
        return False

    def do_GET(self):
        if self.authed():
            self.answer(200)

    def do_HEAD(self):
        if self.authed():
            self.answer(404)

    def do_POST(self):
        if self.authed():
            self.answer(202, [("Location", "http://%s/upload/elsewhere" % self.server.elsewhere)])


class Elsewhere(Quiet):
    def record(self):
        auth = self.headers.get("Authorization")
        with self.server.lock:
            self.server.log.write("%s %s %s\n" % (self.command, self.path.split("?")[0],
                                                  auth.split()[0] if auth else "-"))
            self.server.log.flush()
        self.answer(400)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = record


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["deny-all", "upload-elsewhere"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True, help="requests the second port got: METHOD PATH AUTH")
    opts = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), DenyAll if opts.mode == "deny-all" else Registry)
    srv.daemon_threads = True
    srv.me = "127.0.0.1:%d" % srv.server_address[1]
    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    other.daemon_threads = True
    other.lock = threading.Lock()
    other.log = open(opts.log, "a")
    srv.elsewhere = "127.0.0.1:%d" % other.server_address[1]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

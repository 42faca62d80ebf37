#!/usr/bin/python3
"""A loopback HTTP/1.1 reverse proxy that injects one-shot faults in front of a registry.

Each rule fires once, on the first request it matches; REGEX is re.search'ed in the request
target (path and query). Requests carrying Range are never altered by the body rules, so a
client resuming after a cut gets the upstream's own 206. --header-log records which
Authorization scheme each request carried, to show where credentials travel.
"""
import argparse
import http.client
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# sha256 of no bytes: the Docker-Content-Digest that --fake-digest puts on an answer.
EMPTY_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# Rules judged before the upstream is asked; the others judge the upstream's answer.
BEFORE = ("fail-once", "garbage", "redirect", "delay", "rewrite", "reject-token")

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "expect", "host", "content-length"}


class Rule:
    def __init__(self, kind, regex, method=None, arg=None):
        self.kind, self.regex, self.method, self.arg = kind, re.compile(regex), method, arg
        self.fired = False


def split_last(spec, what):
    """'REGEX:N' -> (REGEX, N); the regex may hold colons (sha256:...), the number cannot."""
    regex, sep, num = spec.rpartition(":")
    if not sep or not num.isdigit():
        sys.exit("fault-proxy: %s '%s': expected REGEX:NUMBER" % (what, spec))
    return regex, int(num)


def split_redirect(spec):
    """'REGEX:http://host:port' -> (REGEX, URL-PREFIX); 'REGEX:' -> (REGEX, '') for a
    Location relative to this proxy."""
    for scheme in (":http://", ":https://"):
        at = spec.find(scheme)
        if at >= 0:
            return spec[:at], spec[at + 1:]
    if spec.endswith(":"):
        return spec[:-1], ""
    sys.exit("fault-proxy: --redirect '%s': expected REGEX:URL-PREFIX or REGEX:" % spec)


def parse_rules(opts):
    rules = []
    for spec in opts.fail_once:
        method, _, rest = spec.partition(":")
        regex, status = split_last(rest, "--fail-once")
        rules.append(Rule("fail-once", regex, method.upper(), status))
    for spec in opts.garbage:
        rules.append(Rule("garbage", spec))
    for kind, specs in (("drop-mid-body", opts.drop_mid_body),
                        ("truncate-body", opts.truncate_body),
                        ("oversize-body", opts.oversize_body)):
        for spec in specs:
            regex, num = split_last(spec, "--" + kind)
            rules.append(Rule(kind, regex, "GET", num))
    for spec in opts.corrupt_body:
        rules.append(Rule("corrupt-body", spec, "GET"))
    for spec in opts.redirect:
        regex, prefix = split_redirect(spec)
        rules.append(Rule("redirect", regex, "GET", prefix))
    for spec in opts.delay:
        regex, ms = split_last(spec, "--delay")
        rules.append(Rule("delay", regex, None, ms))
    for spec in opts.rewrite:
        regex, sep, replacement = spec.partition("=>")
        if not sep:
            sys.exit("fault-proxy: --rewrite '%s': expected REGEX=>REPLACEMENT" % spec)
        rules.append(Rule("rewrite", regex, None, replacement))
    for spec in opts.reject_token:
        rules.append(Rule("reject-token", spec))
    for spec in opts.fake_digest:
        rules.append(Rule("fake-digest", spec, "GET"))
    return rules


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that BaseHTTPRequestHandler answers Expect: 100-continue itself; every
    # answer closes the connection, which keeps the fault cases simple.
    protocol_version = "HTTP/1.1"
    timeout = 30  # a silent client costs a thread for 30 s, never forever

    def log_message(self, fmt, *args):
        pass

    def log(self, status, fault):
        with self.server.lock:
            self.server.log.write("%s %s %d %s\n" % (self.command, self.path, status, fault))
            self.server.log.flush()

    def take(self, kinds, status=None):
        """The first unfired rule of these kinds matching this request, now marked fired."""
        with self.server.lock:
            for r in self.server.rules:
                if r.fired or r.kind not in kinds:
                    continue
                if r.method not in (None, "*", self.command) or not r.regex.search(self.path):
                    continue
                if r.kind not in BEFORE and (status != 200 or "Range" in self.headers):
                    continue
                if r.kind == "reject-token" and not self.headers.get(
                        "Authorization", "").lower().startswith("bearer "):
                    continue
                r.fired = True
                return r
        return None

    def request_body(self):
        """Yields the client's body: Content-Length or chunked (then re-chunked upstream)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", 0))
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk

    def send_head(self, status, headers, length):
        self.head_sent = True
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()

    def local_reply(self, status, ctype, body, extra=()):
        self.send_head(status, [("Content-Type", ctype)] + list(extra), len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self):
        self.close_connection = True
        rule = self.take(("fail-once", "garbage"))
        if rule:
            # Read the request body first: closing with unread data sends RST, which can
            # destroy the answer before the client reads it.
            for _ in self.request_body():
                pass
        if rule and rule.kind == "fail-once":
            extra = [("Retry-After", "1")] if rule.arg in (429, 503) else []
            body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by fault-proxy"}]}'
            self.local_reply(rule.arg, "application/json", body, extra)
            self.log(rule.arg, rule.kind)
            return
        if rule:
            self.local_reply(200, "application/json", b"<html>not json {")
            self.log(200, rule.kind)
            return
        rule = self.take(("redirect",))
        if rule:
            self.local_reply(307, "text/plain", b"", [("Location", rule.arg + self.path)])
            self.log(307, rule.kind)
            return
        before = []
        rule = self.take(("delay",))
        if rule:
            time.sleep(rule.arg / 1000)
            before.append(rule.kind)
        path = self.path
        rule = self.take(("rewrite",))
        if rule:
            path = rule.regex.sub(rule.arg, path, count=1)
            before.append(rule.kind)
        # The upstream's own 401 for this request without its token, marked the way a
        # registry marks a token it does not accept (RFC 6750 §3.1).
        reject = self.take(("reject-token",))
        if reject:
            before.append(reject.kind)

        up = http.client.HTTPConnection(self.server.upstream, timeout=30)
        # putheader one by one: Go clients send Accept once per media type, and a dict
        # would keep only the last one.
        up.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        up.putheader("Host", self.server.upstream)
        for k, v in self.headers.items():
            if k.lower() in HOP or (reject and k.lower() == "authorization"):
                continue
            up.putheader(k, v)
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if chunked:
            up.putheader("Transfer-Encoding", "chunked")
        elif "Content-Length" in self.headers:
            up.putheader("Content-Length", self.headers["Content-Length"])
        up.endheaders()
        for chunk in self.request_body():
            up.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            up.send(b"0\r\n\r\n")
        resp = up.getresponse()
        out = []
        for k, v in resp.getheaders():
            if k.lower() in HOP:
                continue
            if k.lower() == "location":
                # The registry builds absolute upload URLs from the Host it saw.
                for scheme in ("http://", "https://"):
                    v = v.replace(scheme + self.server.upstream, "http://" + self.server.me)
            if reject and resp.status == 401 and k.lower() == "www-authenticate":
                v += ',error="invalid_token"'
            out.append((k, v))
        length = resp.getheader("Content-Length")
        fake = self.take(("fake-digest",), resp.status) if self.command == "GET" else None
        if fake:
            out = [(k, v) for k, v in out if k.lower() != "docker-content-digest"]
            out.append(("Docker-Content-Digest", EMPTY_DIGEST))
            before.append(fake.kind)
        rule = self.take(("drop-mid-body", "truncate-body", "oversize-body", "corrupt-body"),
                         resp.status) if self.command == "GET" else None
        if self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            self.send_head(resp.status, out, int(length) if length is not None else None)
        elif rule is None and length is not None:
            self.send_head(resp.status, out, int(length))
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
        else:
            self.send_body_fault(resp, out, rule)
        up.close()
        faults = before + ([rule.kind] if rule else [])
        self.log(resp.status, ",".join(faults) if faults else "-")

    def send_body_fault(self, resp, out, rule):
        body = resp.read()
        kind = rule.kind if rule else None
        if kind in ("drop-mid-body", "truncate-body"):
            self.send_head(resp.status, out, len(body))
            self.wfile.write(body[:rule.arg])
            self.wfile.flush()
            if kind == "drop-mid-body":
                # SO_LINGER 0: close sends RST, as a dying server or middlebox would.
                # socketserver would shut down (FIN) before closing, so close here, rfile
                # first: it holds a reference that would defer the socket's close.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_WR)
            return
        if kind == "corrupt-body" and body:
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0xFF]) + body[mid + 1:]
        elif kind == "oversize-body":
            body += b"X" * rule.arg
        self.send_head(resp.status, out, len(body))
        self.wfile.write(body)

    def handle_request(self):
        self.head_sent = False
        if self.server.header_log:
            auth = self.headers.get("Authorization")
            with self.server.lock:
                self.server.header_log.write("%s %s %s\n" % (
                    self.command, self.path, auth.partition(" ")[0] if auth else "-"))
                self.server.header_log.flush()
        try:
            self.handle_one()
        except (ConnectionError, socket.timeout, http.client.HTTPException) as e:
            # The upstream or the client went away: leave a trace, never a hang.
            if not self.head_sent:
                try:
                    self.local_reply(502, "text/plain", b"fault-proxy: upstream failed\n")
                except OSError:
                    pass
            self.log(502, "error:" + type(e).__name__)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_request


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of a plain-HTTP registry")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True, help="one line per request: METHOD PATH STATUS FAULT")
    p.add_argument("--fail-once", action="append", default=[], metavar="METHOD:REGEX:STATUS",
                   help="answer STATUS without asking upstream (METHOD may be *)")
    p.add_argument("--drop-mid-body", action="append", default=[], metavar="REGEX:BYTES")
    p.add_argument("--truncate-body", action="append", default=[], metavar="REGEX:BYTES")
    p.add_argument("--corrupt-body", action="append", default=[], metavar="REGEX")
    p.add_argument("--oversize-body", action="append", default=[], metavar="REGEX:EXTRA")
    p.add_argument("--garbage", action="append", default=[], metavar="REGEX")
    p.add_argument("--redirect", action="append", default=[], metavar="REGEX:URL-PREFIX",
                   help="answer a GET with 307 to URL-PREFIX + its own target (REGEX: alone: "
                   "a relative Location, the same origin)")
    p.add_argument("--delay", action="append", default=[], metavar="REGEX:MS",
                   help="wait MS milliseconds before asking the upstream")
    p.add_argument("--rewrite", action="append", default=[], metavar="REGEX=>REPLACEMENT",
                   help="ask the upstream for the target with REGEX replaced")
    p.add_argument("--reject-token", action="append", default=[], metavar="REGEX",
                   help="a request carrying a Bearer token gets the upstream's 401 for it "
                   "without the token, its challenge marked error=\"invalid_token\"")
    p.add_argument("--fake-digest", action="append", default=[], metavar="REGEX",
                   help="a GET's 200 answer says Docker-Content-Digest: " + EMPTY_DIGEST)
    p.add_argument("--header-log", help="one line per request: METHOD PATH AUTH-SCHEME or -")
    opts = p.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.upstream = opts.upstream
    srv.me = "127.0.0.1:%d" % srv.server_address[1]
    srv.rules = parse_rules(opts)
    srv.lock = threading.Lock()
    srv.log = open(opts.log, "a")
    srv.header_log = open(opts.header_log, "a") if opts.header_log else None
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

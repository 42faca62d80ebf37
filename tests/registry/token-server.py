#!/usr/bin/python3
"""A Docker token-auth server for the registry tests (standard library only; openssl signs).

Implements GET /token of distribution's spec/auth/token.md with RS256 JWTs (spec/auth/jwt.md)
that docker-registry's `auth: token:` accepts: the header's x5c carries the self-signed signing
certificate, which is also the registry's rootcertbundle (written to DIR/cert.pem).
For the client's error paths, a request whose scope matches a --bad-answer rule gets a 200
answer that holds no usable token, and --answer-expires-in reports a short lifetime for a
token whose JWT stays valid for longer.
"""
import argparse
import base64
import binascii
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(folder):
    """RSA key and self-signed certificate; reused when the folder already has them."""
    key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
    if not (os.path.exists(key) and os.path.exists(cert)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=cvm-test-token-signer", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cert) as f:
        pem = f.read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    # x5c holds standard base64 of the DER (RFC 7515 §4.1.6), not base64url.
    der_b64 = base64.b64encode(binascii.a2b_base64(body)).decode()
    return key, der_b64


BAD_ANSWERS = {
    "not-json": b"<html>token service {",
    "no-token": b'{"expires_in": 300, "issued_at": "2024-01-01T00:00:00Z"}',
    "token-not-string": b'{"token": 12345, "access_token": ["x"], "expires_in": 300}',
}


def split_first(spec, what):
    """'HEAD:REGEX' -> (HEAD, compiled REGEX); the regex may hold colons, HEAD cannot."""
    head, sep, regex = spec.partition(":")
    if not sep or not head:
        sys.exit("token-server: %s '%s': expected VALUE:REGEX" % (what, spec))
    return head, re.compile(regex)


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push']).

    The name sits between the first and the last colon: names never hold one, but a type can
    (repository(plugin)) in old clients, and actions never do."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the request log below replaces stderr chatter
        pass

    def reply(self, status, obj, extra=()):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        srv = self.server
        with srv.log_lock:
            srv.log.write("%s %s %d\n" % (self.command, self.path, status))
            srv.log.flush()

    def user(self):
        """None when anonymous, False when the credentials are wrong, else the user name."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        opts = self.server.opts
        return user if (user, password) == (opts.user, opts.password) else False

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})
            return
        query = parse_qs(url.query)
        user = self.user()
        if user is False:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                          "message": "authentication required"}]},
                       [("WWW-Authenticate", 'Basic realm="cvm-token"')])
            return
        opts = self.server.opts
        scopes = [one for scope in query.get("scope", []) for one in scope.split()]
        for kind, regex in opts.bad_answer:
            if any(regex.search(one) for one in scopes):
                self.reply(200, BAD_ANSWERS[kind])
                return
        answer_expires_in = opts.expires_in
        for seconds, regex in opts.answer_expires_in:
            if any(regex.search(one) for one in scopes):
                answer_expires_in = seconds
        access = []
        for scope in query.get("scope", []):
            # Several scopes may also come space-separated in one parameter (token.md).
            for one in scope.split():
                parsed = parse_scope(one)
                if parsed is None:
                    continue
                kind, name, actions = parsed
                if user is None:
                    actions = ["pull"] if opts.anonymous_pull and "pull" in actions else []
                access.append({"type": kind, "name": name, "actions": actions})
        service = query.get("service", [opts.service])[0]
        now = int(time.time())
        claims = {
            "iss": opts.issuer, "sub": user or "", "aud": service,
            "exp": now + opts.expires_in, "nbf": now - 10, "iat": now,
            "jti": uuid.uuid4().hex, "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.server.der_b64]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.server.key],
                             input=signing_input.encode(), stdout=subprocess.PIPE,
                             check=True).stdout
        token = signing_input + "." + b64url(sig)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        self.reply(200, {"token": token, "access_token": token, "expires_in": answer_expires_in,
                         "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ")})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--dir", required=True, help="where key.pem and cert.pem live")
    p.add_argument("--port-file", required=True, help="gets the port once it listens")
    p.add_argument("--log", required=True, help="one line per request: METHOD PATH STATUS")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--anonymous-pull", action="store_true")
    p.add_argument("--issuer", default="cvm-test-issuer")
    p.add_argument("--service", default="cvm-registry", help="aud when no service= is asked")
    p.add_argument("--bad-answer", action="append", default=[], metavar="KIND:REGEX",
                   help="answer a request whose scope matches REGEX with a 200 that holds no "
                   "usable token; KIND is " + ", ".join(sorted(BAD_ANSWERS)))
    p.add_argument("--answer-expires-in", action="append", default=[], metavar="SECONDS:REGEX",
                   help="report this expires_in for scopes matching REGEX; the JWT's own exp "
                   "stays --expires-in")
    opts = p.parse_args()
    opts.bad_answer = [split_first(spec, "--bad-answer") for spec in opts.bad_answer]
    for kind, _ in opts.bad_answer:
        if kind not in BAD_ANSWERS:
            sys.exit("token-server: --bad-answer: unknown KIND '%s'" % kind)
    opts.answer_expires_in = [split_first(spec, "--answer-expires-in")
                              for spec in opts.answer_expires_in]
    for seconds, _ in opts.answer_expires_in:
        if not seconds.isdigit():
            sys.exit("token-server: --answer-expires-in: '%s' is not a number" % seconds)
    opts.answer_expires_in = [(int(s), r) for s, r in opts.answer_expires_in]

    os.makedirs(opts.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.opts = opts
    srv.key, srv.der_b64 = make_key(opts.dir)
    srv.log = open(opts.log, "a")
    srv.log_lock = threading.Lock()
    # Written last and renamed into place, so a reader never sees a half-written port and
    # the key is ready by then.
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

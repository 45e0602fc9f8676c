"""A real HTTP server on 127.0.0.1 for the download and fetch tests (no internet).

The server (``http.server`` in a thread, port 0) serves generated files, honours ``Range``
requests, can drop the connection mid-file, fail once with a 5xx, ignore ``Range``, and serves
JSON (a fake Zenodo record). :func:`loopback_only` makes any connection outside loopback fail
the test. Test modules bind these fixtures with ``name = _loopback.name``.
"""

import hashlib
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any attempt to resolve or connect to a host other than loopback."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
            raise AssertionError(f"test tried to connect outside loopback: {address}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOOPBACK and host is not None:
            raise AssertionError(f"test tried to resolve {host!r} outside loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class _State:
    def __init__(self):
        self.files = {}  # URL path -> bytes
        self.json = {}  # URL path -> object served as JSON
        self.log = []  # (path, Range header or None)
        self.drop_after = {}  # path -> send this many body bytes, then close (once)
        self.fail_once = {}  # path -> HTTP status to answer once
        self.ignore_range = set()
        self.lock = threading.Lock()

    def requests(self, path):
        return [rng for p, rng in self.log if p == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        state = self.server.state
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        rng = self.headers.get("Range")
        with state.lock:
            state.log.append((path, rng))
            fail = state.fail_once.pop(path, None)
            cut = state.drop_after.pop(path, None)
        if fail is not None:
            return self._send(fail, b"try again")
        if path in state.json:
            return self._send(200, json.dumps(state.json[path]).encode(), "application/json")
        data = state.files.get(path)
        if data is None:
            return self._send(404, b"not found")
        start, status, headers = 0, 200, {}
        if rng and path not in state.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1])
            if start >= len(data):
                return self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if cut is None:
            return self._send(status, body, headers=headers)
        # Announce the whole body, send part of it, then hang up: an interrupted download.
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status, body, ctype="application/octet-stream", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1; ``server.url`` is its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = _State()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state = httpd.state
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def refused_url():
    """A loopback URL on a port nobody listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/file.bin"


def _payload(n, seed=0):
    return bytes((i * 31 + seed * 7 + i // 251) % 256 for i in range(n))


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _md5(data):
    return hashlib.md5(data).hexdigest()

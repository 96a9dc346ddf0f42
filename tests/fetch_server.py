"""A fake lgo.org.uk on 127.0.0.1 for the fetcher tests, and a guard that blocks any other network access.

``FakeSite`` serves the invented fixture site in ``tests/fixtures/site`` (search results by date window, decision
pages, robots.txt) from a real HTTP server in a background thread, counts every request, and injects faults queued
per path: HTTP statuses (with Retry-After), slow responses, truncated bodies, cut chunked bodies, hangs, redirects
and non-decision pages. Imported by the tests and by the subprocess the kill test runs.
"""
from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

SITE = Path(__file__).parent / "fixtures" / "site"
LOCALHOST = "127.0.0.1"
PER_PAGE = 10
FAULT_KINDS = ("status", "slow", "truncate", "chunk_cut", "close_early", "slow_body", "hang", "redirect",
               "not_decision")


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, consumed by the next request for its path."""

    kind: str
    status: int = 0
    seconds: float = 0.0
    location: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")


@dataclass(frozen=True)
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class FakeSite:
    root: Path = SITE
    page_delay_s: float = 0.0        # added to every decision page response
    robots: str | None = None        # None: serve the fixture robots.txt; "" : 404
    hits: list[Hit] = field(default_factory=list)
    hang_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.decisions: list[dict[str, Any]] = json.loads((self.root / "decisions.json").read_text("utf-8"))
        self._by_path = {d["path"]: d for d in self.decisions}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "FakeSite":
        site = self

        class Handler(_Handler):
            fake = site

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients we kill leave broken pipes
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeSite":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://{LOCALHOST}:{self._server.server_address[1]}"

    # -- faults and counts -------------------------------------------------------------------------------------
    def add_faults(self, path: str, *faults: Fault) -> None:
        """Queue faults for ``path`` (a decision path, or '/Decisions/SearchResults?fd=..&td=..&page=N')."""
        with self._lock:
            self._faults[path].extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def next_fault(self, path: str, full_path: str) -> Fault | None:
        with self._lock:
            for key in (full_path, path):
                if self._faults.get(key):
                    return self._faults[key].popleft()
        return None

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(hit.path == path for hit in self.hits)

    def listing_hits(self, fd: str, td: str) -> int:
        with self._lock:
            return sum(hit.path == "/Decisions/SearchResults" and hit.query.get("fd") == fd
                       and hit.query.get("td") == td for hit in self.hits)

    # -- content -----------------------------------------------------------------------------------------------
    def in_window(self, fd: str, td: str) -> list[dict[str, Any]]:
        return sorted((d for d in self.decisions if fd <= d["date"] <= td), key=lambda d: (d["date"], d["ref"]))

    def expected_urls(self, fd: str, td: str) -> list[str]:
        return [self.url + d["path"] for d in self.in_window(fd, td)]

    def decision_page(self, path: str) -> bytes | None:
        decision = self._by_path.get(path)
        if decision is None:
            return None
        day = date.fromisoformat(decision["date"])
        text = _template(self.root / f"{decision['layout']}.html").substitute(
            decision, date_text=day.strftime("%d %b %Y"))
        return text.encode("utf-8")

    def search_page(self, fd: str, td: str, page: int) -> bytes:
        found = self.in_window(fd, td)
        shown = found[(page - 1) * PER_PAGE: page * PER_PAGE]
        item = _template(self.root / "result_item.html")
        items = "\n".join(item.substitute(d, href=_href(d), date_text=date.fromisoformat(d["date"]).strftime(
            "%d %b %Y")) for d in shown)
        n_pages = max(1, math.ceil(len(found) / PER_PAGE))
        pager = " ".join(f'<a href="/Decisions/SearchResults?fd={fd}&amp;td={td}&amp;page={n}">{n}</a>'
                         for n in range(1, n_pages + 1))
        return _template(self.root / "search_results.html").substitute(
            count=len(found), fd=fd, td=td, items=items, pager=pager).encode("utf-8")


def _href(decision: dict[str, Any]) -> str:
    """Some results link absolutely to the real host, as a live page might: the fetcher must not follow the host."""
    return ("https://www.lgo.org.uk" if decision["absolute_link"] else "") + decision["path"]


def _template(path: Path) -> Template:
    return Template(path.read_text("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid 40 ms delayed-ACK stalls
    fake: FakeSite

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.fake.record(Hit(parts.path, query, dict(self.headers.items()), time.monotonic()))
        body, status, content_type = self._route(parts.path, query)
        fault = self.fake.next_fault(parts.path, self.path)
        try:
            FAULT_HANDLERS.get(fault.kind if fault else "", _serve)(self, fault, status, body, content_type)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, query: dict[str, str]) -> tuple[bytes, int, str]:
        if path == "/robots.txt":
            robots = self.fake.robots
            if robots is None:
                return (self.fake.root / "robots.txt").read_bytes(), 200, "text/plain"
            return (robots.encode(), 200, "text/plain") if robots else (b"not found", 404, "text/plain")
        if path == "/Decisions/SearchResults":
            page = self.fake.search_page(query.get("fd", ""), query.get("td", ""), int(query.get("page", "1")))
            return page, 200, "text/html; charset=utf-8"
        page = self.fake.decision_page(path)
        if page is None:
            return b"<html><body>Page not found</body></html>", 404, "text/html"
        if self.fake.page_delay_s:
            time.sleep(self.fake.page_delay_s)
        return page, 200, "text/html; charset=utf-8"

    def send_head(self, status: int, content_type: str, length: int | None, extra: dict[str, str] | None = None) \
            -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()


def _serve(handler: _Handler, fault: Fault | None, status: int, body: bytes, content_type: str) -> None:
    handler.send_head(status, content_type, len(body))
    handler.wfile.write(body)


def _status(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    extra = {"Retry-After": str(int(fault.seconds))} if fault.seconds else {}
    message = f"<html><body>error {fault.status}</body></html>".encode()
    handler.send_head(fault.status, "text/html", len(message), extra)
    handler.wfile.write(message)


def _slow(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    time.sleep(fault.seconds)
    _serve(handler, fault, status, body, content_type)


def _truncate(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    """Promise the whole body, send half, hang up."""
    handler.send_head(status, content_type, len(body), {"Connection": "close"})
    handler.wfile.write(body[: len(body) // 2])
    handler.close_connection = True


def _close_early(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    """No Content-Length, body ends at connection close: half a page looks complete to HTTP."""
    handler.send_head(status, content_type, None, {"Connection": "close"})
    handler.wfile.write(body[: len(body) // 2])
    handler.close_connection = True


def _chunk_cut(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    """Chunked body whose connection is cut before the final chunk."""
    handler.send_head(status, content_type, None, {"Transfer-Encoding": "chunked", "Connection": "close"})
    half = body[: len(body) // 2]
    handler.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
    handler.close_connection = True


def _slow_body(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    """Headers at once, then the body stalls longer than the client's read timeout."""
    handler.send_head(status, content_type, len(body), {"Connection": "close"})
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    time.sleep(fault.seconds)
    handler.wfile.write(body[len(body) // 2:])
    handler.close_connection = True


def _hang(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    """Tell the test a request is in flight, then say nothing until released (the test kills the client)."""
    handler.fake.hang_started.set()
    handler.fake.release.wait(timeout=fault.seconds or 30)
    handler.close_connection = True


def _redirect(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    handler.send_head(fault.status or 302, "text/html", 0, {"Location": fault.location})


def _not_decision(handler: _Handler, fault: Fault, status: int, body: bytes, content_type: str) -> None:
    page = (handler.fake.root / "maintenance.html").read_bytes()
    handler.send_head(200, "text/html; charset=utf-8", len(page))
    handler.wfile.write(page)


FAULT_HANDLERS: dict[str, Callable[..., None]] = {
    "status": _status, "slow": _slow, "truncate": _truncate, "close_early": _close_early, "chunk_cut": _chunk_cut,
    "slow_body": _slow_body, "hang": _hang, "redirect": _redirect, "not_decision": _not_decision,
}


# -- network guard -------------------------------------------------------------------------------------------------
class NetworkBlocked(AssertionError):
    """Code under test tried to reach a host other than 127.0.0.1."""


def guard_sockets(set_attr: Callable[[Any, str, Any], None] = setattr) -> list[str]:
    """Make every socket connect / name lookup to anything but 127.0.0.1 raise NetworkBlocked.

    Returns the list the blocked attempts are appended to, so a test can assert it stayed empty even if the code
    under test swallowed the exception. Pass ``monkeypatch.setattr`` to undo the patch after the test.
    """
    blocked: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(host: Any, what: str) -> None:
        if isinstance(host, bytes):
            host = host.decode()
        if host != LOCALHOST:
            blocked.append(f"{what} {host!r}")
            raise NetworkBlocked(f"test tried to {what} {host!r}: only {LOCALHOST} is allowed")

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0], "connect to")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0], "connect to")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check(host, "look up")
        return real_getaddrinfo(host, *args, **kwargs)

    set_attr(socket.socket, "connect", connect)
    set_attr(socket.socket, "connect_ex", connect_ex)
    set_attr(socket, "getaddrinfo", getaddrinfo)
    return blocked

"""Polite, resumable fetcher for published LGSCO decisions (lgo.org.uk).

It lists decisions by date window from the site's search results
(``/Decisions/SearchResults?fd=YYYY-MM-DD&td=YYYY-MM-DD&page=N``, 10 a page, "Your search has N results") and
stores each decision page raw in the Store; parsing happens later, at ingest time.

Why it is safe to stop at any moment (even ``kill -9``): every page is committed on its own as soon as it is
complete, a page already stored is never requested again, and a window is marked done only after all its pages are
stored, so a re-run re-lists the unfinished window and fetches only what is missing.

Politeness: a minimum interval between requests, robots.txt honoured (including Crawl-delay), a descriptive
User-Agent, and retries with exponential back-off on 429/5xx/timeouts by urllib3's ``Retry`` (honouring
Retry-After). Every request, redirects included, must go to the configured base URL's host.
"""
from __future__ import annotations

import logging
import math
import os
import re
import sys
import time
import urllib.robotparser
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from bs4 import BeautifulSoup
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.exceptions import MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from pipeline import __version__
from pipeline.store import Store

log = logging.getLogger(__name__)

BASE_URL = "https://www.lgo.org.uk"
SEARCH_PATH = "/Decisions/SearchResults"
RESULTS_PER_PAGE = 10
RETRY_STATUSES = (429, 500, 502, 503, 504)
GONE_STATUSES = (404, 410)  # a listed page that is not there: reported, the run goes on
CONTACT_ENV = "COMPLAINT_OUTCOMES_CONTACT"

RESULT_COUNT = re.compile(r"Your\s+search\s+has\s+([\d,]+)\s+results?", re.I)
DECISION_PATH = re.compile(r"^/decisions/[^/?#]+/[^/?#]+/\d{2}-\d{3}-\d{3}[a-z]?/?$", re.I)
DECISION_MARKER = re.compile(r"final\s+decision|decision\s+date", re.I)  # on every published decision page
HTML_END = re.compile(rb"</html\s*>", re.I)  # a page cut short on a connection without Content-Length lacks it
HTML_TAIL_BYTES = 4096  # where the closing tag must be: near the end (trailing comments or whitespace allowed)
# Errors while reading a body: urllib3's Retry only covers the request up to the headers, so these are retried here.
BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
               requests.exceptions.ContentDecodingError)


class FetchError(RuntimeError):
    """The site could not be fetched as expected; what is stored so far stays stored."""


def default_user_agent() -> str:
    contact = os.environ.get(CONTACT_ENV) or f"set {CONTACT_ENV}"
    return (f"complaint-outcomes/{__version__} (research on published ombudsman decisions; "
            f"python-requests/{requests.__version__}; contact: {contact})")


@dataclass
class FetchConfig:
    base_url: str = BASE_URL
    delay_s: float = 1.0          # polite minimum interval between requests
    timeout_s: float = 30.0       # connect and read timeout of one attempt
    retries: int = 5
    backoff_factor: float = 1.0   # urllib3: sleep backoff_factor * 2**(n-1) before the n-th retry
    window_days: int = 7
    settle_days: int = 28         # decisions are published weeks after their date: recent windows stay open
    respect_robots: bool = True
    user_agent: str = field(default_factory=default_user_agent)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {self.base_url!r}")
        for name in ("delay_s", "backoff_factor", "retries", "settle_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"FetchConfig.timeout_s must be > 0, got {self.timeout_s!r}")
        if self.window_days < 1:
            raise ValueError(f"FetchConfig.window_days must be >= 1, got {self.window_days!r}")
        self.base_url = self.base_url.rstrip("/")


@dataclass
class FetchStats:
    windows: int = 0               # windows in the requested range
    windows_skipped: int = 0       # already done in an earlier run: not listed again
    windows_completed: int = 0     # marked done by this run
    listing_requests: int = 0
    pages_listed: int = 0
    pages_stored: int = 0          # new pages written by this run
    pages_already_stored: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)   # (url, reason): page not stored
    short_windows: list[tuple[str, str, int, int]] = field(default_factory=list)  # (fd, td, announced, listed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_search_results(html: str | bytes, base_url: str = BASE_URL) -> tuple[int, list[str]]:
    """The announced result count and the decision page links (absolute, in page order, no duplicates).

    Links are rebuilt on ``base_url`` from their path, so an absolute link to another host can never send the
    fetcher elsewhere. A page without "Your search has N results" raises FetchError: the site layout changed (or
    this is not a results page) and guessing 0 would silently mark windows done.
    """
    soup = BeautifulSoup(html, "html.parser")
    match = RESULT_COUNT.search(soup.get_text(" "))
    if match is None:
        raise FetchError("search results page has no 'Your search has N results' line; has the site layout changed?")
    links: dict[str, None] = {}
    for anchor in soup.find_all("a", href=True):
        path = urlsplit(urljoin(base_url + "/", anchor["href"].strip())).path
        if DECISION_PATH.match(path):
            links.setdefault(base_url.rstrip("/") + path, None)
    return int(match.group(1).replace(",", "")), list(links)


def date_windows(from_date: date, to_date: date, days: int) -> list[tuple[str, str]]:
    """Consecutive inclusive (fd, td) ISO windows of ``days`` days covering from_date..to_date exactly."""
    if from_date > to_date:
        raise ValueError(f"from date {from_date} is after to date {to_date}")
    windows = []
    start = from_date
    while start <= to_date:
        end = min(start + timedelta(days=days - 1), to_date)
        windows.append((start.isoformat(), end.isoformat()))
        start = end + timedelta(days=1)
    return windows


def looks_like_decision(content: bytes) -> bool:
    """A page worth storing carries the decision content marker (a maintenance or error page does not)."""
    return DECISION_MARKER.search(content.decode("utf-8", errors="replace")) is not None


class Fetcher:
    def __init__(self, store: Store, config: FetchConfig, progress: bool = True) -> None:
        self.store = store
        self.config = config
        self.progress = progress
        self._retry = Retry(
            total=config.retries, connect=config.retries, read=config.retries, status=config.retries,
            other=0, backoff_factor=config.backoff_factor, status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}), respect_retry_after_header=True, raise_on_status=False,
        )
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": config.user_agent, "Accept": "text/html,application/xhtml+xml"})
        adapter = _SameOriginAdapter(config.base_url, max_retries=self._retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._min_interval = config.delay_s
        self._last_request = -math.inf

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- the run -----------------------------------------------------------------------------------------------
    def run(self, from_date: date, to_date: date) -> FetchStats:
        """Fetch every decision dated from_date..to_date not yet stored; skip windows done in earlier runs."""
        windows = date_windows(from_date, to_date, self.config.window_days)
        stats = FetchStats(windows=len(windows))
        if self.config.respect_robots:
            self._obey_robots()
        bar = tqdm(windows, unit="window", file=sys.stderr, disable=not self.progress, desc="fetch")
        for fd, td in bar:
            if self.store.window_done(fd, td):
                stats.windows_skipped += 1
                continue
            self._fetch_window(fd, td, stats)
            bar.set_postfix(stored=stats.pages_stored, failed=len(stats.failures))
        bar.close()
        return stats

    def _fetch_window(self, fd: str, td: str, stats: FetchStats) -> None:
        n_results, links = self._list_window(fd, td, stats)
        failures_before = len(stats.failures)
        for url in links:
            if self.store.has_page(url):
                stats.pages_already_stored += 1
            else:
                self._fetch_decision(url, stats)
        complete = len(stats.failures) == failures_before and len(links) >= n_results
        if complete and self._settled(td):
            self.store.mark_window_done(fd, td, n_results)
            stats.windows_completed += 1

    def _list_window(self, fd: str, td: str, stats: FetchStats) -> tuple[int, list[str]]:
        """Every decision link of one window, following the result pages the count announces."""
        links: dict[str, None] = {}
        n_results, n_pages, page = 0, 1, 1
        while page <= n_pages:
            url = self._search_url(fd, td, page)
            response = self._get(url, html=True)
            stats.listing_requests += 1
            if response.status_code != 200:
                raise FetchError(f"search results {url}: HTTP {response.status_code}")
            count, page_links = parse_search_results(response.content, self.config.base_url)
            if page == 1:
                n_results = count
                n_pages = math.ceil(count / RESULTS_PER_PAGE)
            if not page_links and n_results:
                break  # the site ran out of results early: keep what was listed
            links.update(dict.fromkeys(page_links))
            page += 1
        stats.pages_listed += len(links)
        if len(links) < n_results:
            log.warning("window %s..%s announced %d results but listed %d: left open (a smaller window_days may "
                        "help)", fd, td, n_results, len(links))
            stats.short_windows.append((fd, td, n_results, len(links)))
        return n_results, list(links)

    def _fetch_decision(self, url: str, stats: FetchStats) -> None:
        response = self._get(url, html=True)
        if response.status_code in GONE_STATUSES:
            stats.failures.append((url, f"HTTP {response.status_code}"))
            return
        if response.status_code != 200:
            raise FetchError(f"decision page {url}: HTTP {response.status_code} after {self.config.retries} retries")
        if not looks_like_decision(response.content):
            stats.failures.append((url, "not a decision page (no decision marker)"))
            return
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if self.store.add_page(url, response.content, fetched_at):
            stats.pages_stored += 1
        else:
            stats.pages_already_stored += 1

    def _settled(self, td: str) -> bool:
        """A window may be closed for good only once its decisions have had time to be published."""
        return date.fromisoformat(td) < date.today() - timedelta(days=self.config.settle_days)

    def _search_url(self, fd: str, td: str, page: int) -> str:
        return f"{self.config.base_url}{SEARCH_PATH}?fd={fd}&td={td}&page={page}"

    def _obey_robots(self) -> None:
        """Stop if robots.txt forbids our paths; slow down to its Crawl-delay."""
        response = self._get(f"{self.config.base_url}/robots.txt")
        if response.status_code in GONE_STATUSES:
            return  # no robots.txt: everything allowed
        if response.status_code != 200:
            raise FetchError(f"robots.txt: HTTP {response.status_code}; not crawling without knowing the rules")
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(response.text.splitlines())
        agent = self.config.user_agent
        for path in (SEARCH_PATH, "/decisions/category/subcategory/00-000-000"):
            if not robots.can_fetch(agent, self.config.base_url + path):
                raise FetchError(f"robots.txt of {self.config.base_url} disallows {path} for this user agent")
        crawl_delay = robots.crawl_delay(agent)
        if crawl_delay:
            self._min_interval = max(self._min_interval, float(crawl_delay))

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _get(self, url: str, html: bool = False) -> requests.Response:
        """GET with a complete body. Status/connect/header-read failures are retried inside urllib3; a body cut
        short or timing out while streaming happens after urllib3 has returned, so it is retried here with the
        same Retry policy (its counters and back-off), never returning a partial body. With ``html``, a 200 body
        must end with </html>: without Content-Length that is the only sign a page was cut off."""
        retry = self._retry
        while True:
            self._wait_turn()
            try:
                response = self._session.get(url, timeout=self.config.timeout_s, stream=True)
            except requests.RequestException as exc:
                raise FetchError(f"GET {url} failed after {self.config.retries} retries: {exc}") from exc
            try:
                _read_complete_body(response, html)
                return response
            except BODY_ERRORS as exc:
                response.close()
                try:
                    retry = retry.increment(method="GET", url=url, error=ProtocolError(str(exc)))
                except MaxRetryError:
                    raise FetchError(f"GET {url}: body incomplete after {self.config.retries} retries: {exc}") \
                        from exc
                log.info("retrying %s after incomplete body: %s", url, exc)
                retry.sleep()

    def _wait_turn(self) -> None:
        wait = self._last_request + self._min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()


class _SameOriginAdapter(HTTPAdapter):
    """Refuses any request (a redirect included) that would leave the configured site."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        self._origin = _origin(base_url)
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if _origin(request.url or "") != self._origin:
            raise FetchError(f"refusing request to {request.url}: outside {self._origin[0]}://{self._origin[1]}")
        return super().send(request, *args, **kwargs)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _read_complete_body(response: requests.Response, html: bool) -> None:
    """Read the body; raise a body error if it is visibly cut short (urllib3 also checks Content-Length)."""
    content = response.content
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and "Content-Encoding" not in response.headers and \
            len(content) != int(declared):
        raise requests.exceptions.ChunkedEncodingError(
            f"body has {len(content)} bytes, Content-Length says {declared}")
    if html and response.status_code == 200 and not HTML_END.search(content[-HTML_TAIL_BYTES:]):
        raise requests.exceptions.ChunkedEncodingError("HTML body ends before </html>: cut short")

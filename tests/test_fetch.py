"""The fetcher against a real HTTP server on 127.0.0.1 (tests/fetch_server.py): listing, retries, truncation,
politeness, resume after kill -9, and no request anywhere but 127.0.0.1 (a socket guard is on for every test)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests.adapters

from fetch_server import FakeSite, Fault, NetworkBlocked, guard_sockets
from pipeline.fetch import (BASE_URL, FetchConfig, FetchError, Fetcher, date_windows, default_user_agent,
                            parse_search_results)
from pipeline.store import Store

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
FROM, TO = date(2023, 3, 6), date(2023, 3, 26)      # three 7-day windows: 12 decisions, 5, none
WINDOWS = date_windows(FROM, TO, 7)
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_network_but_localhost(monkeypatch):
    """Every test here runs with sockets limited to 127.0.0.1 and fails if anything tried to go elsewhere."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    blocked = guard_sockets(monkeypatch.setattr)
    yield blocked
    assert blocked == [], f"network access outside 127.0.0.1 was attempted: {blocked}"


@pytest.fixture
def site():
    with FakeSite() as running:
        yield running


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "fetch.db") as opened:
        yield opened


def config(site: FakeSite, **overrides) -> FetchConfig:
    values = dict(base_url=site.url, delay_s=0.0, timeout_s=2.0, retries=3, backoff_factor=0.001)
    values.update(overrides)
    return FetchConfig(**values)


def fetch(store: Store, site: FakeSite, **overrides):
    with Fetcher(store, config(site, **overrides), progress=False) as fetcher:
        return fetcher.run(FROM, TO)


def stored(store: Store) -> dict[str, bytes]:
    return dict(store.iter_pages())


def all_expected(site: FakeSite) -> dict[str, bytes]:
    return {site.url + d["path"]: site.decision_page(d["path"]) for d in site.decisions}


# -- pure helpers ------------------------------------------------------------------------------------------------
def test_parse_search_results_reads_count_and_rebased_decision_links(site):
    html = site.search_page("2023-03-06", "2023-03-12", 1).decode()
    count, links = parse_search_results(html, "http://127.0.0.1:9")
    assert count == 12
    expected = ["http://127.0.0.1:9" + d["path"] for d in site.in_window("2023-03-06", "2023-03-12")[:10]]
    assert links == expected                                # in order, absolute, on the base host only
    assert any(d["absolute_link"] for d in site.in_window("2023-03-06", "2023-03-12")[:10])


@pytest.mark.parametrize("line, count", [("Your search has 1 result", 1), ("Your search has 1,234 results", 1234),
                                         ("Your  search has\n0 results", 0)])
def test_parse_search_results_count_forms(line, count):
    html = (f"<html><body><p>{line}</p><a href='/decisions'>all</a><a href='/decisions/housing'>housing</a>"
            "<a href='/decisions/housing/allocations/22-100-350#top'>one</a>"
            "<a href='https://elsewhere.example/decisions/housing/allocations/22-100-350'>dup</a></body></html>")
    assert parse_search_results(html, BASE_URL) == (count, [BASE_URL + "/decisions/housing/allocations/22-100-350"])


def test_parse_search_results_refuses_a_page_without_a_count():
    with pytest.raises(FetchError, match="Your search has N results"):
        parse_search_results("<html><body>Something else</body></html>")


def test_date_windows_cover_the_range_exactly():
    windows = date_windows(date(2023, 1, 30), date(2023, 3, 2), 7)
    days = [date.fromisoformat(fd) + timedelta(days=i) for fd, td in windows
            for i in range((date.fromisoformat(td) - date.fromisoformat(fd)).days + 1)]
    assert days == [date(2023, 1, 30) + timedelta(days=i) for i in range(32)]
    assert windows[-1] == ("2023-02-27", "2023-03-02")
    with pytest.raises(ValueError, match="after"):
        date_windows(date(2023, 3, 2), date(2023, 3, 1), 7)


@pytest.mark.parametrize("bad", [dict(base_url="ftp://x"), dict(base_url="not a url"), dict(delay_s=-1),
                                 dict(timeout_s=0), dict(window_days=0), dict(retries=-1)])
def test_bad_config_is_refused(bad):
    with pytest.raises(ValueError):
        FetchConfig(**bad)


def test_default_user_agent_names_the_project_and_a_contact(monkeypatch):
    monkeypatch.setenv("COMPLAINT_OUTCOMES_CONTACT", "research@example.org")
    agent = default_user_agent()
    assert agent.startswith("complaint-outcomes/") and "research@example.org" in agent


# -- a whole run -------------------------------------------------------------------------------------------------
def test_run_stores_every_page_once_and_marks_windows_done(site, store):
    stats = fetch(store, site)
    assert stored(store) == all_expected(site)
    assert all(store.window_done(fd, td) for fd, td in WINDOWS)
    assert (stats.windows, stats.windows_completed, stats.pages_stored, stats.failures) == (3, 3, 17, [])
    assert stats.listing_requests == 2 + 1 + 1              # 12 results need two pages
    assert all(site.count(d["path"]) == 1 for d in site.decisions)
    assert all(hit.headers.get("User-Agent", "").startswith("complaint-outcomes/") for hit in site.hits)


def test_a_second_run_fetches_nothing_and_lists_no_done_window(site, store):
    fetch(store, site)
    hits_before = len(site.hits)
    stats = fetch(store, site)
    new_paths = [hit.path for hit in site.hits[hits_before:]]
    assert new_paths == ["/robots.txt"]
    assert (stats.windows_skipped, stats.pages_stored, stats.listing_requests) == (3, 0, 0)


def test_recent_windows_stay_open_until_settled(site, store):
    today = date.today()
    with Fetcher(store, config(site, settle_days=28), progress=False) as fetcher:
        fetcher.run(today - timedelta(days=40), today)
    assert store.window_done(*date_windows(today - timedelta(days=40), today, 7)[0])
    assert not store.window_done(*date_windows(today - timedelta(days=40), today, 7)[-1])


# -- retries -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("faults", [
    [Fault("status", 500)],
    [Fault("status", 503), Fault("status", 502)],
    [Fault("status", 429)],
    [Fault("slow", seconds=1.0)],                   # longer than the 0.3 s read timeout
], ids=["500", "503-502", "429", "timeout"])
def test_transient_errors_are_retried_and_the_page_is_stored(site, store, faults):
    path = site.decisions[3]["path"]
    site.add_faults(path, *faults)
    stats = fetch(store, site, timeout_s=0.3)
    assert site.count(path) == len(faults) + 1
    assert stored(store)[site.url + path] == site.decision_page(path)
    assert stats.failures == [] and store.page_count() == 17


def test_retry_after_is_honoured(site, store):
    path = site.decisions[0]["path"]
    site.add_faults(path, Fault("status", 429, seconds=1))
    fetch(store, site)
    attempts = [hit.at for hit in site.hits if hit.path == path]
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.95               # back-off alone would wait ~0 s


def test_a_failing_listing_page_is_retried(site, store):
    site.add_faults("/Decisions/SearchResults?fd=2023-03-06&td=2023-03-12&page=2", Fault("status", 500),
                    Fault("truncate"))
    fetch(store, site)
    assert site.listing_hits("2023-03-06", "2023-03-12") == 4
    assert store.page_count() == 17


def test_retries_exhausted_stop_the_run_and_store_nothing_partial(site, store):
    path = site.decisions[12]["path"]                       # first page of the second window
    site.add_faults(path, *[Fault("status", 500)] * 4)
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(store, site, retries=3)
    assert site.count(path) == 4                            # one try + three retries
    assert store.window_done(*WINDOWS[0]) and not store.window_done(*WINDOWS[1])
    assert site.url + path not in stored(store)
    fetch(store, site)                                      # the site recovers: the run completes
    assert stored(store) == all_expected(site)


# -- truncated bodies --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["truncate", "chunk_cut", "close_early", "slow_body"])
def test_a_truncated_body_is_retried_never_stored(site, store, kind):
    path = site.decisions[5]["path"]
    site.add_faults(path, Fault(kind, seconds=1.0))
    fetch(store, site, timeout_s=0.3)
    assert site.count(path) == 2
    assert stored(store)[site.url + path] == site.decision_page(path)


@pytest.mark.parametrize("kind", ["truncate", "chunk_cut", "close_early"])
def test_a_body_that_stays_truncated_is_never_stored(site, store, kind):
    path = site.decisions[5]["path"]
    site.add_faults(path, *[Fault(kind)] * 4)
    with pytest.raises(FetchError, match="incomplete"):
        fetch(store, site, retries=3)
    assert site.count(path) == 4
    assert site.url + path not in stored(store)
    assert not store.window_done(*WINDOWS[0])


def test_a_page_that_is_not_a_decision_is_reported_and_its_window_left_open(site, store):
    path = site.decisions[13]["path"]
    site.add_faults(path, Fault("not_decision"))
    stats = fetch(store, site)
    assert stats.failures == [(site.url + path, "not a decision page (no decision marker)")]
    assert site.url + path not in stored(store)
    assert not store.window_done(*WINDOWS[1]) and store.window_done(*WINDOWS[0])
    stats = fetch(store, site)                              # next run fetches only the missing page
    assert stats.pages_stored == 1 and store.window_done(*WINDOWS[1])
    assert stored(store) == all_expected(site)


def test_a_missing_page_is_reported_and_the_run_goes_on(site, store):
    path = site.decisions[2]["path"]
    site.add_faults(path, Fault("status", 404))
    stats = fetch(store, site)
    assert stats.failures == [(site.url + path, "HTTP 404")]
    assert store.page_count() == 16 and not store.window_done(*WINDOWS[0])


# -- politeness and staying on 127.0.0.1 -------------------------------------------------------------------------
def test_requests_are_spaced_by_the_polite_delay(site, store):
    fetch(store, site, delay_s=0.05)
    starts = [hit.at for hit in site.hits]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert len(gaps) == len(site.hits) - 1 > 20
    assert starts[-1] - starts[0] >= 0.05 * len(gaps) - 0.01   # arrival times jitter by a few ms each
    assert min(gaps) >= 0.03


def test_robots_txt_is_obeyed(site, store):
    site.robots = "User-agent: complaint-outcomes\nDisallow: /Decisions/\n"
    with pytest.raises(FetchError, match="robots.txt"):
        fetch(store, site)
    assert [hit.path for hit in site.hits] == ["/robots.txt"]


def test_robots_crawl_delay_slows_the_fetcher(site, store):
    site.robots = "User-agent: *\nCrawl-delay: 1\n"
    with Fetcher(store, config(site), progress=False) as fetcher:
        fetcher.run(date(2023, 3, 20), date(2023, 3, 26))   # an empty window: robots + one listing request
    assert [hit.path for hit in site.hits] == ["/robots.txt", "/Decisions/SearchResults"]
    assert site.hits[1].at - site.hits[0].at >= 0.95


def test_a_redirect_off_the_site_is_refused(site, store, no_network_but_localhost):
    path = site.decisions[0]["path"]
    site.add_faults(path, Fault("redirect", location="https://www.lgo.org.uk" + path))
    with pytest.raises(FetchError, match="refusing request to https://www.lgo.org.uk"):
        fetch(store, site)
    assert no_network_but_localhost == []                  # refused before any lookup or connection
    assert site.url + path not in stored(store)


def test_every_request_went_to_the_local_server(site, store, monkeypatch):
    """Decision links that point at the real host are fetched from the configured base URL instead."""
    seen = []
    real_send = requests.adapters.HTTPAdapter.send

    def spy(adapter, request, *args, **kwargs):
        seen.append(request.url)
        return real_send(adapter, request, *args, **kwargs)

    monkeypatch.setattr("requests.adapters.HTTPAdapter.send", spy)
    fetch(store, site)
    assert len(seen) == len(site.hits) == 1 + 4 + 17
    assert all(url.startswith(site.url + "/") for url in seen)


def test_the_guard_catches_a_fetcher_aimed_at_the_real_site(store, no_network_but_localhost):
    with pytest.raises(NetworkBlocked):
        with Fetcher(store, FetchConfig(delay_s=0, retries=0), progress=False) as fetcher:
            fetcher.run(FROM, FROM)
    assert no_network_but_localhost == ["look up 'www.lgo.org.uk'"]
    no_network_but_localhost.clear()                        # expected here; the fixture checks all other tests


# -- resume after kill -9 ----------------------------------------------------------------------------------------
FETCH_SCRIPT = """
import sys
from datetime import date
from fetch_server import guard_sockets
from pipeline.fetch import FetchConfig, Fetcher
from pipeline.store import Store

guard_sockets()
db, base = sys.argv[1], sys.argv[2]
with Store(db) as store:
    config = FetchConfig(base_url=base, delay_s=0, timeout_s=10, retries=3, backoff_factor=0.001)
    Fetcher(store, config, progress=False).run(date(2023, 3, 6), date(2023, 3, 26))
"""


def start_fetch_process(db: Path, site: FakeSite) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS)])
    return subprocess.Popen([sys.executable, "-c", FETCH_SCRIPT, str(db), site.url], cwd=REPO, env=env,
                            stderr=subprocess.PIPE)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_resume_after_kill_loses_nothing_and_stores_nothing_twice(site, tmp_path):
    db = tmp_path / "killed.db"
    hung = site.decisions[14]["path"]                      # third page of the second window
    site.add_faults(hung, Fault("hang", seconds=30))
    proc = start_fetch_process(db, site)
    try:
        assert site.hang_started.wait(timeout=30), proc.stderr.read().decode() if proc.poll() is not None else ""
    finally:
        kill(proc)
    site.release.set()
    assert proc.returncode == -signal.SIGKILL

    with Store(db) as store:
        before = stored(store)
        assert len(before) == 12 + 2                        # first window whole, two pages of the second
        assert store.window_done(*WINDOWS[0]) and not store.window_done(*WINDOWS[1])
        listing_first_window = site.listing_hits(*WINDOWS[0])

        stats = fetch(store, site)                          # resume, in-process, to completion
        after = stored(store)

    assert after == all_expected(site)                      # nothing lost, every page complete
    assert all(after[url] == page for url, page in before.items())
    assert stats.pages_stored == 3 and stats.pages_already_stored == 2 and stats.windows_skipped == 1
    assert site.listing_hits(*WINDOWS[0]) == listing_first_window == 2   # a done window is not listed again
    assert site.listing_hits(*WINDOWS[1]) == 2                            # the interrupted one is, once more
    for item in site.decisions:                             # no stored page was downloaded twice
        assert site.count(item["path"]) == (2 if item["path"] == hung else 1), item["path"]
    with Store(db) as store:
        assert all(store.window_done(fd, td) for fd, td in WINDOWS)
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_repeated_random_kills_converge_to_the_complete_corpus(tmp_path):
    """Kill -9 at random moments (mid-request, mid-commit, ...) a few times, then let a run finish: the store is
    exact, and nothing stored before a kill is lost or fetched again."""
    rng = random.Random(20240601)
    db = tmp_path / "chaos.db"
    counts_after_kills = []
    with FakeSite(page_delay_s=0.02) as site:
        def pages_served() -> int:
            return sum(hit.path.startswith("/decisions/") for hit in list(site.hits))

        for _ in range(4):                                  # kill after a random number of pages, at a random
            target = pages_served() + rng.randint(1, 6)     # moment of the fetch/store cycle (machine-speed free)
            proc = start_fetch_process(db, site)
            deadline = time.monotonic() + 30
            while proc.poll() is None and pages_served() < target and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                kill(proc)
                with Store(db) as store:
                    counts_after_kills.append(store.page_count())
        proc = start_fetch_process(db, site)
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
        kills = len(counts_after_kills)
        assert any(0 < n < len(site.decisions) for n in counts_after_kills), \
            f"no kill landed mid-run ({counts_after_kills}): the test proved nothing"
        assert counts_after_kills == sorted(counts_after_kills)       # nothing stored is ever lost
        with Store(db) as store:
            assert stored(store) == all_expected(site)
            assert all(store.window_done(fd, td) for fd, td in WINDOWS)
            assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for item in site.decisions:                         # a page is re-downloaded only if a kill cut its fetch
            assert site.count(item["path"]) <= 1 + kills
        assert sum(site.count(item["path"]) for item in site.decisions) <= len(site.decisions) + kills

"""The SQLite corpus store: upsert by id, all-or-nothing batches, schema version, exports, raw pages, done windows."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.records import Decision, Remedy
from pipeline.store import SCHEMA_VERSION, Store, StoreError, ingest_pages

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "lgsco_decisions.jsonl"


def decision(id: str, **overrides) -> Decision:
    fields = dict(id=id, ref=id.removeprefix("lgsco-").replace("-", " "), authority="Northmoor Borough Council",
                  category="Housing", site_outcome="Upheld", decision_date="2023-03-06", outcome="fault_found",
                  remedies_recommended=[Remedy("apology"), Remedy("payment", 250.0)],
                  complaint=f"Complaint of {id}.", summary="We found fault.")
    fields.update(overrides)
    return Decision(**fields)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "corpus.db") as opened:
        yield opened


def corpus_dicts(n: int) -> list[dict]:
    with open(CORPUS, encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(n), handle)]


# -- schema ------------------------------------------------------------------------------------------------------
def test_new_store_has_current_schema_version_and_wal(tmp_path):
    path = tmp_path / "sub" / "new.db"
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.count() == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_store_refuses_a_newer_schema_version(tmp_path):
    path = tmp_path / "future.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_store_refuses_an_unknown_sqlite_database(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE decisions (id TEXT)")
    conn.close()
    with pytest.raises(StoreError, match="not a complaint-outcomes store"):
        Store(path)


def test_store_refuses_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("this is not a database, just some text that is long enough " * 20)
    with pytest.raises(StoreError, match="not a usable corpus store"):
        Store(path)


# -- upsert / get / iterate --------------------------------------------------------------------------------------
def test_upsert_get_count_and_reopen(tmp_path):
    path = tmp_path / "corpus.db"
    with Store(path) as store:
        assert store.upsert([decision("lgsco-22-100-350"), decision("lgsco-22-107-481", outcome=None)]) == 2
    with Store(path) as store:
        assert store.count() == 2
        assert store.get("lgsco-22-100-350") == decision("lgsco-22-100-350")
        assert store.get("lgsco-22-107-481").outcome is None
        assert store.get("lgsco-00-000-000") is None


def test_upsert_replaces_by_id(store):
    store.upsert([decision("lgsco-1"), decision("lgsco-2")])
    store.upsert([decision("lgsco-1", outcome="no_fault", site_outcome="Not upheld", remedies_recommended=[])])
    assert store.count() == 2
    assert store.get("lgsco-1").outcome == "no_fault"
    assert store.get("lgsco-1").remedies_recommended == []
    assert store.get("lgsco-2").outcome == "fault_found"


def test_upsert_accepts_contract_dicts_and_iter_records_is_ordered_by_id(store):
    rows = corpus_dicts(40)
    assert store.upsert(reversed(rows)) == 40
    ids = [record.id for record in store.iter_records()]
    assert ids == sorted(row["id"] for row in rows)
    assert [r.to_dict() for r in store.iter_records()] == \
        [Decision.from_dict(row).to_dict() for row in sorted(rows, key=lambda row: row["id"])]


BAD_RECORDS = [
    ({"complaint": "no id here"}, "missing required field 'id'"),
    ({"id": "x-1", "complaint": "c", "outcome": "won"}, "unknown outcome label 'won'"),
    ({"id": "x-1", "complaint": "c", "site_outcome": "Partly upheld"}, "unknown site_outcome"),
    ({"id": "x-1", "complaint": "c", "remedies_recommended": [{"type": "cake"}]}, "invalid remedy"),
    ({"id": "x-1"}, "record has no text"),
    (["not", "a", "mapping"], "must be a JSON object"),
    (decision("x-1", outcome="bogus"), "unknown outcome label 'bogus'"),  # a Decision built without validation
]


@pytest.mark.parametrize("bad, message", BAD_RECORDS)
def test_a_bad_record_rejects_the_whole_batch_and_leaves_the_store_unchanged(store, bad, message):
    store.upsert([decision("lgsco-1")])
    batch = [decision("lgsco-1", outcome="no_fault"), decision("lgsco-2"), bad, decision("lgsco-3")]
    with pytest.raises(StoreError, match="record 3") as caught:
        store.upsert(batch)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert store.count() == 1
    assert store.get("lgsco-1").outcome == "fault_found"


def test_require_labels_rejects_unlabelled_records(store):
    with pytest.raises(StoreError, match="missing required field 'outcome'"):
        store.upsert([decision("lgsco-1"), decision("lgsco-2", outcome=None)], require_labels=True)
    assert store.count() == 0


def test_an_iterable_failing_half_way_writes_nothing(store):
    def records():
        yield decision("lgsco-1")
        yield decision("lgsco-2")
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.upsert(records())
    assert store.count() == 0


@settings(max_examples=25, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from(["no_fault", "fault_found"])),
                                 max_size=8), max_size=4))
def test_upsert_keeps_the_last_write_of_each_id(tmp_path_factory, batches):
    with Store(tmp_path_factory.mktemp("prop") / "p.db") as store:
        expected: dict[str, str] = {}
        for batch in batches:
            store.upsert(decision(f"lgsco-{key}", outcome=outcome) for key, outcome in batch)
            expected.update((f"lgsco-{key}", outcome) for key, outcome in batch)
        assert store.count() == len(expected)
        assert {r.id: r.outcome for r in store.iter_records()} == expected


def test_the_whole_shared_corpus_loads_and_round_trips(store, tmp_path):
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    assert store.upsert(rows, require_labels=True) == len(rows)
    assert store.count() == len({row["id"] for row in rows})
    out = tmp_path / "export.jsonl"
    assert store.export_jsonl(out) == store.count()
    exported = {d["id"]: d for d in map(json.loads, out.read_text("utf-8").splitlines())}
    for row in rows:
        assert exported[row["id"]] == Decision.from_dict(row).to_dict()


# -- exports -----------------------------------------------------------------------------------------------------
def test_export_jsonl_round_trips(store, tmp_path):
    records = [decision("lgsco-2", text="A whole page.\nWith lines."), decision("lgsco-1", outcome=None)]
    store.upsert(records)
    out = tmp_path / "out" / "corpus.jsonl"
    assert store.export_jsonl(out) == 2
    lines = out.read_text("utf-8").splitlines()
    assert [Decision.from_dict(json.loads(line)) for line in lines] == sorted(records, key=lambda r: r.id)


def test_export_parquet_round_trips_nested_fields(store, tmp_path):
    import pyarrow.parquet as pq

    records = [decision("lgsco-1", remedies_already_by_body=[Remedy("refund", 80.5)], text="page text"),
               decision("lgsco-2", outcome=None, remedies_recommended=[], not_investigated_reasons=["late"])]
    store.upsert(records)
    out = tmp_path / "corpus.parquet"
    assert store.export_parquet(out, batch_size=1) == 2
    rows = pq.read_table(out).to_pylist()
    for row in rows:
        for name in ("remedies_already_by_body", "remedies_recommended"):
            row[name] = [{k: v for k, v in remedy.items() if v is not None} for remedy in row[name]]
    assert [Decision.from_dict(row) for row in rows] == records


def test_empty_parquet_export_keeps_the_schema(store, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "empty.parquet"
    assert store.export_parquet(out) == 0
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert "remedies_recommended" in table.column_names


@pytest.mark.parametrize("export", ["export_jsonl", "export_parquet"])
def test_a_failed_export_leaves_the_old_file_and_no_temp_file(store, tmp_path, monkeypatch, export):
    store.upsert([decision("lgsco-1"), decision("lgsco-2")])
    out = tmp_path / "corpus.out"
    out.write_text("previous export\n")

    def broken():
        yield decision("lgsco-1")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(store, "iter_records", broken)
    with pytest.raises(RuntimeError):
        getattr(store, export)(out)
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".corpus")) == []


# -- pages and windows -------------------------------------------------------------------------------------------
def test_pages_are_stored_once_and_come_back_byte_for_byte(store):
    page = "<html><body>Décision — £250</body></html>".encode("utf-8") * 50
    assert store.add_page("https://x/decisions/a/b/22-100-350", page, "2024-01-01T00:00:00+00:00") is True
    assert store.add_page("https://x/decisions/a/b/22-100-350", b"<html>other</html>", "2024-01-02") is False
    assert store.add_page("https://x/decisions/a/b/22-107-481", b"<html>second</html>", "2024-01-02") is True
    assert store.has_page("https://x/decisions/a/b/22-100-350")
    assert not store.has_page("https://x/decisions/a/b/99-999-999")
    assert store.page_count() == 2
    assert list(store.iter_pages()) == [("https://x/decisions/a/b/22-100-350", page),
                                        ("https://x/decisions/a/b/22-107-481", b"<html>second</html>")]


@pytest.mark.parametrize("url, content", [("", b"<html/>"), ("https://x/p", b""), ("https://x/p", "text")])
def test_add_page_rejects_empty_or_non_bytes(store, url, content):
    with pytest.raises(StoreError):
        store.add_page(url, content, "2024-01-01")
    assert store.page_count() == 0


def test_windows_are_remembered_across_reopen(tmp_path):
    path = tmp_path / "w.db"
    with Store(path) as store:
        assert not store.window_done("2023-03-06", "2023-03-12")
        store.mark_window_done("2023-03-06", "2023-03-12", 12)
        store.mark_window_done("2023-03-06", "2023-03-12", 12)
    with Store(path) as store:
        assert store.window_done("2023-03-06", "2023-03-12")
        assert not store.window_done("2023-03-06", "2023-03-13")


# -- ingest of fetched pages -------------------------------------------------------------------------------------
def fake_parse(content, source_url=""):
    """Stands in for parse.record_from_page: 'ref|site_outcome|complaint' pages; anything else fails."""
    text = content.decode("utf-8")
    if text.count("|") != 2:
        raise ValueError("no decision header found")
    ref, site, complaint = text.split("|")
    return Decision(id=f"lgsco-{ref}" if ref else "", ref=ref.replace("-", " "), site_outcome=site,
                    complaint=complaint, text=text, source_url=source_url)


def test_ingest_pages_converts_good_pages_and_reports_bad_ones(store):
    store.add_page("https://x/a", b"22-100-350|Upheld|Mrs Q waited a year.", "t")
    store.add_page("https://x/b", b"<html>maintenance</html>", "t")
    store.add_page("https://x/c", b"22-107-481|Weird|Mr R.", "t")        # unknown site_outcome
    store.add_page("https://x/d", b"|Upheld|No reference.", "t")         # no id
    store.add_page("https://x/e", b"22-114-612|Not upheld|Ms T.", "t")
    n_ok, errors = ingest_pages(store, fake_parse)
    assert n_ok == 2
    assert [url for url, _ in errors] == ["https://x/b", "https://x/c", "https://x/d"]
    assert "no decision header" in errors[0][1] and "site_outcome" in errors[1][1] and "no id" in errors[2][1]
    assert {r.id for r in store.iter_records()} == {"lgsco-22-100-350", "lgsco-22-114-612"}
    record = store.get("lgsco-22-100-350")
    assert record.source_url == "https://x/a" and record.outcome is None and record.site_outcome == "Upheld"


def test_ingest_pages_keeps_existing_labels_unless_told_not_to(store):
    store.upsert([decision("lgsco-22-100-350", outcome="remedy_adequate", complaint="old restated text",
                           remedies_already_by_body=[Remedy("apology")])])
    store.add_page("https://x/a", b"22-100-350|Upheld|Mrs Q waited a year.", "t")
    assert ingest_pages(store, fake_parse) == (1, [])
    record = store.get("lgsco-22-100-350")
    assert record.complaint == "Mrs Q waited a year."               # text comes from the page
    assert record.outcome == "remedy_adequate"                      # labels survive
    assert record.remedies_already_by_body == [Remedy("apology")]
    ingest_pages(store, fake_parse, keep_labels=False)
    assert store.get("lgsco-22-100-350").outcome is None


def test_ingest_pages_with_the_real_parser_on_fixture_pages(store):
    parse = pytest.importorskip("pipeline.parse")
    from fetch_server import FakeSite

    site = FakeSite()
    for item in site.decisions[:5]:
        store.add_page("https://www.lgo.org.uk" + item["path"], site.decision_page(item["path"]), "t")
    n_ok, errors = ingest_pages(store, parse.record_from_page)
    assert errors == []
    assert n_ok == 5
    for item in site.decisions[:5]:
        record = store.get("lgsco-" + item["ref"].replace(" ", "-"))
        assert record is not None, item["ref"]
        assert record.site_outcome == item["decision"]
        assert record.authority == item["authority"]


# -- crash safety ------------------------------------------------------------------------------------------------
KILLED_WRITER = """
import sys, time
from pathlib import Path
from pipeline.records import Decision
from pipeline.store import Store

def records():
    for n in range(1000):
        if n == 500:
            Path(sys.argv[2]).write_text("half way")
            time.sleep(60)
        yield Decision(id=f"lgsco-{n:04d}", complaint="text")

Store(sys.argv[1]).upsert(records())
"""


def test_a_batch_killed_half_way_leaves_the_store_as_it_was(tmp_path):
    db, marker = tmp_path / "k.db", tmp_path / "marker"
    with Store(db) as store:
        store.upsert([decision("lgsco-keep")])
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(db), str(marker)], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never reached half way"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with Store(db) as store:
        assert [r.id for r in store.iter_records()] == ["lgsco-keep"]
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

"""Embedded SQLite corpus store: decisions upserted by ``id``, raw fetched pages, and the fetcher's done windows.

Why SQLite: one file, transactions, and crash safety for free. Every write is one transaction, so a batch with a
bad record, an exception half-way, or even ``kill -9`` leaves the store exactly as it was before the batch. The
database runs in WAL mode, so readers (e.g. an export) do not block the fetcher's writes.

Records are kept as their contract JSON (``Decision.to_dict()``) plus a few indexed columns for queries. Raw pages
are kept zlib-compressed (a published page is mostly markup) and turned into records at ingest time by
``ingest_pages`` with a parse function passed in, so this module never imports the parser.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Mapping

from pipeline.records import Decision, RecordError

DEFAULT_PATH = "data/decisions.db"
APPLICATION_ID = 0x434F5554  # "COUT": marks a file as a complaint-outcomes store
LABEL_FIELDS = ("outcome", "not_investigated_reasons", "remedies_already_by_body", "remedies_recommended")
PAGE_BATCH = 64  # rows fetched at a time when streaming pages or records

# Schema migrations, applied in order: the list index + 1 is the schema version (PRAGMA user_version).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 1
        """CREATE TABLE decisions (
            id TEXT PRIMARY KEY,
            outcome TEXT,
            site_outcome TEXT NOT NULL,
            decision_date TEXT,
            category TEXT NOT NULL,
            record TEXT NOT NULL            -- Decision.to_dict() as JSON
        )""",
        "CREATE INDEX decisions_outcome ON decisions(outcome)",
        "CREATE INDEX decisions_site_outcome ON decisions(site_outcome)",
        "CREATE INDEX decisions_date ON decisions(decision_date)",
        "CREATE INDEX decisions_category ON decisions(category)",
        """CREATE TABLE pages (
            url TEXT PRIMARY KEY,
            content BLOB NOT NULL,          -- zlib-compressed page bytes, exactly as served
            size INTEGER NOT NULL,          -- uncompressed length
            fetched_at TEXT NOT NULL
        )""",
        """CREATE TABLE windows (
            fd TEXT NOT NULL,
            td TEXT NOT NULL,
            n_results INTEGER NOT NULL,
            done_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            PRIMARY KEY (fd, td)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(ValueError):
    """The store cannot be opened or a write was refused; the message names the problem."""


class Store:
    """A corpus of decisions in one SQLite file (default ``data/decisions.db``)."""

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # Autocommit mode: transactions are opened explicitly by _transaction().
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise StoreError(f"{self.path}: not a usable corpus store ({exc})") from None
        except StoreError:
            self._close_quietly()
            raise

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: commit if the block finishes, roll back on any exception (or never commit if killed)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        """Create the schema in a new file; refuse files from a newer version or from another program."""
        version = self._pragma("user_version")
        app_id = self._pragma("application_id")
        has_tables = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        if has_tables and app_id != APPLICATION_ID:
            raise StoreError(f"{self.path}: not a complaint-outcomes store (unknown SQLite database)")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema version {version} is newer than this code supports "
                             f"({SCHEMA_VERSION}); upgrade complaint-outcomes")
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as conn:
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _pragma(self, name: str) -> int:
        return int(self._conn.execute(f"PRAGMA {name}").fetchone()[0])

    @property
    def schema_version(self) -> int:
        return self._pragma("user_version")

    # -- decisions ---------------------------------------------------------------------------------------------
    def upsert(self, records: Iterable[Decision | Mapping[str, Any]], *, require_labels: bool = False) -> int:
        """Insert or replace records by ``id`` in one transaction; return how many were written.

        Every record is validated against the contract (and must have an ``id``); the first bad one raises
        StoreError naming its position and the problem, and nothing of the batch is kept. The iterable is streamed,
        so a large batch does not have to fit in memory.
        """
        written = 0
        with self._transaction() as conn:
            for number, record in enumerate(records, start=1):
                row = _decision_row(_validated(record, require_labels, where=f"record {number}"))
                conn.execute("INSERT OR REPLACE INTO decisions (id, outcome, site_outcome, decision_date, category,"
                             " record) VALUES (?, ?, ?, ?, ?, ?)", row)
                written += 1
        return written

    def get(self, id: str) -> Decision | None:
        row = self._conn.execute("SELECT record FROM decisions WHERE id = ?", (id,)).fetchone()
        return Decision.from_dict(json.loads(row[0])) if row else None

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM decisions").fetchone()[0])

    def iter_records(self) -> Iterator[Decision]:
        """Every record, ordered by id (so exports are reproducible)."""
        for (text,) in _stream(self._conn.execute("SELECT record FROM decisions ORDER BY id")):
            yield Decision.from_dict(json.loads(text))

    def export_jsonl(self, path: str | Path) -> int:
        """Write every record as JSON Lines; the file appears complete or not at all."""
        def write(handle: IO[bytes]) -> int:
            n = 0
            for record in self.iter_records():
                handle.write(json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n")
                n += 1
            return n
        return _atomic_write(Path(path), write)

    def export_parquet(self, path: str | Path, batch_size: int = 1000) -> int:
        """Write every record as Parquet (nested lists/structs kept); the file appears complete or not at all."""
        import pyarrow as pa  # heavy import, only needed here
        import pyarrow.parquet as pq

        schema = parquet_schema()

        def write(handle: IO[bytes]) -> int:
            n = 0
            with pq.ParquetWriter(handle, schema) as writer:
                batch: list[dict[str, Any]] = []
                for record in self.iter_records():
                    batch.append(record.to_dict())
                    if len(batch) >= batch_size:
                        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                        n, batch = n + len(batch), []
                if batch or n == 0:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    n += len(batch)
            return n
        return _atomic_write(Path(path), write)

    # -- raw pages and done windows, for the fetcher -----------------------------------------------------------
    def add_page(self, url: str, content: bytes, fetched_at: str) -> bool:
        """Store a fetched page once (idempotent by url); return True if it was new. Commits immediately."""
        if not url:
            raise StoreError("page url is empty")
        if not isinstance(content, (bytes, bytearray)) or not content:
            raise StoreError(f"page {url}: content must be non-empty bytes")
        with self._transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO pages (url, content, size, fetched_at) VALUES (?, ?, ?, ?)",
                                  (url, zlib.compress(bytes(content)), len(content), fetched_at))
        return cursor.rowcount == 1

    def has_page(self, url: str) -> bool:
        return self._conn.execute("SELECT 1 FROM pages WHERE url = ?", (url,)).fetchone() is not None

    def page_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM pages").fetchone()[0])

    def iter_pages(self) -> Iterator[tuple[str, bytes]]:
        """Every stored page as (url, bytes exactly as served), ordered by url."""
        for url, blob in _stream(self._conn.execute("SELECT url, content FROM pages ORDER BY url")):
            yield url, zlib.decompress(blob)

    def window_done(self, fd: str, td: str) -> bool:
        return self._conn.execute("SELECT 1 FROM windows WHERE fd = ? AND td = ?",
                                  (str(fd), str(td))).fetchone() is not None

    def mark_window_done(self, fd: str, td: str, n_results: int) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO windows (fd, td, n_results) VALUES (?, ?, ?)",
                         (str(fd), str(td), int(n_results)))


def ingest_pages(store: Store, parse_fn: Callable[..., Decision], *,
                 keep_labels: bool = True) -> tuple[int, list[tuple[str, str]]]:
    """Turn every stored page into a record with ``parse_fn(content, source_url=url)`` and upsert them.

    A page that cannot be parsed (``parse_fn`` raises ValueError, e.g. ParseError/RecordError) or yields a record
    without an ``id`` is reported in the returned ``errors`` as (url, message) and skipped; the good ones are
    written in one transaction. Pages carry no labels, so with ``keep_labels`` a record that is already labelled
    in the store keeps its outcome, reasons and remedies rather than being reset to unlabelled.
    """
    errors: list[tuple[str, str]] = []

    def good_records() -> Iterator[Decision]:
        for url, content in store.iter_pages():
            try:
                record = _record_from_page(parse_fn, content, url)
            except ValueError as exc:
                errors.append((url, _one_line(exc)))
                continue
            previous = store.get(record.id) if keep_labels and record.outcome is None else None
            yield _with_labels_of(previous, record) if previous is not None else record

    n_ok = store.upsert(good_records())
    return n_ok, errors


def parquet_schema() -> Any:
    """The Parquet layout of a Decision (pyarrow schema), explicit so empty exports keep their column types."""
    import pyarrow as pa

    remedy = pa.list_(pa.struct([("type", pa.string()), ("amount_gbp", pa.float64())]))
    fields = [(name, pa.string()) for name in ("id", "ombudsman", "ref", "source_url", "authority", "category",
                                               "subcategory", "site_outcome", "decision_date", "outcome")]
    fields += [("not_investigated_reasons", pa.list_(pa.string())),
               ("remedies_already_by_body", remedy), ("remedies_recommended", remedy)]
    fields += [(name, pa.string()) for name in ("summary", "complaint", "assessment", "text")]
    return pa.schema(fields)


# -- helpers ---------------------------------------------------------------------------------------------------
def _validated(record: Decision | Mapping[str, Any], require_labels: bool, where: str) -> Decision:
    """Re-check a record against the contract (a Decision can be built without validation)."""
    data = record.to_dict() if isinstance(record, Decision) else record
    ident = data.get("id") if isinstance(data, Mapping) else None
    label = f"{where} (id {ident!r})" if ident else where
    try:
        decision = Decision.from_dict(data, require_labels=require_labels)
    except RecordError as exc:
        raise StoreError(f"{label}: {_one_line(exc)}; nothing was written") from None
    if not decision.id:
        raise StoreError(f"{label}: missing required field 'id'; nothing was written")
    return decision


def _decision_row(record: Decision) -> tuple[Any, ...]:
    return (record.id, record.outcome, record.site_outcome, record.decision_date, record.category,
            json.dumps(record.to_dict(), ensure_ascii=False))


def _record_from_page(parse_fn: Callable[..., Decision], content: bytes, url: str) -> Decision:
    record = parse_fn(content, source_url=url)
    if not isinstance(record, Decision):
        raise ValueError(f"parse function returned {type(record).__name__}, expected Decision")
    if not record.source_url:
        record.source_url = url
    if not record.id:
        raise ValueError("parsed record has no id (no reference found on the page)")
    return Decision.from_dict(record.to_dict())  # validate here, so one bad page cannot abort the batch


def _with_labels_of(previous: Decision, record: Decision) -> Decision:
    for name in LABEL_FIELDS:
        setattr(record, name, getattr(previous, name))
    return record


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _stream(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(PAGE_BATCH):
        yield from rows


def _atomic_write(path: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Write to a temporary file next to ``path``, then rename it over ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            n = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return n

"""Load a corpus (JSON Lines, CSV or Parquet) into validated records or a pandas DataFrame.

Every record passes ``Decision.from_dict``; a bad one stops the load with an error naming the file and line
(or row), unless ``skip_invalid`` is set, in which case it is reported through ``on_invalid`` and skipped.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from pipeline.records import Decision, RecordError

LIST_FIELDS = ("not_investigated_reasons", "remedies_already_by_body", "remedies_recommended")


class CorpusError(ValueError):
    """The corpus file cannot be read; the message names the file and line."""


def load_records(path: str | Path, *, require_labels: bool = False, skip_invalid: bool = False,
                 on_invalid: Callable[[str], None] | None = None) -> list[Decision]:
    """Read every record in ``path``; raise CorpusError on the first bad one unless ``skip_invalid``."""
    path = Path(path)
    records = []
    for where, raw in _raw_rows(path):
        try:
            records.append(Decision.from_dict(raw, require_labels=require_labels))
        except RecordError as exc:
            message = f"{path}:{where}: {exc}"
            if not skip_invalid:
                raise CorpusError(message) from None
            if on_invalid:
                on_invalid(message)
    if not records:
        raise CorpusError(f"{path}: no valid records")
    return records


def load_dataframe(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """The validated records as a DataFrame, one row per record (for analysts)."""
    return records_to_frame(load_records(path, **kwargs))


def records_to_frame(records: list[Decision]) -> pd.DataFrame:
    return pd.DataFrame([record.to_dict() for record in records])


def data_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: identifies the training data in model metadata."""
    return sha256_file(path)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _raw_rows(path: Path) -> Iterator[tuple[str, Any]]:
    if not path.exists():
        raise CorpusError(f"{path}: no such file")
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory, expected a .jsonl, .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq"):
        yield from _frame_rows(path, suffix)
    else:
        yield from _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                raise CorpusError(f"{path}:line {number}: not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}:line {number}: invalid JSON ({exc.msg})") from None


def _frame_rows(path: Path, suffix: str) -> Iterator[tuple[str, Any]]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise CorpusError(f"{path}: cannot read as {suffix[1:]} ({exc})") from None
    for number, row in enumerate(frame.to_dict("records"), start=2 if suffix == ".csv" else 1):
        yield f"row {number}", _decode_nested(row)


def _decode_nested(row: dict[str, Any]) -> dict[str, Any]:
    """CSV (and some Parquet writers) keep list fields as JSON strings or arrays; bring them back to lists."""
    out = {}
    for key, value in row.items():
        if key in LIST_FIELDS:
            if isinstance(value, str):
                value = json.loads(value) if value.strip() else []
            elif value is not None and not isinstance(value, list):
                value = [dict(v) if isinstance(v, dict) else v for v in list(value)]
            if isinstance(value, list):
                value = [{k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item
                         for item in value]
        elif isinstance(value, float) and value != value:  # NaN from Parquet
            value = None
        out[key] = value if value != "" or key not in ("decision_date", "outcome") else None
    return out

import json

import pandas as pd
import pytest

from pipeline.corpus import CorpusError, load_dataframe, load_records
from pipeline.records import OUTCOMES

GOOD = {"id": "lgsco-1", "ref": "1", "site_outcome": "Upheld", "outcome": "fault_found", "summary": "s",
        "complaint": "c", "assessment": "", "remedies_recommended": [{"type": "payment", "amount_gbp": 250}]}


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_shipped_corpus_loads_and_is_valid(tmp_path):
    records = load_records("data/lgsco_decisions.jsonl", require_labels=True)
    assert len(records) >= 2411
    assert {r.outcome for r in records} == set(OUTCOMES)
    assert len({r.id for r in records}) == len(records)


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, "{not json", GOOD])
    with pytest.raises(CorpusError, match=r"c.jsonl:line 2: invalid JSON"):
        load_records(path)


def test_unknown_label_names_line(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, dict(GOOD, id="x", outcome="won")])
    with pytest.raises(CorpusError, match=r"line 2: unknown outcome label 'won'"):
        load_records(path)


def test_skip_invalid_reports_and_keeps_the_rest(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, "[1, 2]", dict(GOOD, id="b", summary=7), dict(GOOD, id="c")])
    problems = []
    records = load_records(path, skip_invalid=True, on_invalid=problems.append)
    assert [r.id for r in records] == ["lgsco-1", "c"]
    assert len(problems) == 2 and "line 2" in problems[0] and "line 3" in problems[1]


def test_missing_required_label(tmp_path):
    row = dict(GOOD)
    row.pop("outcome")
    path = write_jsonl(tmp_path / "c.jsonl", [row])
    with pytest.raises(CorpusError, match="missing required field 'outcome'"):
        load_records(path, require_labels=True)
    assert load_records(path)[0].outcome is None


def test_csv_and_parquet_round_trip(tmp_path):
    frame = load_dataframe("data/lgsco_decisions.jsonl").head(50)
    csv = tmp_path / "c.csv"
    frame.assign(**{c: frame[c].map(json.dumps) for c in
                    ("not_investigated_reasons", "remedies_already_by_body", "remedies_recommended")}).to_csv(csv, index=False)
    parquet = tmp_path / "c.parquet"
    frame.to_parquet(parquet)
    for path in (csv, parquet):
        records = load_records(path, require_labels=True)
        assert [r.id for r in records] == frame["id"].tolist()
        assert [r.to_dict()["remedies_recommended"] for r in records] == frame["remedies_recommended"].tolist()


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(CorpusError, match="no valid records"):
        load_records(tmp_path / "e.jsonl")
    with pytest.raises(CorpusError, match="no such file"):
        load_records(tmp_path / "missing.jsonl")
    (tmp_path / "b.jsonl").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(CorpusError, match="line 1"):
        load_records(tmp_path / "b.jsonl")


def test_dataframe_has_contract_columns():
    frame = load_dataframe("data/lgsco_decisions.jsonl")
    assert isinstance(frame, pd.DataFrame)
    for column in ("id", "outcome", "site_outcome", "summary", "complaint", "remedies_recommended"):
        assert column in frame.columns

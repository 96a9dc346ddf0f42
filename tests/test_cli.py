"""The command line as the contract fixes it: JSON shapes, exit codes, one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "examples" / "seed_decision.txt"


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "pipeline", "--quiet", *map(str, args)], cwd=REPO,
                          capture_output=True, text=stdin is None or isinstance(stdin, str), input=stdin, timeout=300)


def test_help_lists_commands():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("parse", "train", "evaluate", "predict", "extract", "features-eval", "ingest", "export", "fetch",
                    "models", "compare", "report", "serve", "run"):
        assert command in result.stdout


def test_parse_seed_decision():
    if not SEED.exists():
        pytest.skip("shared/ examples not present")
    result = cli("parse", SEED, "--json")
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["header"]["site_outcome"] == "unknown"
    assert list(parsed["sections"]) == ["summary", "complaint", "role_and_powers", "how_considered", "assessment",
                                        "final_decision"]


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff\xfe" * 50, b"<html><body><h1>Page not found</h1></body></html>"])
def test_parse_bad_input_is_one_line_error(tmp_path, content):
    path = tmp_path / "bad.html"
    path.write_bytes(content)
    result = cli("parse", path, "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_evaluate_json_matches_contract(trained_model_dirs, training_sample_path):
    result = cli("evaluate", "--model", trained_model_dirs["decision"], "--data", training_sample_path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert isinstance(report["n"], int) and report["n"] > 0
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert set(report["per_class"]) == {"not_investigated", "no_fault", "remedy_adequate", "fault_found"}
    for metrics in report["per_class"].values():
        assert set(metrics) >= {"precision", "recall", "f1", "support"}
    assert "macro_f1" in report["baselines"]["majority"] and "macro_f1" in report["baselines"]["tfidf_logreg"]


def test_train_writes_model_directory(training_sample_path, tmp_path):
    out = tmp_path / "model"
    result = cli("train", "--data", training_sample_path, "--view", "triage", "--out", out)
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["view"] == "triage" and meta["sha256"]
    assert json.loads(result.stdout)["model_dir"] == str(out)


def test_train_rejects_unknown_label(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "a", "outcome": "won", "complaint": "c"}) + "\n")
    result = cli("train", "--data", path, "--view", "triage", "--out", tmp_path / "m")
    assert result.returncode == 2
    assert "unknown outcome label 'won'" in result.stderr
    assert not (tmp_path / "m").exists()


def test_extract_reads_json_record_from_stdin():
    record = {"summary": "The Council has already apologised to Mr X.", "complaint": "Mr X complained.",
              "assessment": ""}
    result = cli("extract", "-", "--json", stdin=json.dumps(record))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {"features", "reasons"} <= set(found)
    assert any(f["type"] == "apology" and f["status"] == "already_by_body" for f in found["features"])


def test_ingest_bad_file_leaves_store_unchanged(tmp_path):
    db = tmp_path / "d.db"
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "a", "outcome": "no_fault", "complaint": "c"}) + "\n")
    assert cli("ingest", good, "--db", db).returncode == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b", "outcome": "no_fault", "complaint": "c"}) + "\n{oops\n")
    result = cli("ingest", bad, "--db", db)
    assert result.returncode == 2 and "line 2" in result.stderr
    exported = tmp_path / "out.jsonl"
    assert cli("export", "--db", db, "--out", exported).returncode == 0
    assert [json.loads(line)["id"] for line in exported.read_text().splitlines()] == ["a"]


def test_train_twice_then_models_lists_both_and_compare_tests_significance(tmp_path, corpus_records):
    from conftest import stratified_sample

    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in stratified_sample(corpus_records, size=200, min_per_class=25)))
    registry = tmp_path / "models"
    registry.mkdir()
    (registry / "README.md").write_text("model registry\n")
    dirs = []
    for _ in range(2):
        result = cli("train", "--data", data, "--view", "decision", "--out", registry)
        assert result.returncode == 0, result.stderr
        dirs.append(json.loads(result.stdout)["model_dir"])
    listed = cli("models", "--registry", registry, "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(row["path"] for row in json.loads(listed.stdout)) == sorted(dirs)
    compared = cli("compare", dirs[0], dirs[1], "--data", data)
    assert compared.returncode == 0, compared.stderr
    assert "McNemar" in compared.stdout and "significant" in compared.stdout
    as_json = json.loads(cli("compare", dirs[0], dirs[1], "--data", data, "--json").stdout)
    assert 0.0 <= as_json["mcnemar"]["p_value"] <= 1.0
    low, high = as_json["bootstrap_macro_f1_difference_95ci"]
    assert low <= as_json["macro_f1_difference"] <= high


def test_fetch_then_ingest_pages_then_export_through_the_cli(tmp_path):
    """The analyst's path from the site to a corpus file, against the fake site on 127.0.0.1."""
    import os

    from fetch_server import FakeSite

    db, out = tmp_path / "d.db", tmp_path / "corpus.jsonl"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with FakeSite() as site:
        fetched = subprocess.run(
            [sys.executable, "-m", "pipeline", "--quiet", "fetch", "--from", "2023-03-06", "--to", "2023-03-26",
             "--db", str(db), "--base-url", site.url, "--delay", "0"],
            cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
        assert fetched.returncode == 0, fetched.stderr
        expected = set(site.expected_urls("2023-03-06", "2023-03-26"))
    assert len(expected) >= 10
    assert json.loads(fetched.stdout)
    ingested = cli("ingest", "--pages", "--db", db)
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["ingested"] == len(expected)
    assert cli("export", "--db", db, "--out", out).returncode == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["source_url"] for r in records} == expected
    assert all(r["ref"] and r["complaint"] for r in records)

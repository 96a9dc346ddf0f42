"""The HTML report: self-contained (embedded PNGs, nothing external), complete, and safe with hostile text."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from pipeline.records import OUTCOMES, Decision, Remedy
from pipeline.report import REPORT_FILE, ReportError, error_examples, frequencies, group_labels, remedy_presence, \
    write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTIONS = ("header", "metrics", "confusion", "per-class", "calibration", "features", "remedies", "errors")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = '<img src="http://evil.example/x.png" onerror="alert(1)"> & <b>bold</b> "quoted"'
CHROMIUM = Path("/usr/bin/chromium")


class TagChecker(HTMLParser):
    """Collects every start tag and checks that non-void elements are closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def check_tags(html_text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(html_text)
    checker.close()
    return checker


@pytest.fixture(scope="module")
def decision_model(trained_model_dirs, tmp_path_factory) -> Path:
    """A private copy of the shared decision model (the report writes into the model directory by default)."""
    copy = tmp_path_factory.mktemp("report-model") / "model"
    shutil.copytree(trained_model_dirs["decision"], copy)
    return copy


@pytest.fixture(scope="module")
def report(decision_model) -> tuple[Path, str]:
    path = write_report(decision_model)
    return path, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_data(decision_model, tmp_path_factory) -> Path:
    """The training data with markup appended to every text field (joined to the model's predictions by id)."""
    meta = json.loads((decision_model / "metadata.json").read_text())
    out = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    with open(meta["data_path"], encoding="utf-8") as source, open(out, "w", encoding="utf-8") as sink:
        for line in source:
            row = json.loads(line)
            for field in ("summary", "complaint", "assessment"):
                if row.get(field):
                    row[field] = HOSTILE + " " + row[field]
            sink.write(json.dumps(row) + "\n")
    return out


def test_default_output_is_report_html_in_the_model_dir(decision_model, report):
    path, _ = report
    assert path == decision_model / REPORT_FILE
    assert path.is_file()


def test_html_is_well_formed(report):
    _, html_text = report
    checker = check_tags(html_text)
    assert checker.problems == []
    assert checker.stack == []
    assert html_text.lstrip().lower().startswith("<!doctype html>")


def test_every_image_is_an_embedded_png(report):
    _, html_text = report
    images = [attrs for tag, attrs in check_tags(html_text).tags if tag == "img"]
    assert len(images) >= 4  # confusion matrix, calibration, remedy heatmaps by outcome and by category
    for attrs in images:
        src = attrs.get("src") or ""
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:60]
        assert base64.b64decode(src[len(prefix):], validate=True).startswith(PNG_SIGNATURE)


def test_nothing_is_loaded_from_outside(report):
    _, html_text = report
    tags = check_tags(html_text).tags
    assert not [tag for tag, _ in tags if tag in ("script", "link", "iframe", "object", "embed")]
    for tag, attrs in tags:
        if "src" in attrs:
            assert attrs["src"].startswith("data:"), (tag, attrs["src"][:60])
        if "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs["href"])
    assert "url(" not in html_text and "@import" not in html_text


def test_expected_sections_are_present(report):
    _, html_text = report
    soup = BeautifulSoup(html_text, "html.parser")
    for anchor in SECTIONS:
        section = soup.find("section", id=anchor)
        assert section is not None, anchor
        assert section.find("h2").get_text(strip=True)
        assert soup.find("a", href=f"#{anchor}") is not None


def test_header_and_metrics_come_from_the_metadata(decision_model, report):
    _, html_text = report
    meta = json.loads((decision_model / "metadata.json").read_text())
    soup = BeautifulSoup(html_text, "html.parser")
    header = soup.find("section", id="header").get_text(" ")
    assert meta["version"] in header and meta["view"] in header and meta["data_path"] in header
    metrics = soup.find("section", id="metrics").get_text(" ")
    cv = meta["metrics"]["cv"]
    assert f"{cv['model']['macro_f1']:.3f}" in metrics
    assert f"{cv['baselines']['tfidf_logreg']['macro_f1']:.3f}" in metrics
    assert f"{cv['baselines']['majority']['macro_f1']:.3f}" in metrics
    if meta["metrics"].get("temporal"):
        assert f"{meta['metrics']['temporal']['model']['macro_f1']:.3f}" in metrics
    per_class = soup.find("section", id="per-class")
    rows = {tr.find("td").get_text(): tr for tr in per_class.find_all("tr") if tr.find("td")}
    assert list(rows) == [c for c in OUTCOMES if c in cv["model"]["per_class"]]
    for cls, row in rows.items():
        assert f"{cv['model']['per_class'][cls]['f1']:.3f}" in row.get_text(" ")


def test_informative_features_are_positive_and_sorted(report):
    _, html_text = report
    soup = BeautifulSoup(html_text, "html.parser")
    tables = soup.find("section", id="features").find_all("table", class_="features")
    assert sorted(t["data-class"] for t in tables) == sorted(OUTCOMES)
    for table in tables:
        rows = [[td.get_text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
        assert rows, table["data-class"]
        weights = [float(row[2]) for row in rows]
        assert all(w > 0 for w in weights)
        assert weights == sorted(weights, reverse=True)
        assert not any("characters" in row[1] for row in rows)  # char n-grams are listed apart


def test_error_examples_are_escaped(decision_model, hostile_data, tmp_path):
    path = write_report(decision_model, out=tmp_path / "nested" / "r.html", data=hostile_data)
    html_text = path.read_text(encoding="utf-8")
    assert HOSTILE not in html_text
    assert "&lt;img src=&quot;http://evil.example/x.png&quot;" in html_text
    tags = check_tags(html_text).tags
    assert not [attrs for tag, attrs in tags if tag == "img" and not attrs["src"].startswith("data:")]
    soup = BeautifulSoup(html_text, "html.parser")
    assert not [b for b in soup.find_all("b") if b.get_text() == "bold"]  # the injected <b> stayed text
    quotes = soup.find("section", id="errors").find_all("blockquote")
    assert quotes, "a small model makes out-of-fold mistakes, so there must be examples"
    assert all(q.get_text().startswith(HOSTILE[:40]) for q in quotes)  # the markup survives as text
    assert "differs from the training data" in soup.find("section", id="header").get_text()


def test_triage_report_shows_only_the_complaint(trained_model_dirs, tmp_path):
    model = trained_model_dirs["triage"]
    path = write_report(model, out=tmp_path / "triage.html")
    meta = json.loads((model / "metadata.json").read_text())
    by_id = {row["id"]: row for row in map(json.loads, open(meta["data_path"], encoding="utf-8"))}
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    examples = soup.find("section", id="errors").find_all("div", class_="error")
    assert examples
    for example in examples:
        record = by_id[example.find("b").get_text()]
        shown = example.find("blockquote").get_text().rstrip("…")
        assert " ".join(record["complaint"].split()).startswith(shown)
        if record["summary"]:
            assert " ".join(record["summary"].split())[:60] not in shown


def test_output_into_an_existing_directory_is_named_by_version(decision_model, tmp_path):
    meta = json.loads((decision_model / "metadata.json").read_text())
    path = write_report(decision_model, out=tmp_path)
    assert path == tmp_path / f"report-{meta['version']}.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_explicit_missing_data_is_an_error(decision_model, tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        write_report(decision_model, out=tmp_path / "r.html", data=tmp_path / "nope.jsonl")


def test_missing_default_data_leaves_out_data_sections(decision_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(decision_model, copy)
    meta_path = copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["data_path"] = str(tmp_path / "moved-away.jsonl")
    meta_path.write_text(json.dumps(meta))
    messages: list[str] = []
    path = write_report(copy, progress=messages.append)
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    assert "not found" in soup.find("section", id="header").get_text()
    assert soup.find("section", id="errors").find("blockquote") is None
    assert soup.find("section", id="metrics").find("table") is not None
    assert any("wrote" in m for m in messages)


# --- helpers on small hand-made inputs -------------------------------------------------------------------------
def _record(id_: str, outcome: str, summary: str, category: str = "Housing", **kwargs) -> Decision:
    return Decision(id=id_, outcome=outcome, summary=summary, complaint=f"Complaint {id_}.", category=category,
                    **kwargs)


def test_error_examples_pick_confident_mistakes_per_class():
    records = [_record(f"r{i}", "fault_found", f"Summary {i} <x>.") for i in range(4)]
    cv = {"classes": ["fault_found", "no_fault"], "y": ["fault_found"] * 4, "ids": ["r0", "r1", "r2", "r3"],
          "probabilities": [[0.9, 0.1], [0.3, 0.7], [0.1, 0.9], [0.4, 0.6]]}
    examples = error_examples(cv, records, "decision", per_class=2)
    assert [e.id for e in examples["fault_found"]] == ["r2", "r1"]
    assert examples["fault_found"][0].predicted == "no_fault"
    assert examples["fault_found"][0].probability == pytest.approx(0.9)
    assert examples["fault_found"][0].text.startswith("Summary 2 <x>.")  # escaping is the page's job
    assert examples["no_fault"] == []


def test_error_examples_skip_ids_missing_from_data_and_truncate():
    records = [_record("r1", "no_fault", "word " * 500)]
    cv = {"classes": ["fault_found", "no_fault"], "y": ["no_fault", "no_fault"], "ids": ["gone", "r1"],
          "probabilities": [[0.99, 0.01], [0.8, 0.2]]}
    [example] = error_examples(cv, records, "decision", max_chars=50)["no_fault"]
    assert example.id == "r1"
    assert len(example.text) == 50 and example.text.endswith("…")


def test_remedy_presence_and_frequencies():
    records = [
        _record("a", "fault_found", "The Council agreed to apologise to Mr X and pay him £200.",
                remedies_recommended=[Remedy("apology"), Remedy("payment", 200.0)]),
        _record("b", "no_fault", "The Ombudsman found no fault in how the Council decided the application."),
        _record("c", "fault_found", "The Council agreed to apologise to Ms Y.", category="Planning",
                remedies_already_by_body=[Remedy("apology")]),
    ]
    annotated, extracted = remedy_presence(records)
    assert annotated.loc["a", "payment"] and not annotated.loc["c", "payment"] and annotated.loc["c", "apology"]
    assert extracted.loc["a", "apology"] and not extracted.loc["b"].any()
    by_outcome = frequencies(annotated, group_labels(records, "outcome"))
    assert list(by_outcome.index) == ["no_fault", "fault_found"]
    assert by_outcome.loc["fault_found", "n"] == 2
    assert by_outcome.loc["fault_found", "apology"] == pytest.approx(1.0)
    assert by_outcome.loc["fault_found", "payment"] == pytest.approx(0.5)
    categories = group_labels(records, "category")
    assert categories.nunique() == 1  # both categories are under the pooling threshold
    with pytest.raises(ReportError, match="cannot group by"):
        group_labels(records, "authority")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_renders_in_headless_chromium_without_console_errors(report):
    path, _ = report
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'id="errors"' in result.stdout
    console_errors = [line for line in result.stderr.splitlines()
                      if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line]
    assert console_errors == []

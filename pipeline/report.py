"""An analyst's HTML report on one model directory: a single self-contained file.

Why one file with everything inlined (plots as base64 ``data:`` URIs, CSS in a ``<style>`` element, no scripts,
no links out): it has to open from disk or an e-mail attachment with no server and no network, and it must not
leak anything by fetching. Every piece of corpus text is HTML-escaped, because decision text is untrusted input.

Sections: header, metrics against the baselines (cross-validation and temporal split), confusion matrix, per-class
metrics, calibration, the most informative features per class, remedy frequencies (annotated and extracted) by
category and by outcome, and examples of out-of-fold errors. The helpers that compute the content
(``top_features``, ``remedy_presence``, ``error_examples``) are public so a notebook can use them too.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline.corpus import data_hash, load_records
from pipeline.evaluate import figure_png
from pipeline.model import MODEL_FILE, linear_parts, read_metadata, resolve_model_dir, verified_load
from pipeline.records import OUTCOMES, Decision
from pipeline.views import ViewError, view_text

REPORT_FILE = "report.html"
CV_PREDICTIONS_FILE = "cv_predictions.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP_FEATURES = 12
TOP_CHAR_NGRAMS = 8
ERRORS_PER_CLASS = 4
EXAMPLE_CHARS = 700
MIN_CATEGORY_SIZE = 10  # smaller categories are pooled: a share over a handful of records is noise
REMEDY_COLUMNS: tuple[str, ...] = (
    "apology", "payment", "service_improvement", "training", "procedure_review", "reassessment", "refund",
)  # the types both the annotations and the extractor know ("other" is annotation-only)

# FeatureUnion branch name -> (readable source, is it human-readable on its own?)
FEATURE_SOURCES: dict[str, tuple[str, bool]] = {
    "text_words": ("view text, words", True),
    "text_chars": ("view text, characters", False),
    "summary_words": ("summary, words", True),
    "summary_chars": ("summary, characters", False),
    "remedies": ("extracted remedy / reason", True),
}
RULE_FEATURE_NAMES: dict[str, str] = {
    "payment_amount_log": "payment amount (log £)",
}
Progress = Callable[[str], None]


class ReportError(ValueError):
    """The report cannot be written from these inputs; the message says which one and why."""


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    body: str  # trusted HTML built by this module; all outside text is escaped before it gets here


@dataclass(frozen=True)
class InformativeFeature:
    name: str      # readable
    source: str    # which part of the model it comes from
    weight: float  # the linear SVM's coefficient for this class


@dataclass(frozen=True)
class ErrorExample:
    id: str
    annotated: str
    predicted: str
    probability: float
    category: str
    text: str


# --- public entry point ------------------------------------------------------------------------------------------
def write_report(model_dir: str | Path, out: str | Path | None = None, data: str | Path | None = None,
                 progress: Progress | None = None) -> Path:
    """Write the HTML report for ``model_dir`` (default ``<model_dir>/report.html``) and return its path.

    ``data`` defaults to the training data named in the metadata. An explicit ``data`` that does not exist is an
    error; a default one that is missing only leaves out the sections that need the corpus (said in the report).
    """
    say = progress or (lambda message: None)
    model_dir = resolve_model_dir(model_dir)
    meta = read_metadata(model_dir)
    out = _output_path(out, model_dir, meta)
    say(f"report: loading data for {model_dir}")
    data_path, records, data_note = _load_data(meta, data)
    cv = _read_cv_predictions(model_dir)
    say("report: metrics and plots")
    sections = [
        _header_section(meta, model_dir, data_path, data_note),
        _metrics_section(meta),
        _confusion_section(meta, model_dir),
        _per_class_section(meta),
        _calibration_section(model_dir, cv),
    ]
    say("report: informative features")
    sections.append(_features_section(verified_load(model_dir, MODEL_FILE)))
    say("report: remedy frequencies (running the extractor)")
    sections.append(_remedy_section(records))
    say("report: error examples")
    sections.append(_errors_section(cv, records, meta.get("view", "decision")))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_page(f"Model report: {meta.get('version', model_dir.name)}", sections), encoding="utf-8")
    say(f"report: wrote {out}")
    return out


# --- inputs ------------------------------------------------------------------------------------------------------
def _output_path(out: str | Path | None, model_dir: Path, meta: Mapping[str, Any]) -> Path:
    """The file to write: ``out``; inside ``out`` when it is a directory (named by version, so views don't clash)."""
    if out is None:
        return model_dir / REPORT_FILE
    out = Path(out)
    return out / f"report-{meta.get('version', model_dir.name)}.html" if out.is_dir() else out


def _load_data(meta: Mapping[str, Any], data: str | Path | None) -> tuple[Path | None, list[Decision] | None, str]:
    """(path, records or None, a note for the header)."""
    if data is not None:
        path = Path(data)
        if not path.is_file():
            raise ReportError(f"data file {path} does not exist")
    else:
        named = meta.get("data_path")
        path = Path(named) if named else None
        if path is None or not path.is_file():
            return path, None, (f"training data {named!r} not found from {Path.cwd()}; pass data= to include "
                                "remedy frequencies and error examples")
    records = load_records(path, skip_invalid=True)
    note = ""
    if meta.get("data_hash") and data_hash(path) != meta["data_hash"]:
        note = "this data differs from the training data (SHA-256 mismatch); error examples are joined by record id"
    return path, records, note


def _read_cv_predictions(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / CV_PREDICTIONS_FILE
    if not path.is_file():
        return None
    try:
        cv = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: unreadable out-of-fold predictions ({exc.msg})") from None
    missing = {"classes", "y", "ids", "probabilities"} - set(cv)
    if missing:
        raise ReportError(f"{path}: missing {', '.join(sorted(missing))}")
    return cv


# --- content helpers (public: the notebook uses them) --------------------------------------------------------------
def top_features(model: Any, k: int = TOP_FEATURES,
                 readable: bool | None = True) -> dict[str, list[InformativeFeature]]:
    """The ``k`` largest positive coefficients per class of the fitted model's linear SVM.

    ``readable=True`` keeps words and rule features, ``False`` only character n-grams (rarely meaningful to a reader
    on their own, so listed apart), ``None`` everything.
    """
    coef, _, names = linear_parts(model)
    classes = [str(c) for c in model.classes_]
    rows = _coefficient_rows(np.asarray(coef), classes)
    described = [_describe_feature(name) for name in names]
    keep = np.array([readable is None or is_readable == readable for _, _, is_readable in described])
    out = {}
    for cls, weights in _in_outcome_order(rows):
        candidates = np.flatnonzero(keep & (weights > 0))
        best = candidates[np.argsort(-weights[candidates], kind="stable")][:k]
        out[cls] = [InformativeFeature(described[i][0], described[i][1], float(weights[i])) for i in best]
    return out


def remedy_presence(records: Sequence[Decision]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two boolean tables (records x remedy types), indexed by record id: annotated, and found by ``extract``.

    A remedy counts whether the body had already given it or the Ombudsman recommended it; the extractor runs on
    the decision-view text, and a negated mention ("did not apologise") is not a remedy.
    """
    from pipeline.features import extract_many

    ids = [r.id for r in records]
    annotated = pd.DataFrame(
        [[any(m.type == t for m in (*r.remedies_already_by_body, *r.remedies_recommended)) for t in REMEDY_COLUMNS]
         for r in records], index=ids, columns=list(REMEDY_COLUMNS))
    found = extract_many(_decision_text(r) for r in records)
    extracted = pd.DataFrame(
        [[any(f.kind == "remedy" and f.type == t and f.status != "negated" for f in features)
          for t in REMEDY_COLUMNS] for features in found], index=ids, columns=list(REMEDY_COLUMNS))
    return annotated, extracted


def group_labels(records: Sequence[Decision], by: str) -> pd.Series:
    """Per-record group for frequency tables: the outcome, or the category with small ones pooled."""
    if by == "outcome":
        return pd.Series([r.outcome or "(unlabelled)" for r in records], index=[r.id for r in records])
    if by != "category":
        raise ReportError(f"cannot group by {by!r}; expected 'outcome' or 'category'")
    labels = pd.Series([r.category or "(no category)" for r in records], index=[r.id for r in records])
    sizes = labels.value_counts()
    small = sizes[sizes < MIN_CATEGORY_SIZE].index
    return labels.where(~labels.isin(small), f"(others, < {MIN_CATEGORY_SIZE} records each)")


def frequencies(presence: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Share of records in each group that have each remedy, plus the group size ``n``."""
    table = presence.groupby(groups.values).mean()
    table.insert(0, "n", presence.groupby(groups.values).size())
    order = [c for c in OUTCOMES if c in table.index] or list(table.sort_values("n", ascending=False).index)
    return table.loc[order + [g for g in table.index if g not in order]]


def error_examples(cv: Mapping[str, Any], records: Sequence[Decision] | None, view: str,
                   per_class: int = ERRORS_PER_CLASS, max_chars: int = EXAMPLE_CHARS) -> dict[str, list[ErrorExample]]:
    """Out-of-fold mistakes per annotated class, most confident first, with the text the model read (truncated)."""
    by_id = {r.id: r for r in records or []}
    classes = list(cv["classes"])
    probabilities = np.asarray(cv["probabilities"], dtype=float)
    predicted_index = probabilities.argmax(axis=1)
    out: dict[str, list[ErrorExample]] = {cls: [] for cls in OUTCOMES if cls in classes}
    order = np.argsort(-probabilities.max(axis=1), kind="stable")
    for i in order:
        record_id, annotated = cv["ids"][i], cv["y"][i]
        predicted = classes[predicted_index[i]]
        if predicted == annotated or annotated not in out or len(out[annotated]) >= per_class:
            continue
        record = by_id.get(record_id)
        if record is None:
            continue
        out[annotated].append(ErrorExample(
            id=record_id, annotated=annotated, predicted=predicted, probability=float(probabilities[i].max()),
            category=record.category, text=_truncate(_view_text_or_empty(record, view), max_chars)))
    return out


# --- sections ----------------------------------------------------------------------------------------------------
def _header_section(meta: Mapping[str, Any], model_dir: Path, data_path: Path | None, data_note: str) -> Section:
    counts = meta.get("train_class_counts", {})
    rows = [
        ("Model version", meta.get("version", model_dir.name)),
        ("View", f"{meta.get('view', '?')} — reads only: {', '.join(meta.get('view_sections', []))}"),
        ("Model directory", str(model_dir)),
        ("Trained", f"{meta.get('created', '?')} with complaint-outcomes {meta.get('package_version', '?')}, "
                    f"scikit-learn {meta.get('sklearn_version', '?')}"),
        ("Training data", f"{meta.get('data_path', '?')} — {meta.get('n_train', '?')} records, SHA-256 "
                          f"{str(meta.get('data_hash', ''))[:16]}…"),
        ("Class counts", ", ".join(f"{c}: {counts[c]}" for c in OUTCOMES if c in counts)),
        ("Data for this report", str(data_path) if data_path else "none"),
        ("Report written", datetime.now(timezone.utc).isoformat(timespec="seconds")),
    ]
    body = _key_value_table(rows)
    if data_note:
        body += f'<p class="note">{_e(data_note)}</p>'
    return Section("header", "Model", body)


def _metrics_section(meta: Mapping[str, Any]) -> Section:
    metrics = meta.get("metrics", {})
    cv, temporal = metrics.get("cv"), metrics.get("temporal")
    parts = []
    if cv:
        parts.append(f"<h3>Stratified {cv.get('folds', '?')}-fold cross-validation (out-of-fold)</h3>")
        parts.append(_versus_baselines_table(cv))
        review = cv.get("review", {})
        parts.append(
            f"<p>Expected calibration error (top class): <b>{_f(cv.get('ece'))}</b>. Cases with a top probability "
            f"under <b>{_f(review.get('threshold'))}</b> are flagged <code>needs_review</code> (precision "
            f"{_f(review.get('precision'))} on {_pct(review.get('coverage'))} decided automatically).</p>")
    else:
        parts.append('<p class="note">No cross-validation metrics in the metadata.</p>')
    if temporal:
        parts.append(f"<h3>Temporal split: trained on decisions up to {_e(temporal.get('train_until'))}, "
                     f"tested from {_e(temporal.get('test_from'))}</h3>")
        parts.append(_versus_baselines_table(temporal))
    else:
        parts.append('<p class="note">No temporal split (too few dated decisions).</p>')
    return Section("metrics", "Metrics against the baselines", "\n".join(parts))


def _versus_baselines_table(block: Mapping[str, Any]) -> str:
    rows = [("model", block["model"], True)] + [(f"baseline: {name}", m, False)
                                                for name, m in block.get("baselines", {}).items()]
    model_row = ' class="model"'
    body = "".join(
        f"<tr{model_row if is_model else ''}><td>{_e(name)}</td><td class=\"num\">{_f(m['macro_f1'])}</td>"
        f"<td class=\"num\">{_f(m['accuracy'])}</td><td class=\"num\">{m.get('n', '')}</td></tr>"
        for name, m, is_model in rows)
    return ("<table><thead><tr><th></th><th>macro-F1</th><th>accuracy</th><th>n</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _confusion_section(meta: Mapping[str, Any], model_dir: Path) -> Section:
    matrix = meta.get("metrics", {}).get("cv", {}).get("confusion_matrix")
    if not matrix:
        return Section("confusion", "Confusion matrix", '<p class="note">No confusion matrix in the metadata.</p>')

    def draw() -> bytes:
        from pipeline.evaluate import confusion_png

        return confusion_png(matrix, title=f"{meta.get('view', '')} view, out-of-fold")

    png = _stored_png(model_dir / "confusion_matrix.png") or draw()
    header = "".join(f"<th>{_e(c)}</th>" for c in OUTCOMES)
    rows = "".join(f"<tr><th>{_e(c)}</th>" + "".join(f'<td class="num">{v}</td>' for v in row) + "</tr>"
                   for c, row in zip(OUTCOMES, matrix))
    table = (f"<table><thead><tr><th>annotated ↓ / predicted →</th>{header}</tr></thead><tbody>{rows}</tbody>"
             "</table>")
    return Section("confusion", "Confusion matrix (cross-validation)",
                   _img(png, "confusion matrix") + table)


def _per_class_section(meta: Mapping[str, Any]) -> Section:
    cv = meta.get("metrics", {}).get("cv")
    if not cv:
        return Section("per-class", "Per-class metrics", '<p class="note">No cross-validation metrics.</p>')
    baseline = cv.get("baselines", {}).get("tfidf_logreg", {}).get("per_class", {})
    rows = "".join(
        f"<tr><td>{_e(cls)}</td><td class=\"num\">{_f(m['precision'])}</td><td class=\"num\">{_f(m['recall'])}</td>"
        f"<td class=\"num\"><b>{_f(m['f1'])}</b></td><td class=\"num\">{_f(baseline.get(cls, {}).get('f1'))}</td>"
        f"<td class=\"num\">{m['support']}</td></tr>"
        for cls, m in _in_outcome_order(cv["model"]["per_class"]))
    table = ("<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
             "<th>F1 of TF-IDF + LR baseline</th><th>support</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>")
    return Section("per-class", "Per-class metrics (cross-validation)", table)


def _calibration_section(model_dir: Path, cv: Mapping[str, Any] | None) -> Section:
    png = _stored_png(model_dir / "calibration.png")
    if png is None and cv is not None:
        from pipeline.evaluate import calibration_png

        png = calibration_png(np.asarray(cv["probabilities"]), cv["y"], cv["classes"])
    if png is None:
        return Section("calibration", "Calibration", '<p class="note">No calibration data in the model directory.</p>')
    text = ("<p>One line per class (one-vs-rest): within each bin of predicted probability, how often the class "
            "was the annotated one. On the dashed diagonal, a probability of 0.7 means right 70% of the time.</p>")
    return Section("calibration", "Calibration (out-of-fold)", text + _img(png, "calibration plot"))


def _features_section(model: Any) -> Section:
    readable = top_features(model, TOP_FEATURES, readable=True)
    chars = top_features(model, TOP_CHAR_NGRAMS, readable=False)
    parts = ["<p>Largest positive weights of the linear SVM for each class: evidence <i>for</i> that class. "
             "Character n-grams are listed apart because they are rarely readable on their own.</p>",
             '<div class="grid">']
    for cls, features in readable.items():
        rows = "".join(f"<tr><td>{_e(f.name)}</td><td>{_e(f.source)}</td><td class=\"num\">{f.weight:.3f}</td></tr>"
                       for f in features)
        grams = ", ".join(f"<code>{_e(repr(f.name))}</code>" for f in chars[cls])
        parts.append(f'<div class="card"><h3>{_e(cls)}</h3><table class="features" data-class="{_e(cls)}">'
                     "<thead><tr><th>feature</th><th>from</th><th>weight</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>"
                     f'<p class="small">Top character n-grams: {grams or "none"}</p></div>')
    parts.append("</div>")
    return Section("features", "Most informative features per class", "\n".join(parts))


def _remedy_section(records: Sequence[Decision] | None) -> Section:
    if not records:
        return Section("remedies", "Remedy frequencies", '<p class="note">No data: remedy frequencies left out.</p>')
    annotated, extracted = remedy_presence(records)
    parts = ["<p>Share of decisions with each remedy (already given by the body, or recommended / agreed), from the "
             "annotations and as found by the rule-based extractor on the decision text. Where the two disagree, "
             "either the extractor or the annotation is worth a look.</p>"]
    for by in ("outcome", "category"):
        groups = group_labels(records, by)
        tables = {"annotated": frequencies(annotated, groups), "extracted": frequencies(extracted, groups)}
        parts.append(f"<h3>By {by}</h3>")
        parts.append(_img(_heatmaps_png(tables, by), f"remedy frequencies by {by}"))
        if by == "outcome":
            parts.append(_frequency_table(tables))
    return Section("remedies", "Remedy frequencies", "\n".join(parts))


def _frequency_table(tables: Mapping[str, pd.DataFrame]) -> str:
    annotated, extracted = tables["annotated"], tables["extracted"]
    head = "".join(f"<th>{_e(t)}</th>" for t in REMEDY_COLUMNS)
    rows = "".join(
        f"<tr><td>{_e(group)}</td><td class=\"num\">{int(annotated.loc[group, 'n'])}</td>"
        + "".join(f'<td class="num">{_pct(annotated.loc[group, t])} / {_pct(extracted.loc[group, t])}</td>'
                  for t in REMEDY_COLUMNS) + "</tr>"
        for group in annotated.index)
    return (f'<table class="remedies"><thead><tr><th>group</th><th>n</th>{head}</tr></thead><tbody>{rows}</tbody>'
            '</table><p class="small">Each cell: annotated / extracted.</p>')


def _errors_section(cv: Mapping[str, Any] | None, records: Sequence[Decision] | None, view: str) -> Section:
    if cv is None or not records:
        return Section("errors", "Examples of errors",
                       '<p class="note">No out-of-fold predictions or no data: error examples left out.</p>')
    examples = error_examples(cv, records, view)
    parts = [f"<p>Out-of-fold mistakes, the most confident first, with the {_e(view)}-view text the model read "
             f"(cut at {EXAMPLE_CHARS} characters).</p>"]
    for cls, items in examples.items():
        parts.append(f"<h3>Annotated {_e(cls)}</h3>")
        if not items:
            parts.append('<p class="small">No errors for this class.</p>')
        for ex in items:
            parts.append(
                f'<div class="error"><p class="small"><b>{_e(ex.id)}</b> · {_e(ex.category or "no category")} · '
                f"annotated <b>{_e(ex.annotated)}</b>, predicted <b>{_e(ex.predicted)}</b> "
                f"(p = {ex.probability:.2f})</p><blockquote>{_e(ex.text)}</blockquote></div>")
    return Section("errors", "Examples of errors", "\n".join(parts))


# --- HTML and images ---------------------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
nav a { margin-right: 1rem; }
section { border-top: 1px solid #ddd; margin-top: 2rem; padding-top: 0.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.model td { font-weight: bold; background: #f3f7ff; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
.note { background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.4rem 0.7rem; }
.small { font-size: 0.85rem; color: #555; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; }
.error blockquote { margin: 0 0 1rem; padding: 0.4rem 0.8rem; background: #f7f7f7; white-space: pre-wrap;
                    font-size: 0.88rem; }
"""


def _page(title: str, sections: Iterable[Section]) -> str:
    sections = list(sections)
    nav = " ".join(f'<a href="#{s.anchor}">{_e(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{s.anchor}"><h2>{_e(s.title)}</h2>\n{s.body}\n</section>' for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{_e(title)}</h1>\n<nav>{nav}</nav>\n{body}\n"
            "</body>\n</html>\n")


def _key_value_table(rows: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _stored_png(path: Path) -> bytes | None:
    """A plot written at training time, if present and really a PNG (else the caller redraws it)."""
    try:
        content = path.read_bytes()
    except OSError:
        return None
    return content if content.startswith(PNG_SIGNATURE) else None


def _heatmaps_png(tables: Mapping[str, pd.DataFrame], by: str) -> bytes:
    """Side-by-side heatmaps (group x remedy type, share of records) for annotated and extracted remedies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(tables.values()))
    top = max(0.05, max(float(t[list(REMEDY_COLUMNS)].to_numpy().max()) for t in tables.values()))  # shared scale
    height = 1.6 + 0.42 * len(first.index)
    fig, axes = plt.subplots(1, len(tables), figsize=(6.2 * len(tables), height), dpi=100, sharey=True)
    for ax, (name, table) in zip(np.atleast_1d(axes), tables.items()):
        values = table[list(REMEDY_COLUMNS)].to_numpy(dtype=float)
        ax.imshow(values, cmap="Greens", vmin=0, vmax=top, aspect="auto")
        ax.set_xticks(range(len(REMEDY_COLUMNS)), [t.replace("_", " ") for t in REMEDY_COLUMNS],
                      rotation=35, ha="right")
        ax.set_yticks(range(len(table.index)), [f"{g} (n={int(n)})" for g, n in zip(table.index, table["n"])])
        ax.set_title(f"{name}, by {by}")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                ax.text(j, i, f"{values[i, j]:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > 0.6 * top else "black")
    return figure_png(fig)


# --- small helpers -----------------------------------------------------------------------------------------------
def _coefficient_rows(coef: np.ndarray, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Class -> weights (``linear_parts`` gives one row per class)."""
    if coef.shape[0] != len(classes):
        raise ReportError(f"model has {coef.shape[0]} coefficient rows for {len(classes)} classes")
    return {cls: coef[i] for i, cls in enumerate(classes)}


def _describe_feature(name: str) -> tuple[str, str, bool]:
    """(readable name, source, readable on its own) for a FeatureUnion output name like ``text_words__agreed to``."""
    branch, _, raw = name.partition("__")
    if not raw:
        return name, "model", True
    source, readable = FEATURE_SOURCES.get(branch, (branch.replace("_", " "), True))
    if branch == "remedies":
        return _describe_rule_feature(raw), source, True
    return raw, source, readable


def _describe_rule_feature(raw: str) -> str:
    """``remedy:apology:recommended`` -> ``remedy: apology (recommended)``; ``reason:late`` -> ``reason: late``."""
    if raw in RULE_FEATURE_NAMES:
        return RULE_FEATURE_NAMES[raw]
    kind, _, rest = raw.partition(":")
    remedy_type, _, status = rest.partition(":")
    label = f"{kind}: {remedy_type.replace('_', ' ')}"
    return f"{label} ({status.replace('_', ' ')})" if status else label


def _in_outcome_order(by_class: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Items in the contract's class order (metadata JSON is key-sorted), unknown classes last."""
    rank = {c: i for i, c in enumerate(OUTCOMES)}
    return sorted(by_class.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _decision_text(record: Decision) -> str:
    return _view_text_or_empty(record, "decision")


def _view_text_or_empty(record: Decision, view: str) -> str:
    try:
        return view_text(record, view)
    except ViewError:
        return ""


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _f(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0%}"


__all__ = [
    "REPORT_FILE", "ReportError", "InformativeFeature", "ErrorExample", "write_report", "top_features",
    "remedy_presence", "group_labels", "frequencies", "error_examples",
]

"""Command line: ``python -m pipeline COMMAND ...`` (also installed as ``complaint-outcomes``).

Results go to stdout (JSON where asked), progress and logs to stderr; ``--quiet`` silences progress.
Every failure is one line on stderr (``error: ...``) and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

DEFAULT_DATA = "data/lgsco_decisions.jsonl"
DEFAULT_DB = "data/decisions.db"
DEFAULT_REGISTRY = "models"
EXIT_BAD_INPUT = 2


class Console:
    """Progress and log lines on stderr, with elapsed time; silent when quiet."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def bar(self, iterable: Any, **kwargs: Any) -> Any:
        from tqdm import tqdm

        return tqdm(iterable, disable=self.quiet, file=sys.stderr, leave=False, **kwargs)


def emit(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# --- commands -----------------------------------------------------------------------------------------------------
def cmd_parse(args: argparse.Namespace, console: Console) -> None:
    from pipeline.parse import parse_page

    parsed = parse_page(_read_file(args.file)).to_dict()
    if args.json:
        emit(parsed)
        return
    for name, value in parsed["header"].items():
        print(f"{name}: {value}")
    for name, text in parsed["sections"].items():
        print(f"\n== {name} ==\n{text}")


def cmd_ingest(args: argparse.Namespace, console: Console) -> None:
    from pipeline.store import Store, ingest_pages

    with Store(args.db) as store:
        if args.pages:
            from pipeline.parse import record_from_page

            n_ok, errors = ingest_pages(store, record_from_page)
            for url, message in errors:
                console.warn(f"{url}: {message}")
            emit({"ingested": n_ok, "errors": len(errors), "db": args.db, "total": store.count()})
            return
        if not args.path:
            raise ValueError("ingest needs a corpus file (JSONL, CSV or Parquet) or --pages")
        from pipeline.corpus import load_records

        records = load_records(args.path, skip_invalid=args.skip_invalid, on_invalid=console.warn)
        console(f"storing {len(records)} records in {args.db}")
        n = store.upsert(records)
        emit({"ingested": n, "db": args.db, "total": store.count()})


def cmd_export(args: argparse.Namespace, console: Console) -> None:
    from pipeline.store import Store

    if not Path(args.db).exists():
        raise ValueError(f"{args.db}: no such store")
    with Store(args.db) as store:
        suffix = Path(args.out).suffix.lower()
        if suffix in (".parquet", ".pq"):
            n = store.export_parquet(args.out)
        elif suffix in (".jsonl", ".json"):
            n = store.export_jsonl(args.out)
        else:
            raise ValueError(f"--out {args.out}: use a .jsonl or .parquet file name")
    emit({"exported": n, "out": args.out})


def cmd_fetch(args: argparse.Namespace, console: Console) -> None:
    from pipeline.fetch import FetchConfig, Fetcher
    from pipeline.store import Store

    config = FetchConfig(base_url=args.base_url, delay_s=args.delay, window_days=args.window_days)
    with Store(args.db) as store, Fetcher(store, config, progress=not console.quiet) as fetcher:
        stats = fetcher.run(_iso(args.date_from, "--from"), _iso(args.date_to, "--to"))
    emit(stats.to_dict())
    if stats.failures:
        raise RuntimeError(f"{len(stats.failures)} page(s) could not be fetched; run again to retry them")


def cmd_labels(args: argparse.Namespace, console: Console) -> None:
    from pipeline.corpus import load_records
    from pipeline.labels import agreement

    records = load_records(args.data, require_labels=True, skip_invalid=args.skip_invalid, on_invalid=console.warn)
    emit(agreement(records))


def cmd_train(args: argparse.Namespace, console: Console) -> None:
    from pipeline.model import read_metadata
    from pipeline.registry import train_run

    target = train_run(args.data, args.view, args.out, skip_invalid=args.skip_invalid, progress=console,
                       warn=console.warn)
    meta = read_metadata(target)
    cv = meta["metrics"]["cv"]
    emit({
        "model_dir": str(target), "version": meta["version"], "view": meta["view"], "n_train": meta["n_train"],
        "cv_macro_f1": cv["model"]["macro_f1"],
        "baselines_cv_macro_f1": {k: v["macro_f1"] for k, v in cv["baselines"].items()},
        "ece": cv["ece"], "review_threshold": meta["review_threshold"], "timing_s": meta["timing_s"],
    })


def cmd_evaluate(args: argparse.Namespace, console: Console) -> None:
    from pipeline.corpus import load_records
    from pipeline.evaluate import evaluate_bundle
    from pipeline.model import BASELINES_FILE, MODEL_FILE, read_metadata, verified_load

    meta = read_metadata(args.model)
    model, baselines = verified_load(args.model, MODEL_FILE), verified_load(args.model, BASELINES_FILE)
    records = load_records(args.data, require_labels=True, skip_invalid=args.skip_invalid, on_invalid=console.warn)
    console(f"evaluating {meta['version']} ({meta['view']} view) on {len(records)} records")
    result = evaluate_bundle(model, baselines, records, meta["view"])
    result["model_version"] = meta["version"]
    if args.json:
        emit(result)
        return
    print(_metrics_text(result))


def cmd_predict(args: argparse.Namespace, console: Console) -> None:
    from pipeline.predict import load

    predictor = load(args.model)
    item = _text_or_record(args.text)
    if isinstance(item, list):
        emit([p.to_dict() for p in predictor.predict_many(item)])
    else:
        emit(predictor.predict(item).to_dict())


def cmd_extract(args: argparse.Namespace, console: Console) -> None:
    from pipeline.features import extract
    from pipeline.views import view_text

    item = _text_or_record(args.text)
    if isinstance(item, list):
        raise ValueError("extract takes one text or one JSON record, not a list")
    text = item if isinstance(item, str) else view_text(item, "decision")
    found = extract(text)
    result = {
        "features": [f.to_dict() for f in found if f.kind == "remedy"],
        "reasons": [f.to_dict() for f in found if f.kind == "reason"],
    }
    if args.json:
        emit(result)
        return
    for f in result["features"]:
        amount = f" £{f['amount_gbp']:,.2f}" if f.get("amount_gbp") is not None else ""
        print(f"{f['type']:<20} {f['status']:<16}{amount}  | {f['sentence']}")
    for r in result["reasons"]:
        print(f"reason: {r['type']:<28} | {r['sentence']}")


def cmd_features_eval(args: argparse.Namespace, console: Console) -> None:
    from pipeline.corpus import load_records
    from pipeline.features.scoring import score_extraction

    records = load_records(args.data, require_labels=True, skip_invalid=args.skip_invalid, on_invalid=console.warn)
    result = score_extraction(records, _extract_all(records, console))
    emit(result) if args.json else print(_features_text(result))


def cmd_models(args: argparse.Namespace, console: Console) -> None:
    from pipeline.registry import models_table

    rows = models_table(args.registry)
    if args.json:
        emit(rows)
        return
    if not rows:
        print(f"no models in {args.registry}")
    for row in rows:
        print(f"{row['version']:<34} {row['view']:<9} n={row['n_train']:<6} {row['created']}  "
              f"macro-F1={_fmt(row['macro_f1'])}  tfidf+LR={_fmt(row['baseline_tfidf_logreg_macro_f1'])}")


def cmd_compare(args: argparse.Namespace, console: Console) -> None:
    from pipeline.corpus import load_records
    from pipeline.model import MODEL_FILE, read_metadata, verified_load
    from pipeline.registry import compare

    meta_a, meta_b = read_metadata(args.a), read_metadata(args.b)
    if meta_a["view"] != meta_b["view"]:
        console.warn(f"comparing models of different views ({meta_a['view']} vs {meta_b['view']})")
    records = load_records(args.data, require_labels=True, skip_invalid=args.skip_invalid, on_invalid=console.warn)
    from pipeline.model import labelled_view_data

    kept, _, _ = labelled_view_data(records, meta_a["view"])
    console(f"comparing {meta_a['version']} and {meta_b['version']} on {len(kept)} records")
    result = compare(verified_load(args.a, MODEL_FILE), verified_load(args.b, MODEL_FILE), kept)
    result["a"]["version"], result["b"]["version"] = meta_a["version"], meta_b["version"]
    if args.json:
        emit(result)
        return
    print(_compare_text(result))


def cmd_report(args: argparse.Namespace, console: Console) -> None:
    from pipeline.report import write_report

    path = write_report(args.model, args.out, args.data, progress=console)
    emit({"report": str(path)})


def cmd_serve(args: argparse.Namespace, console: Console) -> None:
    from pipeline.serve import run

    run(args.model, args.host, args.port)


def cmd_run(args: argparse.Namespace, console: Console) -> None:
    """The whole pipeline on one corpus: load -> store -> label check -> features -> train -> evaluate -> report."""
    from pipeline.corpus import load_records
    from pipeline.features.scoring import score_extraction
    from pipeline.labels import agreement
    from pipeline.model import read_metadata
    from pipeline.registry import train_run
    from pipeline.report import write_report
    from pipeline.store import Store

    out_dir = Path(args.reports)
    out_dir.mkdir(parents=True, exist_ok=True)
    console(f"[1/6] loading {args.data}")
    records = load_records(args.data, require_labels=True, skip_invalid=args.skip_invalid, on_invalid=console.warn)
    console(f"[2/6] storing {len(records)} records in {args.db}")
    with Store(args.db) as store:
        store.upsert(records)
    console("[3/6] checking the labeller against the annotations")
    summary: dict[str, Any] = {"records": len(records), "labeller": agreement(records)}
    console("[4/6] extracting remedy features and reasons")
    summary["extraction"] = score_extraction(records, _extract_all(records, console))
    runs = {}
    for view in ("decision", "triage"):
        console(f"[5/6] training the {view} model")
        target = train_run(args.data, view, registry=args.registry, skip_invalid=args.skip_invalid,
                           progress=console, warn=console.warn)
        console(f"[6/6] writing the {view} report")
        report = write_report(target, None, args.data, progress=console)
        cv = read_metadata(target)["metrics"]["cv"]
        runs[view] = {"model_dir": str(target), "report": str(report), "cv_macro_f1": cv["model"]["macro_f1"],
                      "baselines_cv_macro_f1": {k: v["macro_f1"] for k, v in cv["baselines"].items()},
                      "per_class_f1": {c: m["f1"] for c, m in cv["model"]["per_class"].items()}, "ece": cv["ece"]}
    summary["models"] = runs
    (out_dir / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    emit({"summary": str(out_dir / "run_summary.json"), "models": runs,
          "labeller_agreement": summary["labeller"]["agreement"],
          "reasons_micro_f1": summary["extraction"].get("reasons_micro_f1")})


# --- argument parsing ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., None], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output")
        return p

    p = command("run", cmd_run, "run the whole pipeline on a corpus (store, labels, features, train, evaluate, report)")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--registry", default=DEFAULT_REGISTRY)
    p.add_argument("--reports", default="reports")
    _skip(p)

    p = command("parse", cmd_parse, "parse a published decision page (HTML or text) into header and sections")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")

    p = command("fetch", cmd_fetch, "fetch decision pages from lgo.org.uk by date window into the store (resumable)")
    p.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--base-url", default="https://www.lgo.org.uk")
    p.add_argument("--delay", type=float, default=1.0, help="seconds between requests (politeness)")
    p.add_argument("--window-days", type=int, default=7)

    p = command("ingest", cmd_ingest, "load a corpus file (JSONL/CSV/Parquet) or fetched pages into the store")
    p.add_argument("path", nargs="?")
    p.add_argument("--pages", action="store_true", help="parse the fetched pages held in the store")
    p.add_argument("--db", default=DEFAULT_DB)
    _skip(p)

    p = command("export", cmd_export, "write the store's records as JSONL or Parquet")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--out", required=True)

    p = command("labels", cmd_labels, "measure the four-class labeller against annotated outcomes")
    p.add_argument("--data", default=DEFAULT_DATA)
    _skip(p)

    p = command("train", cmd_train, "train a model for one view and write a versioned model directory")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--view", choices=("decision", "triage"), required=True)
    p.add_argument("--out", default=None, help="new model directory, or a registry root (default: models/)")
    _skip(p)

    p = command("evaluate", cmd_evaluate, "score a model and its baselines on labelled data")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--json", action="store_true")
    _skip(p)

    p = command("predict", cmd_predict, "predict the outcome of one complaint or decision")
    p.add_argument("--model", required=True)
    p.add_argument("text", nargs="?", default="-", help="text, or - to read text / a JSON record from stdin")

    p = command("extract", cmd_extract, "extract remedy features and not-investigated reasons from text")
    p.add_argument("text", nargs="?", default="-", help="text, or - to read text / a JSON record from stdin")
    p.add_argument("--json", action="store_true")

    p = command("features-eval", cmd_features_eval, "score extraction against the corpus annotations")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--json", action="store_true")
    _skip(p)

    p = command("models", cmd_models, "list trained models with their headline metrics")
    p.add_argument("--registry", default=DEFAULT_REGISTRY)
    p.add_argument("--json", action="store_true")

    p = command("compare", cmd_compare, "compare two models on the same data, with paired significance tests")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--data", required=True)
    p.add_argument("--json", action="store_true")
    _skip(p)

    p = command("report", cmd_report, "write an HTML report for a model (opens in a browser, no server)")
    p.add_argument("--model", required=True)
    p.add_argument("--out", default=None)
    p.add_argument("--data", default=None)

    p = command("serve", cmd_serve, "serve predictions over HTTP (POST /predict, GET /health)")
    p.add_argument("--model", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return parser


def _skip(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip-invalid", action="store_true", help="report and skip invalid records instead of failing")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(quiet=args.quiet)
    try:
        args.handler(args, console)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one clear line for every failure; --debug for the traceback
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, (ValueError, OSError, KeyError)) else 1
    return 0


# --- helpers ------------------------------------------------------------------------------------------------------
def _extract_all(records: Sequence[Any], console: Console) -> list[Any]:
    """Remedy features of every record's decision-view text, with a progress bar."""
    from pipeline.features import extract_many
    from pipeline.views import view_text

    texts = [view_text(record, "decision") for record in records]
    return list(console.bar(extract_many(texts), total=len(texts), desc="extracting", unit="rec"))


def _read_file(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        raise ValueError(f"{path}: no such file")
    if file.is_dir():
        raise ValueError(f"{path}: is a directory")
    return file.read_bytes()


def _text_or_record(text: str) -> Any:
    """TEXT as given, or stdin for '-': a JSON object/list is parsed, anything else is plain text."""
    if text != "-":
        return text
    raw = sys.stdin.buffer.read()
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("stdin is not UTF-8 text") from None
    stripped = data.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"stdin looks like JSON but is invalid ({exc.msg} at line {exc.lineno})") from None
    return data


def _iso(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected a date as YYYY-MM-DD") from None


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def _metrics_text(result: dict[str, Any]) -> str:
    lines = [f"n={result['n']}  accuracy={result['accuracy']:.3f}  macro-F1={result['macro_f1']:.3f}"]
    for name, m in result["baselines"].items():
        lines.append(f"  baseline {name:<13} macro-F1={m['macro_f1']:.3f}  accuracy={m['accuracy']:.3f}")
    lines.append(f"{'class':<18}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
    for cls, m in result["per_class"].items():
        lines.append(f"{cls:<18}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9}")
    return "\n".join(lines)


def _features_text(result: dict[str, Any]) -> str:
    lines = [f"n={result['n']}  status accuracy={_fmt(result.get('status_accuracy'))}  "
             f"amount exact={_fmt(result.get('amount_exact'))}  "
             f"reasons micro-F1={_fmt(result.get('reasons_micro_f1'))}"]
    for block in ("presence", "reasons"):
        for name, m in result[block].items():
            lines.append(f"  {block:<9}{name:<34} P={m['precision']:.3f} R={m['recall']:.3f} F1={m['f1']:.3f} "
                         f"n={m['support']}")
    return "\n".join(lines)


def _compare_text(result: dict[str, Any]) -> str:
    a, b = result["a"], result["b"]
    low, high = result["bootstrap_macro_f1_difference_95ci"]
    lines = [f"n={result['n']}",
             f"A {a['version']}: macro-F1={a['macro_f1']:.3f}  accuracy={a['accuracy']:.3f}",
             f"B {b['version']}: macro-F1={b['macro_f1']:.3f}  accuracy={b['accuracy']:.3f}",
             f"macro-F1 difference (B-A) = {result['macro_f1_difference']:+.3f}, 95% bootstrap interval "
             f"[{low:+.3f}, {high:+.3f}]"]
    for cls, diff in result["per_class_f1_difference"].items():
        lines.append(f"  {cls:<18} F1 difference {diff:+.3f}")
    m = result["mcnemar"]
    verdict = "significant" if result["significant"] else "not significant"
    lines.append(f"McNemar: only A right={m['only_a_right']}, only B right={m['only_b_right']}, "
                 f"p={m['p_value']:.4f} -> {verdict} at 0.05")
    return "\n".join(lines)

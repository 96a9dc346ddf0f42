"""Training cost and quality: prints one JSON object on stdout (progress goes to stderr).

1. ``train_run`` on the corpus for each view: time split into cross-validation and the final fit (the metadata's
   ``timing_s``), and macro-F1 of the model against both baselines (cross-validation and temporal split).
2. How the final fit (``pipeline.model.fit_model``: model + baselines, no CV) grows with data: the corpus resampled
   with replacement to x10 and x30, each size fitted in a fresh child process so its peak RSS (``ru_maxrss``) is its
   own. Ratios to x1 make linear (or worse) growth visible.

Usage: python bench/bench_train.py [--data PATH] [--scales 1,10,30] [--views decision,triage] [--repeat N]
                                   [--no-train-run]
On a shared machine, ``--repeat N`` fits each size N times and keeps the fastest time (and the largest peak RSS).
Takes several minutes (x30 is ~72,000 records); not run by the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a checkout without relying on how the package was installed

DEFAULT_DATA = REPO / "data" / "lgsco_decisions.jsonl"
CHILD_TIMEOUT_S = 3600
SEED = 0


def log(message: str) -> None:
    print(f"[bench_train {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM belongs to the process image, whereas ``ru_maxrss`` survives ``exec`` and would report the
    parent's peak in a freshly started child; ``ru_maxrss`` is the fallback elsewhere (KiB on Linux).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- part 1: train_run on the corpus -------------------------------------------------------------------------------
def bench_train_run(data: Path, view: str) -> dict[str, Any]:
    from pipeline.registry import train_run

    with tempfile.TemporaryDirectory(prefix=f"bench-train-{view}-") as tmp:
        started = time.perf_counter()
        model_dir = train_run(data, view, out=Path(tmp) / "model", progress=lambda m: log(f"{view}: {m}"))
        wall = time.perf_counter() - started
        meta = json.loads((model_dir / "metadata.json").read_text())
    metrics = meta["metrics"]
    return {
        "n_train": meta["n_train"],
        "timing_s": {**meta["timing_s"], "total_wall": round(wall, 2)},
        "macro_f1": {split: _macro_f1s(metrics[split]) for split in ("cv", "temporal") if metrics.get(split)},
    }


def _macro_f1s(block: dict[str, Any]) -> dict[str, float]:
    scores = {"model": block["model"]["macro_f1"]}
    scores.update({name: m["macro_f1"] for name, m in block["baselines"].items()})
    scores["model_minus_tfidf_logreg"] = scores["model"] - scores["tfidf_logreg"]
    return {name: round(value, 4) for name, value in scores.items()}


# --- part 2: fit cost against data size (one child process per size) -----------------------------------------------
def fit_once(data: Path, view: str, scale: int, seed: int) -> dict[str, Any]:
    """Child process body: resample, fit model + baselines, report time and memory."""
    import numpy as np

    from pipeline.corpus import load_records
    from pipeline.model import fit_model, training_data

    kept, y, _ = training_data(load_records(data, require_labels=True), view)
    if scale == 1:
        records, labels = kept, y  # x1 is the corpus itself, the reference for the ratios
    else:
        index = np.random.default_rng(seed).integers(0, len(kept), size=len(kept) * scale)
        records, labels = [kept[i] for i in index], y[index]
    rss_before = max_rss_mb()
    started = time.perf_counter()
    fit_model(records, labels, view)
    seconds = time.perf_counter() - started
    peak = max_rss_mb()
    return {"scale": scale, "n": len(records), "fit_s": round(seconds, 2), "rss_before_fit_mb": round(rss_before, 1),
            "peak_rss_mb": round(peak, 1), "fit_rss_increase_mb": round(peak - rss_before, 1)}


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated fits (noise from other load only ever adds time), with the largest peak memory."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    best = dict(min(ok, key=lambda r: r["fit_s"]))
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
    best["fit_rss_increase_mb"] = max(r["fit_rss_increase_mb"] for r in ok)
    best["runs"] = len(ok)
    if len(ok) > 1:
        best["fit_s_all"] = [r["fit_s"] for r in ok]
    return best


def run_child(data: Path, view: str, scale: int, seed: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--data", str(data), "--views", view,
               "--scales", str(scale), "--seed", str(seed)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"scale": scale, "error": f"timed out after {CHILD_TIMEOUT_S} s"}
    if done.returncode != 0:
        killed = " (killed: out of memory?)" if done.returncode < 0 else ""
        return {"scale": scale, "error": f"exit code {done.returncode}{killed}: {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout)


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ratios to the x1 row, per record too, so linear growth shows as a flat per-record cost."""
    base = next((r for r in rows if r.get("scale") == 1 and "error" not in r), None)
    if base is None:
        return rows
    for row in rows:
        if "error" in row:
            continue
        row["time_ratio_to_x1"] = round(row["fit_s"] / base["fit_s"], 2)
        row["peak_rss_ratio_to_x1"] = round(row["peak_rss_mb"] / base["peak_rss_mb"], 2)
        if base["fit_rss_increase_mb"] > 0:
            row["rss_increase_ratio_to_x1"] = round(row["fit_rss_increase_mb"] / base["fit_rss_increase_mb"], 2)
        row["ms_per_record"] = round(1000 * row["fit_s"] / row["n"], 3)
    return rows


# --- main ----------------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scales", default="1,10,30", help="comma-separated corpus multiples, e.g. 1,10,30")
    parser.add_argument("--views", default="decision,triage", help="comma-separated views")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeat", type=int, default=1, help="fits per size; the fastest is reported")
    parser.add_argument("--no-train-run", action="store_true", help="skip part 1 (train_run with CV)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.scales = [int(s) for s in args.scales.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--scales must be comma-separated integers, got {args.scales!r}")
    if not args.scales or min(args.scales) < 1:
        parser.error("--scales must be integers >= 1")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    args.views = [v.strip() for v in args.views.split(",") if v.strip()]
    from pipeline.views import VIEWS

    unknown = [v for v in args.views if v not in VIEWS]
    if unknown:
        parser.error(f"unknown view(s) {', '.join(unknown)}; expected {', '.join(VIEWS)}")
    if not args.data.is_file():
        parser.error(f"data file {args.data} does not exist")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(fit_once(args.data, args.views[0], args.scales[0], args.seed)))
        return
    import sklearn

    result: dict[str, Any] = {
        "data": str(args.data),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sklearn": sklearn.__version__},
        "train_run": {},
        "fit_scaling": {},
        "notes": [
            "train_run timing_s: cross_validation = 5-fold CV of the model and both baselines; fit = final model + "
            "baselines; total_wall also includes the temporal split and writing the model directory.",
            "fit_scaling: fit_model (model + baselines, no CV) in a fresh process per size; x1 is the corpus, larger "
            "sizes resample it with replacement, so the vocabulary grows less than with really new decisions.",
            "peak_rss_mb is the child's peak RSS (VmHWM; includes the interpreter and the loaded corpus, see "
            "rss_before_fit_mb); fit_rss_increase_mb is the part the fit added.",
        ],
    }
    if not args.no_train_run:
        for view in args.views:
            log(f"train_run on {args.data} ({view} view)")
            result["train_run"][view] = bench_train_run(args.data, view)
    for view in args.views:
        rows = []
        for scale in args.scales:
            log(f"fit_model x{scale} ({view} view) in a child process")
            rows.append(best_of([run_child(args.data, view, scale, args.seed) for _ in range(args.repeat)]))
            log(f"  -> {rows[-1]}")
        result["fit_scaling"][view] = with_ratios(rows)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Throughput of remedy / reason extraction on the shared corpus, one core; prints one JSON object.

Usage: python bench/bench_extract.py [--data PATH] [--repeat N]

Measures the decision-view text of every record (summary + complaint + assessment), both through
``extract_many`` (what the transformer and ``features-eval`` use) and through one ``extract`` call per text (what
the CLI and ``predict`` do). Target: >= 2 MB of text per second of CPU time on one core.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.features import extract, extract_many, get_nlp  # noqa: E402
from pipeline.records import Decision  # noqa: E402
from pipeline.views import view_text  # noqa: E402

TARGET_MB_PER_S = 2.0


def load_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [view_text(Decision.from_dict(json.loads(line)), "decision") for line in handle if line.strip()]


def best_of(repeat: int, run) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the fastest of ``repeat`` runs.

    Throughput is computed from this process's CPU time: the extractor is single-threaded, so CPU time is the
    one-core cost, and it is far less disturbed than wall time when other jobs share the machine.
    """
    cpu, wall = [], []
    for _ in range(repeat):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        run()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return min(cpu), min(wall)


def rates(n_records: int, chars: int, megabytes: float, cpu_s: float, wall_s: float) -> dict:
    return {"cpu_seconds": round(cpu_s, 3), "wall_seconds": round(wall_s, 3),
            "records_per_s": round(n_records / cpu_s, 1), "chars_per_s": round(chars / cpu_s),
            "mb_per_s": round(megabytes / cpu_s, 2), "wall_mb_per_s": round(megabytes / wall_s, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "lgsco_decisions.jsonl")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    texts = load_texts(args.data)
    chars = sum(len(t) for t in texts)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6

    start = time.perf_counter()
    get_nlp()
    build_s = time.perf_counter() - start
    for text in texts[:50]:  # warm the tokenizer cache like a running service would
        extract(text)

    batch = best_of(args.repeat, lambda: sum(len(f) for f in extract_many(texts)))
    single = best_of(args.repeat, lambda: sum(len(extract(t)) for t in texts))
    n_features = sum(len(f) for f in extract_many(texts))
    report = {
        "records": len(texts),
        "chars": chars,
        "megabytes": round(megabytes, 3),
        "features": n_features,
        "pipeline_build_s": round(build_s, 3),
        "extract_many": rates(len(texts), chars, megabytes, *batch),
        "extract_per_call": rates(len(texts), chars, megabytes, *single),
        "target_mb_per_s": TARGET_MB_PER_S,
        "meets_target": megabytes / min(batch[0], single[0]) >= TARGET_MB_PER_S,
        "cores": 1,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

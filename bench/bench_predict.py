"""Prediction speed, as a function and over HTTP (loopback), and answers under concurrency; prints one JSON object.

Usage: python bench/bench_predict.py [--model DIR] [--seconds 30] [--clients 8] [--records 300] [--chars 3000]

Records are ``--chars`` characters of view text (built from corpus text; for the triage view all in the complaint).
- function: single-record latency p50/p99 (``Predictor.predict``, extraction included) and batch throughput
  (``predict_many``), pinned to one core; also as CPU time of the calling thread, which other load barely changes;
- http: single-record latency p50/p99 and batch throughput against ``python -m pipeline serve`` in a subprocess;
- concurrent: ``--clients`` HTTP clients for ``--seconds`` seconds: error count, and whether every answer equals the
  sequential answer for the same record.
The model is ``--model``, else ``models/latest-triage`` if it exists, else one trained now on the corpus into a
temporary directory. The machine's load average is reported: other work on it slows every number.
Targets: function p50 <= 10 ms, p99 <= 30 ms; batch >= 200 records/s; HTTP p50 <= 20 ms; no errors, same answers.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from pipeline.predict import Predictor, load  # noqa: E402

DATA = ROOT / "data" / "lgsco_decisions.jsonl"
LATEST_TRIAGE = ROOT / "models" / "latest-triage"
TARGETS = {"function_p50_ms": 10.0, "function_p99_ms": 30.0, "batch_records_per_s": 200.0, "http_p50_ms": 20.0}
HTTP_BATCH = 50


def log(message: str) -> None:
    print(f"[bench_predict] {message}", file=sys.stderr, flush=True)


# --- inputs -------------------------------------------------------------------------------------------------------
def corpus_rows() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def clip(text: str, chars: int) -> str:
    """``text`` cut to at most ``chars`` characters, at a word boundary."""
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0]


def make_records(rows: list[dict[str, Any]], view: str, count: int, chars: int) -> list[dict[str, str]]:
    """``count`` distinct records whose view text is about ``chars`` characters of consecutive corpus text."""
    fields = ("complaint",) if view == "triage" else ("summary", "complaint", "assessment")
    share = chars // len(fields)
    records = []
    for i in range(count):
        record, j = {}, i * 7
        for field in fields:
            text = ""
            while len(text) < share:
                text += rows[j % len(rows)][field].strip() + " "
                j += 1
            record[field] = clip(text, share)
        records.append(record)
    return records


# --- measuring ----------------------------------------------------------------------------------------------------
def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99),
            "mean_ms": round(sum(ordered) / len(ordered) * 1000, 2)}


def latencies(call: Callable[[Any], Any], items: list[Any],
              clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Seconds per call by ``clock``: wall time by default, ``time.thread_time`` for CPU time of this thread
    (what one call costs, whatever else the machine is doing)."""
    out = []
    for item in items:
        start = clock()
        call(item)
        out.append(clock() - start)
    return out


def throughput(run: Callable[[], Any], records: int, repeat: int = 3) -> float:
    """Records per second of the fastest of ``repeat`` runs (the least disturbed by other work)."""
    best = min(_timed(run) for _ in range(repeat))
    return round(records / best, 1)


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


class one_core:
    """Pin this process to one CPU while measuring the function (restored afterwards)."""

    def __enter__(self) -> "one_core":
        self.saved = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if self.saved:
            os.sched_setaffinity(0, {min(self.saved)})
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.saved:
            os.sched_setaffinity(0, self.saved)


def bench_function(predictor: Predictor, records: list[dict[str, str]], warm: list[dict[str, str]]) -> dict[str, Any]:
    with one_core():
        for record in warm:
            predictor.predict(record)
        single = percentiles(latencies(predictor.predict, records))
        cpu = percentiles(latencies(predictor.predict, records, clock=time.thread_time))
        batch = throughput(lambda: predictor.predict_many(records), len(records))
        start = time.thread_time()
        predictor.predict_many(records)
        batch_cpu = round(len(records) / (time.thread_time() - start), 1)
    return {"single": single, "single_cpu_time": cpu, "batch_records_per_s": batch,
            "batch_records_per_cpu_s": batch_cpu, "one_core": hasattr(os, "sched_setaffinity")}


# --- HTTP ---------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """``python -m pipeline serve`` in a subprocess on a free loopback port."""

    def __init__(self, model_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, "-m", "pipeline", "serve", "--model", str(model_dir),
                        "--host", "127.0.0.1", "--port", str(self.port)]

    def __enter__(self) -> "Service":
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}: {' '.join(self.command)}")
            try:
                requests.get(f"{self.url}/health", timeout=2).raise_for_status()
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the service did not start within 120 s")

    def __exit__(self, *exc: Any) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def bench_http(url: str, records: list[dict[str, str]], warm: list[dict[str, str]]) -> tuple[dict[str, Any], list]:
    with requests.Session() as session:
        def call(record: dict[str, str]) -> requests.Response:
            response = session.post(f"{url}/predict", json=record, timeout=60)
            response.raise_for_status()
            return response

        for record in warm:
            call(record)
        single = percentiles(latencies(call, records))
        answers = [call(record).json() for record in records]
        batches = [records[i:i + HTTP_BATCH] for i in range(0, len(records), HTTP_BATCH)]
        batch = throughput(lambda: [call(b) for b in batches], len(records))  # type: ignore[arg-type]
    return {"single": single, "batch_records_per_s": batch, "batch_size": HTTP_BATCH}, answers


def bench_concurrent(url: str, records: list[dict[str, str]], expected: list[Any], clients: int,
                     seconds: float) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, posting records round-robin for ``seconds``."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    stats = {"requests": 0, "errors": 0, "mismatches": 0}
    times: list[float] = []
    first_error: list[str] = []

    def client(offset: int) -> None:
        with requests.Session() as session:
            i = offset
            while time.monotonic() < stop:
                k = i % len(records)
                i += 1
                start = time.perf_counter()
                try:
                    response = session.post(f"{url}/predict", json=records[k], timeout=60)
                    ok = response.status_code == 200
                    same = ok and response.json() == expected[k]
                    error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
                except requests.RequestException as exc:
                    ok, same, error = False, False, repr(exc)
                elapsed = time.perf_counter() - start
                with lock:
                    stats["requests"] += 1
                    stats["errors"] += not ok
                    stats["mismatches"] += ok and not same
                    times.append(elapsed)
                    if error and not first_error:
                        first_error.append(error)

    threads = [threading.Thread(target=client, args=(n * len(records) // clients,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients, "seconds": round(wall, 1), **stats,
        "requests_per_s": round(stats["requests"] / wall, 1),
        "latency": percentiles(times) if times else None,
        "answers_equal_sequential": stats["requests"] > 0 and stats["errors"] == 0 and stats["mismatches"] == 0,
        "first_error": first_error[0] if first_error else None,
    }


# --- model --------------------------------------------------------------------------------------------------------
def model_dir(given: Path | None, scratch: Path) -> Path:
    if given is not None:
        return given
    if LATEST_TRIAGE.exists():
        return LATEST_TRIAGE
    from pipeline.registry import train_run

    log(f"no --model and no {LATEST_TRIAGE}: training a triage model on {DATA} (a minute or two)")
    return train_run(DATA, "triage", out=scratch / "model", progress=log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the concurrent-clients run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--records", type=int, default=300, help="distinct records per measurement")
    parser.add_argument("--chars", type=int, default=3000, help="view-text characters per record")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as scratch:
        directory = model_dir(args.model, Path(scratch))
        start = time.perf_counter()
        predictor = load(directory)
        load_s = time.perf_counter() - start
        rows = corpus_rows()
        records = make_records(rows, predictor.view, args.records + 20, args.chars)
        warm, records = records[:20], records[20:]

        log("function")
        function = bench_function(predictor, records, warm)
        log("http")
        with Service(directory) as service:
            http, answers = bench_http(service.url, records, warm)
            same_as_function = answers == [json.loads(json.dumps(p.to_dict())) for p in predictor.predict_many(records)]
            log(f"{args.clients} concurrent clients for {args.seconds:g} s")
            concurrent = bench_concurrent(service.url, records, answers, args.clients, args.seconds)

    result = {
        "model": {"path": str(directory), "version": predictor.version, "view": predictor.view,
                  "load_s": round(load_s, 3)},
        "record": {"view_chars_mean": round(sum(sum(map(len, r.values())) for r in records) / len(records)),
                   "distinct_records": len(records)},
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "function": function,
        "http": {**http, "answers_equal_function": same_as_function},
        "concurrent": concurrent,
    }
    measured = {"function_p50_ms": function["single"]["p50_ms"], "function_p99_ms": function["single"]["p99_ms"],
                "batch_records_per_s": function["batch_records_per_s"], "http_p50_ms": http["single"]["p50_ms"]}
    result["targets"] = {
        name: {"target": target, "measured": measured[name],
               "met": measured[name] >= target if name.endswith("per_s") else measured[name] <= target}
        for name, target in TARGETS.items()}
    result["targets"]["concurrent_no_errors_same_answers"] = {"met": concurrent["answers_equal_sequential"]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark and print one JSON object {bench name: its JSON output}.

Each bench runs in its own process (so memory and timing do not leak between them); progress goes to stderr.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "extract": ["bench_extract.py"],
    "predict": ["bench_predict.py", "--seconds", "30"],
    "train": ["bench_train.py", "--scales", "1,10"],  # x30 takes > 20 min here: run bench_train.py directly
}


def run(name: str, argv: list[str]) -> object:
    start = time.perf_counter()
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    result = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], capture_output=True, text=True)
    print(f"[bench] {name} done in {time.perf_counter() - start:.0f}s (exit {result.returncode})", file=sys.stderr)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(result.stdout)


def main() -> int:
    only = set(sys.argv[1:]) or set(BENCHES)
    print(json.dumps({name: run(name, argv) for name, argv in BENCHES.items() if name in only}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

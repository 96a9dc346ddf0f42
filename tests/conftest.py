"""Shared session fixtures: the corpus, and small real models trained once per test session.

Training is the slow part of many tests (5-fold CV + temporal split + final fit), so ``trained_model_dirs`` trains
each view at most once per session, and only when a test first asks for that view. Treat the model directories
as read-only: copy one (``shutil.copytree``) before tampering with it.
"""
from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "lgsco_decisions.jsonl"
SAMPLE_SIZE = 600
MIN_PER_CLASS = 40  # enough for 5-fold CV with 5-fold calibration inside each training fold
SAMPLE_SEED = 0
VIEWS_TO_TRAIN = ("decision", "triage")


def stratified_sample(rows: list[dict[str, Any]], size: int = SAMPLE_SIZE, seed: int = SAMPLE_SEED,
                      min_per_class: int = MIN_PER_CLASS) -> list[dict[str, Any]]:
    """About ``size`` rows with the corpus' class proportions (at least ``min_per_class`` each), deterministic."""
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_class[row["outcome"]].append(row)
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for outcome in sorted(by_class):
        members = by_class[outcome]
        share = max(min_per_class, round(size * len(members) / len(rows)))
        chosen += rng.sample(members, min(share, len(members)))
    rng.shuffle(chosen)
    return chosen


class LazyModelDirs(Mapping[str, Path]):
    """{view: model directory}; a view is trained on first access, then reused for the rest of the session."""

    def __init__(self, train: Callable[[str], Path], views: tuple[str, ...] = VIEWS_TO_TRAIN):
        self._train = train
        self._views = views
        self._dirs: dict[str, Path] = {}
        self._lock = threading.Lock()

    def __getitem__(self, view: str) -> Path:
        if view not in self._views:
            raise KeyError(view)
        with self._lock:
            if view not in self._dirs:
                self._dirs[view] = self._train(view)
            return self._dirs[view]

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)


@pytest.fixture(scope="session")
def corpus_records() -> list[dict[str, Any]]:
    """Every corpus record as a plain dict (the JSON Lines objects), loaded once."""
    with open(CORPUS, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def training_sample_path(tmp_path_factory: pytest.TempPathFactory, corpus_records: list[dict[str, Any]]) -> Path:
    """A stratified ~600-record subsample of the corpus, written as JSON Lines."""
    path = tmp_path_factory.mktemp("training-data") / "sample.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for row in stratified_sample(corpus_records):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def trained_model_dirs(tmp_path_factory: pytest.TempPathFactory, training_sample_path: Path) -> Mapping[str, Path]:
    """{"decision": Path, "triage": Path}: real model directories trained with ``train_run`` on the subsample.

    Lazy: each view is trained the first time a test reads it (about 10-20 s each), then shared by all tests.
    """
    from pipeline.registry import train_run

    def train(view: str) -> Path:
        return train_run(training_sample_path, view, out=tmp_path_factory.mktemp(f"model-{view}") / "model")

    return LazyModelDirs(train)

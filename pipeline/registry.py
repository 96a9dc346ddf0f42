"""Training runs and the model registry: train -> evaluate -> write a versioned model directory; list; compare.

``models/<version>/`` is never overwritten; ``models/latest`` (and ``models/latest-<view>``) point at the newest.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from pipeline.corpus import data_hash, load_records
from pipeline.evaluate import (
    calibration_png, classification_metrics, confusion_png, cross_validate, model_card, public, temporal_split, timed,
)
from pipeline.model import (
    METADATA_FILE, ModelConfig, ModelError, base_metadata, config_for, fit_model, list_models, new_version,
    training_data, update_latest, write_model_dir,
)
from pipeline.records import OUTCOMES, Decision
from pipeline.views import VIEWS

DEFAULT_REGISTRY = Path("models")
Progress = Callable[[str], None]


def train_run(data: str | Path, view: str, out: str | Path | None = None, *, registry: str | Path | None = None,
              config: ModelConfig | None = None, skip_invalid: bool = False, progress: Progress | None = None,
              warn: Callable[[str], None] | None = None) -> Path:
    """Train on ``data`` for ``view``, cross-validate against the baselines, and write a model directory.

    ``registry`` names a registry root: a new ``<version>/`` is written under it and ``latest`` updated. Otherwise
    ``out`` may name a new (or empty) directory, which becomes the model directory, or an existing registry root
    (a non-empty directory that is not itself a model); with neither, the registry is ``models/``.
    """
    if view not in VIEWS:
        raise ModelError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    say = progress or (lambda message: None)
    config = config or config_for(view)
    say(f"loading {data}")
    records = load_records(data, require_labels=True, skip_invalid=skip_invalid, on_invalid=warn)
    kept, y, dropped = training_data(records, view)
    if dropped and warn:
        warn(f"left out {dropped} record(s) with empty {view} view text")
    version = new_version(view)
    target, registry = _target_dir(out, registry, version)

    cv, cv_seconds = timed(lambda: cross_validate(kept, y, view, config, progress=say))
    config = replace(config, alpha=cv["alpha"])
    say(f"decision rule: alpha={config.alpha} (chosen on out-of-fold macro-F1); temporal split")
    temporal = temporal_split(kept, y, view, config)
    say("fitting the final model and baselines")
    (model, baselines), fit_seconds = timed(lambda: fit_model(kept, y, view, config))

    meta = base_metadata(view, version, data_hash(data), sorted(set(y)), len(kept), config)
    meta.update({
        "data_path": str(data),
        "view_sections": list(VIEWS[view]),
        "dropped_empty_view_text": dropped,
        "review_threshold": cv["review"]["threshold"],
        "timing_s": {"cross_validation": round(cv_seconds, 2), "fit": round(fit_seconds, 2)},
        "metrics": {"cv": public(cv), "temporal": temporal},
        "train_class_counts": {c: int((y == c).sum()) for c in OUTCOMES},
    })
    extra = {
        "confusion_matrix.png": confusion_png(cv["confusion_matrix"], title=f"{view} view, out-of-fold"),
        "calibration.png": calibration_png(cv["_probabilities"], cv["_y"], cv["_classes"],
                                           title=f"{view} view, out-of-fold"),
        "model_card.md": model_card(meta).encode(),
        "cv_predictions.json": json.dumps({
            "classes": cv["_classes"], "y": cv["_y"].tolist(),
            "ids": [r.id for r in kept], "probabilities": np.round(cv["_probabilities"], 5).tolist(),
        }).encode(),
    }
    say(f"writing {target}")
    write_model_dir(target, model, baselines, meta, extra)
    if registry is not None:
        update_latest(registry, target, view)
    return target


def _target_dir(out: str | Path | None, registry: str | Path | None, version: str) -> tuple[Path, Path | None]:
    """(model directory to write, registry root to update or None)."""
    if registry is not None or out is None:
        root = Path(registry if registry is not None else DEFAULT_REGISTRY)
        if (root / METADATA_FILE).exists():
            raise ModelError(f"{root} is a model directory, not a registry")
        return root / version, root
    out = Path(out)
    if (out / METADATA_FILE).exists():
        raise ModelError(f"{out} already holds a model; models are never overwritten — choose a new --out "
                         "or a registry directory")
    if out.is_dir() and any(out.iterdir()):
        return out / version, out
    return out, None


def models_table(registry: str | Path = DEFAULT_REGISTRY) -> list[dict[str, Any]]:
    """One row per model: version, view, data size, date and headline metrics."""
    rows = []
    for meta in list_models(registry):
        cv = meta.get("metrics", {}).get("cv", {})
        rows.append({
            "version": meta["version"],
            "view": meta["view"],
            "n_train": meta["n_train"],
            "created": meta["created"],
            "macro_f1": cv.get("model", {}).get("macro_f1"),
            "accuracy": cv.get("model", {}).get("accuracy"),
            "baseline_tfidf_logreg_macro_f1": cv.get("baselines", {}).get("tfidf_logreg", {}).get("macro_f1"),
            "path": meta["path"],
        })
    return rows


# --- comparing two models -----------------------------------------------------------------------------------------
def compare(model_a: Any, model_b: Any, records: Sequence[Decision], *, bootstrap: int = 1000,
            seed: int = 0) -> dict[str, Any]:
    """Score two predictors (objects with ``predict`` over records, and a ``view``) on the same records.

    Paired tests: McNemar's exact test on per-record correctness, and a paired bootstrap interval for the
    difference in macro-F1 (B - A).
    """
    from scipy.stats import binomtest

    y = np.array([r.outcome for r in records])
    pred_a, pred_b = np.asarray(model_a.predict(records)), np.asarray(model_b.predict(records))
    metrics_a, metrics_b = classification_metrics(y, pred_a), classification_metrics(y, pred_b)
    right_a, right_b = pred_a == y, pred_b == y
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p_value = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    low, high = _bootstrap_interval(y, pred_a, pred_b, bootstrap, seed)
    return {
        "n": int(len(y)),
        "a": metrics_a,
        "b": metrics_b,
        "macro_f1_difference": metrics_b["macro_f1"] - metrics_a["macro_f1"],
        "per_class_f1_difference": {
            c: metrics_b["per_class"][c]["f1"] - metrics_a["per_class"][c]["f1"] for c in OUTCOMES},
        "mcnemar": {"only_a_right": only_a, "only_b_right": only_b, "p_value": float(p_value)},
        "bootstrap_macro_f1_difference_95ci": [low, high],
        "significant": bool(p_value < 0.05 or low > 0 or high < 0),
    }


def _bootstrap_interval(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, rounds: int,
                        seed: int) -> tuple[float, float]:
    """95% percentile interval of macro-F1(B) - macro-F1(A) over paired bootstrap resamples of the records."""
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(rounds):
        idx = rng.integers(0, len(y), len(y))
        differences.append(classification_metrics(y[idx], pred_b[idx])["macro_f1"]
                           - classification_metrics(y[idx], pred_a[idx])["macro_f1"])
    return float(np.percentile(differences, 2.5)), float(np.percentile(differences, 97.5))


"""Honest evaluation: cross-validation, a temporal split, baselines, calibration, plots and a model card.

Every number is reported beside the two baselines the contract fixes (majority class; TF-IDF + logistic
regression) and as macro-F1 with per-class precision/recall/F1, because the classes are very unequal.
"""
from __future__ import annotations

import io
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from pipeline.model import (
    ModelConfig, ModelError, build_baselines, build_model, check_trainable, decide, labelled_view_data,
)
from pipeline.records import OUTCOMES, Decision

FOLDS = 5
SEED = 0
# Precision the automatically decided (not reviewed) cases must reach, per view: triage routes work, so it can
# accept less than a reading of the whole decision.
TARGET_PRECISION = {"decision": 0.95, "triage": 0.85}
N_JOBS = 2
TEMPORAL_TEST_SHARE = 0.2
Progress = Callable[[str], None]


# --- metrics ------------------------------------------------------------------------------------------------------
def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str],
                           classes: Sequence[str] = OUTCOMES) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support (for every one of ``classes``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        # over the classes present in the data or the predictions (scikit-learn's default), so a subset that
        # lacks a class is not penalised for it; per_class still lists all four
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)) if len(y_true) else 0.0,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
    }


def expected_calibration_error(probabilities: np.ndarray, y_true: Sequence[str], classes: Sequence[str],
                               bins: int = 10) -> float:
    """ECE of the top-class probability: the gap between confidence and accuracy, weighted by bin size."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = np.asarray(classes)[probabilities.argmax(axis=1)] == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(error)


def review_threshold(probabilities: np.ndarray, y_true: Sequence[str], classes: Sequence[str],
                     target_precision: float, predicted: Sequence[str] | None = None) -> dict[str, float]:
    """Lowest threshold on the predicted class's probability whose automatic decisions reach ``target_precision``.

    Cases under the threshold get ``needs_review``. If no threshold reaches the target, every case is reviewed
    (threshold 1.0) and the best precision seen is reported.
    """
    probabilities = np.asarray(probabilities)
    classes = list(classes)
    if predicted is None:
        predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    predicted = np.asarray(predicted)
    confidence = probabilities[np.arange(len(predicted)), [classes.index(p) for p in predicted]]
    correct = predicted == np.asarray(y_true)
    order = np.argsort(-confidence)
    cumulative_precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(cumulative_precision >= target_precision)
    minimum_cases = max(10, int(0.02 * len(order)))
    ok = ok[ok >= minimum_cases - 1]
    if len(ok) == 0:
        return {"threshold": 1.0, "target_precision": target_precision, "precision": float(cumulative_precision.max()),
                "coverage": 0.0}
    last = ok.max()
    return {
        "threshold": float(confidence[order][last]),
        "target_precision": target_precision,
        "precision": float(cumulative_precision[last]),
        "coverage": float((last + 1) / len(order)),
    }


# --- cross-validation ---------------------------------------------------------------------------------------------
def cross_validate(records: Sequence[Decision], y: np.ndarray, view: str, config: ModelConfig | None = None,
                   folds: int = FOLDS, progress: Progress | None = None, n_jobs: int = N_JOBS) -> dict[str, Any]:
    """Stratified k-fold CV of the model and both baselines on the same folds; out-of-fold probabilities too.

    Folds run in parallel (``n_jobs``): each is independent, and the machine has two cores.
    """
    from joblib import Parallel, delayed

    records = list(records)
    classes = sorted(set(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    splits = list(splitter.split(np.zeros(len(y)), y))
    if progress:
        progress(f"cross-validation: {folds} folds on {n_jobs} process(es)")
    results = []
    for result in Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_run_fold)(records, y, train, test, view, config, classes) for train, test in splits):
        results.append(result)
        if progress:
            progress(f"cross-validation: fold {len(results)}/{folds} done")
    probabilities = np.zeros((len(y), len(classes)))
    baseline_predictions = {name: np.empty(len(y), dtype=object) for name in build_baselines(view)}
    for (train, test), (fold_probabilities, fold_baselines) in zip(splits, results):
        probabilities[test] = fold_probabilities
        for name, predicted in fold_baselines.items():
            baseline_predictions[name][test] = predicted
    priors = np.array([(y == c).mean() for c in classes])
    alpha, alpha_scores = choose_alpha(probabilities, y, classes, priors)
    predicted = decide(probabilities, classes, priors, alpha)
    return {
        "folds": folds,
        "alpha": alpha,
        "alpha_macro_f1": alpha_scores,
        "model": classification_metrics(y, predicted),
        "baselines": {name: classification_metrics(y, p) for name, p in baseline_predictions.items()},
        "ece": expected_calibration_error(probabilities, y, classes),
        "review": review_threshold(probabilities, y, classes, TARGET_PRECISION[view], predicted),
        "confusion_matrix": confusion_matrix(y, predicted, labels=list(OUTCOMES)).tolist(),
        "_probabilities": probabilities,
        "_classes": classes,
        "_y": y,
    }


ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def choose_alpha(probabilities: np.ndarray, y: np.ndarray, classes: Sequence[str],
                 priors: np.ndarray) -> tuple[float, dict[str, float]]:
    """The prior-correction strength (see ``model.PriorCorrectedClassifier``) with the best out-of-fold macro-F1.

    One parameter over five values: little room to overfit the folds. Ties go to the smaller alpha.
    """
    scores = {str(a): classification_metrics(y, decide(probabilities, classes, priors, a))["macro_f1"] for a in ALPHAS}
    best = max(ALPHAS, key=lambda a: (round(scores[str(a)], 4), -a))
    return best, scores


def _run_fold(records: list[Decision], y: np.ndarray, train: np.ndarray, test: np.ndarray, view: str,
              config: ModelConfig, classes: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    train_records = [records[i] for i in train]
    test_records = [records[i] for i in test]
    model = build_model(view, config).fit(train_records, y[train])
    baselines = {name: baseline.fit(train_records, y[train]).predict(test_records)
                 for name, baseline in build_baselines(view).items()}
    return _aligned(model, test_records, classes), baselines


def temporal_split(records: Sequence[Decision], y: np.ndarray, view: str, config: ModelConfig | None = None,
                   test_share: float = TEMPORAL_TEST_SHARE) -> dict[str, Any] | None:
    """Train on older decisions, test on the newest ``test_share``: how the model ages. None without dates."""
    dated = [i for i, r in enumerate(records) if r.decision_date]
    if len(dated) < 50:
        return None
    dated.sort(key=lambda i: records[i].decision_date)
    cut = int(len(dated) * (1 - test_share))
    train, test = dated[:cut], dated[cut:]
    try:
        check_trainable(y[train])
    except ModelError:  # the older part lacks some class: no honest temporal estimate
        return None
    train_records = [records[i] for i in train]
    test_records = [records[i] for i in test]
    model = build_model(view, config).fit(train_records, y[train])
    result = {
        "train_until": records[train[-1]].decision_date,
        "test_from": records[test[0]].decision_date,
        "model": classification_metrics(y[test], model.predict(test_records)),
        "baselines": {
            name: classification_metrics(y[test], baseline.fit(train_records, y[train]).predict(test_records))
            for name, baseline in build_baselines(view).items()
        },
    }
    return result


def _aligned(model: Any, records: Sequence[Any], classes: Sequence[str]) -> np.ndarray:
    """predict_proba with columns in ``classes`` order (a fold may miss a class)."""
    raw = model.predict_proba(records)
    out = np.zeros((len(records), len(classes)))
    for j, cls in enumerate(model.classes_):
        out[:, list(classes).index(cls)] = raw[:, j]
    return out


# --- scoring a saved model ----------------------------------------------------------------------------------------
def evaluate_bundle(model: Any, baselines: Mapping[str, Any], records: Sequence[Decision], view: str) -> dict[str, Any]:
    """The contract's ``evaluate --json`` object: model and baselines scored on the same labelled records."""
    kept, y, dropped = labelled_view_data(records, view)
    if not kept:
        raise ModelError(f"no labelled records with non-empty {view} view text to evaluate on")
    predicted = model.predict(kept)
    result = classification_metrics(y, predicted)
    result["view"] = view
    result["dropped_empty_view_text"] = dropped
    result["baselines"] = {name: classification_metrics(y, b.predict(kept)) for name, b in baselines.items()}
    result["confusion_matrix"] = {"labels": list(OUTCOMES),
                                  "matrix": confusion_matrix(y, predicted, labels=list(OUTCOMES)).tolist()}
    return result


# --- plots and model card -----------------------------------------------------------------------------------------
def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str] = OUTCOMES, title: str = "") -> bytes:
    import matplotlib

    matrix = np.asarray(matrix)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.8), dpi=110)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("annotated")
    ax.set_title(title or "Confusion matrix")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    return figure_png(fig)


def calibration_png(probabilities: np.ndarray, y_true: Sequence[str], classes: Sequence[str], title: str = "",
                    bins: int = 10) -> bytes:
    """Reliability diagram: one line per class (one-vs-rest), and the diagonal of perfect calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_true = np.asarray(y_true)
    fig, ax = plt.subplots(figsize=(5.5, 4.8), dpi=110)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for j, cls in enumerate(classes):
        p = probabilities[:, j]
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        xs, ys = [], []
        for b in range(bins):
            mask = which == b
            if mask.sum() >= 5:
                xs.append(p[mask].mean())
                ys.append((y_true[mask] == cls).mean())
        ax.plot(xs, ys, marker="o", label=cls)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(title or "Calibration (out-of-fold)")
    ax.legend(fontsize=8)
    return figure_png(fig)


def figure_png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def model_card(meta: Mapping[str, Any]) -> str:
    """A short Markdown model card from a model's metadata."""
    metrics = meta.get("metrics", {})
    cv = metrics.get("cv", {})
    config = meta["config"]
    lines = [
        f"# Model card: {meta['version']}",
        "",
        f"- **View:** `{meta['view']}` — reads only: {', '.join(meta.get('view_sections', []))}",
        f"- **Created:** {meta['created']} with complaint-outcomes {meta['package_version']}, "
        f"scikit-learn {meta.get('sklearn_version')}",
        f"- **Training data:** {meta['n_train']} records (SHA-256 `{meta['data_hash'][:16]}…`); "
        f"{meta.get('dropped_empty_view_text', 0)} left out for empty view text",
        f"- **Model:** {_model_description(meta)}",
        f"- **Decision rule:** the outcome maximises probability / prior^alpha with alpha={config.get('alpha')} "
        "(chosen on out-of-fold macro-F1; 0 = plain argmax), so rare classes are not drowned by the majority; "
        "the probabilities themselves stay calibrated.",
        f"- **Classes:** {', '.join(meta['classes'])}",
        "",
    ]
    if cv:
        lines += _metrics_table(f"Stratified {cv.get('folds', FOLDS)}-fold cross-validation", cv)
        review = cv.get("review", {})
        lines += [
            f"- Expected calibration error (top class, out-of-fold): **{cv.get('ece', float('nan')):.3f}**",
            "- Abstention: `needs_review` when the predicted outcome's probability < "
            f"**{review.get('threshold', 1.0):.3f}**, chosen for precision ≥ {review.get('target_precision', 0):.2f} "
            "on out-of-fold predictions "
            f"(reached {review.get('precision', 0):.3f} on {review.get('coverage', 0):.0%} of cases decided "
            "automatically).",
            "",
        ]
    temporal = metrics.get("temporal")
    if temporal:
        lines += _metrics_table(
            f"Temporal split (train ≤ {temporal['train_until']}, test ≥ {temporal['test_from']})", temporal)
    lines += [
        "## Limits",
        "- Trained on restated text of published LGSCO decisions; real pages are longer. The decision view reads "
        "the decision's own reasoning, so its scores are far higher than what is possible before a decision.",
        "- The triage view reads only the complaint: use it to route cases, not to decide them.",
        "",
        "![confusion matrix](confusion_matrix.png) ![calibration](calibration.png)",
        "",
    ]
    return "\n".join(lines)


def _model_description(meta: Mapping[str, Any]) -> str:
    config = meta["config"]
    parts = ["word + character TF-IDF"]
    if config.get("summary_branch") and "summary" in meta.get("view_sections", []):
        parts.append("(whole view and summary)")
    if config.get("remedy_features"):
        parts.append("+ remedy/reason features")
    return (" ".join(parts) + f", class-weighted {config.get('classifier', 'svm')} classifier (C={config.get('C')}), "
            "sigmoid calibration on out-of-fold scores")


def _metrics_table(title: str, block: Mapping[str, Any]) -> list[str]:
    model, baselines = block["model"], block["baselines"]
    lines = [f"## {title}", "", "| | macro-F1 | accuracy |", "|---|---|---|",
             f"| **model** | **{model['macro_f1']:.3f}** | {model['accuracy']:.3f} |"]
    lines += [f"| baseline: {name} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} |" for name, m in baselines.items()]
    lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [f"| {cls} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
              for cls, m in model["per_class"].items()]
    return lines + [""]


def public(block: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the private arrays (keys starting with '_') before writing JSON."""
    return {k: v for k, v in block.items() if not k.startswith("_")}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


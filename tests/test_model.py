"""Model training, the decision rule, model directories (hash-checked, never overwritten) and the registry."""
import json
import shutil

import numpy as np
import pytest

from pipeline.corpus import load_records
from pipeline.evaluate import choose_alpha, expected_calibration_error, review_threshold
from pipeline.model import (
    MODEL_FILE, ModelError, build_model, check_trainable, decide, read_metadata, resolve_model_dir, training_data,
    verified_load,
)
from pipeline.records import Decision
from pipeline.registry import models_table, train_run


def test_model_directory_has_contract_metadata(trained_model_dirs):
    for view in ("decision", "triage"):
        meta = read_metadata(trained_model_dirs[view])
        for key in ("version", "created", "data_hash", "view", "classes", "metrics", "sha256", "package_version",
                    "review_threshold"):
            assert key in meta, key
        assert meta["view"] == view
        assert len(meta["data_hash"]) == 64 and len(meta["sha256"]) == 64
        cv = meta["metrics"]["cv"]
        assert set(cv["baselines"]) == {"majority", "tfidf_logreg"}
        assert 0.0 <= cv["ece"] <= 1.0
        for name in ("model_card.md", "confusion_matrix.png", "calibration.png"):
            assert (trained_model_dirs[view] / name).stat().st_size > 0


def test_decision_view_beats_baselines_on_cross_validation(trained_model_dirs):
    cv = read_metadata(trained_model_dirs["decision"])["metrics"]["cv"]
    assert cv["model"]["macro_f1"] > cv["baselines"]["majority"]["macro_f1"] + 0.3
    assert cv["model"]["macro_f1"] >= cv["baselines"]["tfidf_logreg"]["macro_f1"]


def test_training_is_deterministic(training_sample_path, tmp_path):
    records = load_records(training_sample_path, require_labels=True)[:300]
    kept, y, _ = training_data(records, "decision")
    a = build_model("decision").fit(kept, y).predict_proba(kept[:20])
    b = build_model("decision").fit(kept, y).predict_proba(kept[:20])
    np.testing.assert_array_equal(a, b)


def test_tampered_model_file_is_refused(trained_model_dirs, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained_model_dirs["triage"], copy)
    with open(copy / MODEL_FILE, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="SHA-256 does not match"):
        verified_load(copy, MODEL_FILE)


def test_incompatible_package_version_is_refused(trained_model_dirs, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained_model_dirs["triage"], copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["package_version"] = "7.0.0"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="incompatible"):
        verified_load(copy, MODEL_FILE)


def test_registry_never_overwrites_and_latest_points_at_newest(training_sample_path, tmp_path, trained_model_dirs):
    registry = tmp_path / "models"
    registry.mkdir()
    (registry / "README").write_text("registry")  # non-empty directory that is not a model: a registry root
    first = train_run(training_sample_path, "triage", registry)
    second = train_run(training_sample_path, "triage", registry)
    assert first != second and first.parent == second.parent == registry
    assert resolve_model_dir(registry) == second.resolve()
    assert (registry / "latest-triage").resolve() == second.resolve()
    assert [row["version"] for row in models_table(registry)] == [first.name, second.name]
    with pytest.raises(ModelError, match="never overwritten"):
        train_run(training_sample_path, "triage", first)


@pytest.mark.parametrize("labels, message", [
    (["fault_found"] * 12, "single class"),
    (["fault_found"] * 10 + ["no_fault"] * 2, "too few examples per class"),
    ([], "no training records"),
])
def test_untrainable_data_is_refused(labels, message):
    with pytest.raises(ModelError, match=message):
        check_trainable(np.array(labels))


def test_unlabelled_record_is_refused_for_training():
    with pytest.raises(ModelError, match="no outcome label"):
        training_data([Decision(id="x", complaint="c")], "triage")


def test_empty_view_text_is_left_out_and_counted():
    records = [Decision(id=f"r{i}", outcome=("fault_found", "no_fault")[i % 2], complaint=f"complaint {i}",
                        summary="s") for i in range(20)]
    records.append(Decision(id="empty", outcome="no_fault", summary="only a summary"))
    kept, y, dropped = training_data(records, "triage")
    assert dropped == 1 and len(kept) == 20 and "empty" not in {r.id for r in kept}


def test_prior_corrected_decision_rule():
    probabilities = np.array([[0.7, 0.3], [0.55, 0.45]])
    classes, priors = ["common", "rare"], np.array([0.8, 0.2])
    assert list(decide(probabilities, classes, priors, 0.0)) == ["common", "common"]
    assert list(decide(probabilities, classes, priors, 1.0)) == ["rare", "rare"]
    y = np.array(["common", "rare"])
    alpha, scores = choose_alpha(probabilities, y, classes, priors)
    assert scores[str(alpha)] == max(scores.values())


def test_review_threshold_reaches_target_precision():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 2000)
    y_pred_right = rng.uniform(size=2000) < confidence  # well calibrated: right with probability = confidence
    probabilities = np.column_stack([confidence, 1 - confidence])
    y = np.where(y_pred_right, "a", "b")
    result = review_threshold(probabilities, y, ["a", "b"], 0.9)
    decided = confidence >= result["threshold"]
    assert y_pred_right[decided].mean() >= 0.9
    assert 0 < result["coverage"] < 1
    assert expected_calibration_error(probabilities, y, ["a", "b"]) < 0.05

"""The triage view must never see outcome text: not the summary, findings, remedies, final decision or header."""
import numpy as np
import pytest

from pipeline.model import ViewSections, build_model
from pipeline.records import Decision
from pipeline.views import SECTION_ROLES, VIEWS, ViewError, sections_of, view_text

PAGE = """Northshire County Council (23 004 511)
Category : Adult care services > Charging
Decision : Upheld
Decision date : 14 Mar 2024

The Ombudsman's final decision
Summary: LEAKSUMMARY the Council was at fault and has agreed to apologise.
The complaint
Mrs B complained the Council charged her mother for care she did not receive.
The Ombudsman's role and powers
LEAKROLE We investigate fault and injustice.
How I considered this complaint
LEAKHOW I read the papers.
What I found
LEAKFINDING The Council did not explain the charge.
Agreed action
LEAKACTION Within one month the Council will pay Mrs B £250.
Final decision
LEAKFINAL I found fault causing injustice.
"""
MARKERS = ("LEAKSUMMARY", "LEAKROLE", "LEAKHOW", "LEAKFINDING", "LEAKACTION", "LEAKFINAL",
           "Upheld", "Northshire", "23 004 511", "Charging", "2024")


def test_only_pre_decision_sections_feed_triage():
    assert VIEWS["triage"] == ("complaint",)
    assert all(SECTION_ROLES[name] == "pre_decision" for name in VIEWS["triage"])


@pytest.mark.parametrize("record", [
    PAGE,
    {"text": PAGE},
    {"summary": "LEAKSUMMARY upheld", "complaint": "Mrs B complained about charges.", "assessment": "LEAKFINDING",
     "site_outcome": "Upheld", "authority": "Northshire", "category": "Adult care services", "outcome": "fault_found"},
])
def test_triage_view_text_has_no_outcome_text(record):
    text = view_text(record, "triage")
    assert "Mrs B complained" in text
    for marker in MARKERS:
        assert marker not in text


def test_decision_view_reads_sections_but_not_header():
    text = view_text(PAGE, "decision")
    for marker in ("LEAKSUMMARY", "LEAKFINDING", "LEAKACTION", "LEAKFINAL"):
        assert marker in text
    for header_value in ("Decision : Upheld", "Northshire County Council (23 004 511)", "Decision date"):
        assert header_value not in text


def test_view_gate_transformer_passes_only_the_complaint():
    gate = ViewSections("triage").fit([PAGE])
    (sections,) = gate.transform([PAGE])
    assert set(sections) == {"complaint", "_all"}
    assert all(marker not in sections["_all"] for marker in MARKERS)


def test_fitted_triage_model_vocabulary_never_contains_outcome_words():
    """End to end: words that appear only in outcome-bearing sections never reach the triage model's features."""
    rng = np.random.default_rng(0)
    records, labels = [], []
    outcomes = ["not_investigated", "fault_found"]
    for i in range(40):
        label = outcomes[i % 2]
        records.append(Decision(
            id=f"t-{i}", outcome=label, site_outcome="Upheld",
            summary=f"LEAKSUMMARY{label} decided", assessment=f"LEAKFINDING{label}",
            complaint=f"Mr {i} complained about the council repairs {rng.integers(1000)} and his bins.",
        ))
        labels.append(label)
    model = build_model("triage").fit(records, np.array(labels))
    names = " ".join(model.named_steps["features"].get_feature_names_out()).lower()
    assert "leak" not in names
    assert "complained" in names  # the complaint does reach it, so the check above can fail


def test_empty_view_text_is_a_clear_error():
    with pytest.raises(ViewError, match="triage view has no text"):
        view_text({"summary": "The Ombudsman will not investigate."}, "triage")
    with pytest.raises(ViewError, match="unknown view"):
        view_text("some text", "header")


def test_sections_of_restated_record():
    sections = sections_of({"summary": "S", "complaint": "C", "assessment": ""})
    assert sections == {"summary": "S", "complaint": "C"}

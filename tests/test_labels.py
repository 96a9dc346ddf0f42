from pathlib import Path

import pytest

from pipeline.corpus import load_records
from pipeline.labels import agreement, derive_label

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "seed_decision.txt"


@pytest.mark.parametrize("site, summary, expected", [
    ("Closed after initial enquiries", "We will not investigate because the complaint is late.", "not_investigated"),
    ("Closed after initial enquiries", "We will not investigate because the Council has already apologised and "
     "paid Mr X £100, which is a suitable remedy.", "remedy_adequate"),
    ("Upheld", "The Council was at fault. It has agreed to apologise and pay Mrs Y £300 within one month.",
     "fault_found"),
    ("Upheld", "The Council was at fault but had already apologised, so no further remedy was needed.",
     "remedy_adequate"),
    ("Not upheld", "We found no fault in how the Council assessed Mr Z.", "no_fault"),
    ("Not upheld", "We discontinued our investigation because Mr Z has appealed to the tribunal.",
     "not_investigated"),
])
def test_rules_per_published_decision(site, summary, expected):
    assert derive_label({"site_outcome": site, "summary": summary}) == expected


def test_seed_decision_is_remedy_adequate():
    if not SEED.exists():
        pytest.skip("shared/ examples not present")
    assert derive_label({"text": SEED.read_text(), "site_outcome": "Closed after initial enquiries"}) \
        == "remedy_adequate"


def test_agreement_with_annotations_is_reported_and_high():
    records = load_records("data/lgsco_decisions.jsonl", require_labels=True)
    result = agreement(records)
    assert result["n"] == len(records)
    assert result["agreement"] > 0.85
    assert set(result["per_site_outcome"]) <= {"Upheld", "Not upheld", "Closed after initial enquiries", "unknown"}

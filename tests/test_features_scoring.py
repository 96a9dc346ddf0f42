"""Scoring of remedy / reason extraction against annotations (the contract's features-eval report)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.features.scoring import REASON_KEYS, REMEDY_KEYS, score_extraction
from pipeline.records import Decision, Feature, Remedy

CORPUS = Path(__file__).resolve().parents[1] / "data" / "lgsco_decisions.jsonl"
CONTRACT_KEYS = {"n", "presence", "status_accuracy", "amount_exact", "reasons", "reasons_micro_f1"}
METRIC_KEYS = {"precision", "recall", "f1", "support"}


def decision(summary: str, already=(), recommended=(), reasons=(), complaint: str = "Ms A complained.") -> Decision:
    return Decision(id="t", summary=summary, complaint=complaint, outcome="fault_found",
                    remedies_already_by_body=[r if isinstance(r, Remedy) else Remedy(r) for r in already],
                    remedies_recommended=[r if isinstance(r, Remedy) else Remedy(r) for r in recommended],
                    not_investigated_reasons=list(reasons))


def remedy(kind: str, status: str = "recommended", amount: float | None = None) -> Feature:
    return Feature(kind, status, 0, 1, "s", amount_gbp=amount)


def reason(kind: str) -> Feature:
    return Feature(kind, None, 0, 1, "s", kind="reason")


def test_report_has_the_contract_shape():
    report = score_extraction([decision("The Council agreed to apologise.", recommended=["apology"])])
    assert CONTRACT_KEYS <= set(report)
    assert list(report["presence"]) == list(REMEDY_KEYS)
    assert list(report["reasons"]) == list(REASON_KEYS)
    for block in ("presence", "reasons"):
        assert all(set(m) == METRIC_KEYS for m in report[block].values())
    json.dumps(report)  # plain JSON


def test_presence_precision_recall_by_hand():
    records = [decision("a", recommended=["apology"]), decision("b", recommended=["apology"]), decision("c")]
    found = [[remedy("apology")], [], [remedy("apology", "already_by_body")]]
    apology = score_extraction(records, found)["presence"]["apology"]
    assert apology == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}


def test_negated_mentions_are_not_presence():
    report = score_extraction([decision("a")], [[remedy("apology", "negated")]])
    assert report["presence"]["apology"]["precision"] == 0.0  # no prediction at all: 0 by convention
    assert report["presence"]["apology"]["support"] == 0


def test_service_improvement_is_an_umbrella():
    records = [decision("a", recommended=["training"]), decision("b", already=["procedure_review"])]
    found = [[remedy("service_improvement")], [remedy("procedure_review", "already_by_body")]]
    presence = score_extraction(records, found)["presence"]
    assert presence["service_improvement"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert presence["training"]["recall"] == 0.0 and presence["training"]["support"] == 1
    assert presence["procedure_review"]["f1"] == 1.0
    assert presence["service_improvement"]["support"] == 2


def test_other_is_not_scored():
    report = score_extraction([decision("a", recommended=["other"], reasons=["other"])], [[]])
    assert all(m["support"] == 0 for m in report["presence"].values())
    assert all(m["support"] == 0 for m in report["reasons"].values())


def test_status_accuracy_over_correctly_found_types():
    records = [decision("a", recommended=["apology", "payment"]), decision("b", already=["apology"]),
               decision("c", already=["refund"], recommended=["refund"])]
    found = [[remedy("apology"), remedy("payment", "already_by_body")],
             [remedy("apology", "already_by_body"), remedy("apology")],  # both found: already wins
             [remedy("refund")]]  # gold in both lists accepts either
    assert score_extraction(records, found)["status_accuracy"] == pytest.approx(3 / 4)


def test_amount_exact_counts_gold_amounts_where_a_payment_was_found():
    records = [decision("a", recommended=[Remedy("payment", 300.0), Remedy("payment", 50.0)]),
               decision("b", recommended=[Remedy("payment", 100.0)]),
               decision("c", recommended=[Remedy("payment", 999.0)])]
    found = [[remedy("payment", amount=300.0), remedy("payment", amount=50.0)],
             [remedy("payment", amount=120.0)],
             []]  # not found: not counted
    report = score_extraction(records, found)
    assert report["amount_exact"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["amount_pairs"] == 3


def test_reasons_and_micro_f1():
    records = [decision("a", reasons=["late", "unlikely_fault"]), decision("b", reasons=["alternative_remedy"])]
    found = [[reason("late")], [reason("alternative_remedy"), reason("late")]]
    report = score_extraction(records, found)
    assert report["reasons"]["late"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3, abs=1e-4),
                                         "support": 1}
    # micro: tp=2 (late, alternative_remedy), fp=1 (late in b), fn=1 (unlikely_fault in a)
    assert report["reasons_micro_f1"] == pytest.approx(2 / 3, abs=1e-4)


def test_gold_not_mentioned_is_a_recall_ceiling():
    records = [decision("The Council agreed to apologise.", recommended=["apology"]),
               decision("The Council agreed a remedy.", recommended=["apology"])]
    report = score_extraction(records)
    assert report["gold_not_mentioned"]["apology"] == 0.5
    assert report["presence"]["apology"]["recall"] <= 1 - report["gold_not_mentioned"]["apology"]


def test_end_to_end_on_invented_decisions():
    records = [
        decision("The Ombudsman found fault and the Council agreed to apologise and pay Mrs B £250.",
                 recommended=["apology", Remedy("payment", 250.0)]),
        decision("We will not investigate because the Council has already apologised and reviewed its procedures.",
                 already=["apology", "procedure_review"], reasons=["already_remedied"]),
        decision("We will not investigate Mr C's complaint because he could appeal to the tribunal.",
                 reasons=["alternative_remedy"], complaint="Mr C wants an apology."),
    ]
    report = score_extraction(records)
    assert report["n"] == 3
    assert report["presence"]["apology"]["f1"] == 1.0
    assert report["presence"]["payment"]["f1"] == 1.0
    assert report["presence"]["service_improvement"]["f1"] == 1.0
    assert report["status_accuracy"] == 1.0
    assert report["amount_exact"] == 1.0
    assert report["reasons_micro_f1"] == 1.0


def test_bad_input():
    with pytest.raises(TypeError):
        score_extraction([{"summary": "not a Decision"}])
    with pytest.raises(ValueError, match="feature lists"):
        score_extraction([decision("a")], [])


def test_empty_record_list():
    report = score_extraction([])
    assert report["n"] == 0 and report["status_accuracy"] == 0.0 and report["reasons_micro_f1"] == 0.0


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_corpus_quality_does_not_regress():
    """Guards the measured quality on the shared corpus (targets: presence F1 >= 0.90 for apology and payment,
    status accuracy >= 0.85, reasons micro-F1 >= 0.80; the service_improvement umbrella is held to 0.85 here
    because about 8% of its gold examples are not mentioned in the restated text at all)."""
    with CORPUS.open(encoding="utf-8") as handle:
        records = [Decision.from_dict(json.loads(line)) for line in handle if line.strip()]
    report = score_extraction(records)
    presence = report["presence"]
    assert presence["apology"]["f1"] >= 0.90
    assert presence["payment"]["f1"] >= 0.90
    assert presence["service_improvement"]["f1"] >= 0.85
    assert report["status_accuracy"] >= 0.85
    assert report["amount_exact"] >= 0.90
    assert report["reasons_micro_f1"] >= 0.80

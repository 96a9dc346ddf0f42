"""Remedy and not-investigated-reason extraction (pipeline.features).

Texts here are invented, written the way LGSCO decisions are worded; names are pseudonyms.
"""
from __future__ import annotations

import importlib
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from pipeline.features import MAX_CHARS, RemedyFeatures, extract, extract_reasons, extract_remedies
from pipeline.records import FEATURE_STATUSES, REASON_TYPES, REMEDY_TYPES

X = importlib.import_module("pipeline.features.extract")  # the module (the package re-exports the function)
SEED = Path("/work/shared/examples/seed_decision.txt")


def remedies(text: str) -> dict[str, set[str]]:
    """{type: {statuses}} of the remedy features in text."""
    out: dict[str, set[str]] = {}
    for f in extract_remedies(text):
        out.setdefault(f.type, set()).add(f.status)
    return out


def reasons(text: str) -> set[str]:
    return {f.type for f in extract_reasons(text)}


# --- the seed decision ---------------------------------------------------------------------------------------------

SEED_LIKE = (
    "The Ombudsman's final decision\n"
    "Summary: We will not investigate this complaint about how the Council recorded Mr K's contact with its "
    "children's services. That is because further investigation would not lead to a different outcome.\n"
    "The complaint\n"
    "Mr K wants the Council to apologise and review how it records disclosures.\n"
    "My assessment\n"
    "In its reply the Council apologised if he felt judged by its case notes. It said it had arranged training for "
    "its social workers. We will not investigate. The Council has apologised to Mr K and made service improvements."
)


@pytest.mark.parametrize("text", [
    pytest.param(SEED.read_text(encoding="utf-8") if SEED.exists() else None, id="shared-seed"),
    pytest.param(SEED_LIKE, id="seed-like"),
])
def test_seed_decision_yields_apology_and_service_improvement_already_and_no_payment(text):
    if text is None:
        pytest.skip("shared seed decision not present")
    found = remedies(text)
    assert "already_by_body" in found.get("apology", set())
    assert "already_by_body" in found.get("service_improvement", set())
    assert "payment" not in found
    assert all(status == "already_by_body" for statuses in found.values() for status in statuses)


@pytest.mark.parametrize("text, status", [
    ("The Council agreed to make changes to how it handles blue badge applications.", "recommended"),
    ("The Council will put measures in place to avoid similar delays.", "recommended"),
    ("The Council will write to other families who may be affected by the same error.", "recommended"),
    ("The Council agreed to develop a procedure for dealing with such requests.", "recommended"),
    ("The Council will ensure that staff are aware of their duties.", "recommended"),
    ("The Council agreed to consider what changes it needs to make to its process.", "recommended"),
    ("The Council will explain what lessons it has drawn from the complaint.", "recommended"),
    ("The Council agreed to carry out an audit of other tenancy cases.", "recommended"),
    ("The Council agreed to provide evidence it has reminded staff of the guidance.", "recommended"),
    ("The Council agreed to deal with such requests promptly in future.", "recommended"),
    ("The Council has reminded its officers to keep notes of visits.", "already_by_body"),
])
def test_service_improvement_phrasings(text, status):
    found = remedies(text)
    umbrella = found.get("service_improvement", set()) | found.get("training", set()) | \
        found.get("procedure_review", set())
    assert status in umbrella


def test_a_wish_for_future_change_is_not_a_remedy():
    assert "service_improvement" not in remedies("Mr T wants the Council to act faster in future.")


# --- status ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, status", [
    ("The Council has already apologised to Mrs B.", "apology", "already_by_body"),
    ("In its complaint response it had refunded the parking fee.", "refund", "already_by_body"),
    ("The Council offered Mr D £150 for his time and trouble.", "payment", "already_by_body"),
    ("The Council has agreed to apologise to Ms F.", "apology", "recommended"),
    ("The Council should pay Mrs G £300 to recognise her distress.", "payment", "recommended"),
    ("The Council will review its procedures for handling such requests.", "procedure_review", "recommended"),
    ("Within one month, the Council will apologise to Mr H.", "apology", "recommended"),
    ("We recommended an apology and £200 for the uncertainty caused.", "payment", "recommended"),
    ("The Council agreed to remind staff to record their decisions.", "service_improvement", "recommended"),
    ("The Council agreed to train its officers on the guidance.", "training", "recommended"),
    ("It will carry out a fresh assessment of Mr J's needs.", "reassessment", "recommended"),
    ("The Council did not apologise for the delay.", "apology", "negated"),
    ("The care provider refused to pay.", "payment", "negated"),
])
def test_status_follows_the_cue(text, kind, status):
    assert status in remedies(text).get(kind, set()), remedies(text)


def test_a_list_of_remedies_shares_its_cue():
    found = remedies("The Council agreed to apologise, pay Mrs L £250 and improve its complaint handling.")
    assert found == {"apology": {"recommended"}, "payment": {"recommended"}, "service_improvement": {"recommended"}}


def test_already_and_recommended_in_one_sentence():
    found = remedies("The Council had already apologised, and it has agreed to pay Mr M £100.")
    assert found["apology"] == {"already_by_body"}
    assert found["payment"] == {"recommended"}


@pytest.mark.parametrize("text", [
    "Mr X wants the Council to apologise.",
    "Mrs Y is seeking an apology, compensation and a review of the Council's procedures.",
    "Ms Z asked for a refund and an apology.",
    "Mr W says the Council should pay him compensation.",
    "Mrs V complained that the Council had not apologised.",
    "Mr T paid £35 to settle the penalty charge.",
    "Ms S receives direct payments to buy her care.",
])
def test_background_mentions_are_not_remedies(text):
    found = {t: s for t, s in remedies(text).items() if s - {"negated"}}
    assert found == {}, found


def test_complainant_wish_does_not_hide_the_remedy_in_the_next_clause():
    found = remedies("Mr X wanted an apology; the Council agreed to apologise and pay him £150.")
    assert found["apology"] == {"recommended"} and found["payment"] == {"recommended"}


# --- amounts and evidence -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, amount", [
    ("The Council agreed to pay Mrs N £300 for her distress.", 300.0),
    ("The Council will pay the family £1,250 to acknowledge the lost education.", 1250.0),
    ("It agreed a £1.5k symbolic payment.", 1500.0),
    ("It should pay Mr P £2 million in compensation.", 2_000_000.0),
    ("The Council agreed to a £500 symbolic payment for the uncertainty.", 500.0),
])
def test_payment_amounts(text, amount):
    payments = [f for f in extract_remedies(text) if f.type == "payment"]
    assert [f.amount_gbp for f in payments] == [amount]


def test_two_amounts_in_one_recommendation_are_two_payments():
    text = "It agreed to pay Mrs Q £3,000 for the lost provision plus £250 for her time and trouble."
    assert sorted(f.amount_gbp for f in extract_remedies(text) if f.type == "payment") == [250.0, 3000.0]


def test_refund_amount_is_not_a_payment():
    text = "The Council agreed to refund the £50 fee for the cancelled licence."
    found = remedies(text)
    assert found == {"refund": {"recommended"}}


def test_evidence_offsets_and_sentence_point_into_the_input():
    text = ("Mrs R complained about missed bin collections.\n"
            "The Council has agreed to apologise and pay her £120 for the frustration caused.")
    found = extract(text)
    assert [f.type for f in found] == ["apology", "payment"]  # text order
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
        assert f.sentence in text
        assert text[f.start:f.end] in f.sentence
    assert text[found[0].start:found[0].end] == "apologise"
    assert "£120" in text[found[1].start:found[1].end]


def test_upper_case_text_gives_the_same_features():
    text = "The Council has agreed to apologise and pay Mrs S £200. We will not investigate because it is late."
    lower = [(f.type, f.status, f.start, f.end, f.amount_gbp) for f in extract(text)]
    upper = [(f.type, f.status, f.start, f.end, f.amount_gbp) for f in extract(text.upper())]
    assert lower == upper and lower


@pytest.mark.parametrize("text, expected", [
    ("£300", 300.0), ("£1,250", 1250.0), ("£1.5k", 1500.0), ("£2 million", 2e6), ("£ 40", 40.0), ("£12.50", 12.5),
])
def test_parse_amount(text, expected):
    match = X.re.compile(X.P.AMOUNT_REGEX, X.re.IGNORECASE).search(text)
    assert X.parse_amount(match) == expected


# --- reasons --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("We will not investigate this complaint. The law says we cannot investigate late complaints unless there "
     "are good reasons.", "late"),
    ("We will not investigate Mr X's complaint because it was reasonable for him to appeal to the tribunal.",
     "alternative_remedy"),
    ("We will not investigate because Ms Y could claim against the Council's insurer.", "alternative_remedy"),
    ("We will not investigate because the alleged fault has not caused Mrs Z significant injustice.",
     "no_significant_injustice"),
    ("We cannot investigate this complaint because it is outside our jurisdiction.", "outside_jurisdiction"),
    ("We will not investigate because Mr W has not yet completed the council's complaints procedure.",
     "not_exhausted_complaints_process"),
    ("We will not investigate this complaint. This is because it is unlikely we would find fault.",
     "unlikely_fault"),
    ("The Ombudsman declined to investigate, as there was too little evidence of fault.", "unlikely_fault"),
    ("We will not investigate because the Council has already apologised and put things right.",
     "already_remedied"),
])
def test_reasons(text, reason):
    assert reason in reasons(text)


@pytest.mark.parametrize("text, reason", [
    ("The Ombudsman will not investigate, because the Council has said sorry and nothing more is to be gained.",
     "already_remedied"),
    ("We will not investigate as the Council apologised and waived the late fee.", "already_remedied"),
    ("We will not investigate because the matter has already been put right.", "already_remedied"),
    ("We decided not to investigate as the Council admitted its mistakes and made improvements.",
     "already_remedied"),
    ("We will not investigate because the Council has since backdated the application.", "already_remedied"),
    ("We will not investigate, since the Council's offer was enough to remedy any injustice.", "already_remedied"),
    ("We cannot investigate this complaint because the matter affects all or most people in the area.",
     "outside_jurisdiction"),
    ("We will not investigate because Mrs P has already exercised her right of appeal.", "outside_jurisdiction"),
    ("We will not investigate as Mr Q has appealed to the planning inspector.", "outside_jurisdiction"),
    ("We cannot investigate because the law bars us from looking at matters a tribunal has decided.",
     "outside_jurisdiction"),
    ("We cannot investigate how a housing association manages its tenancies.", "outside_jurisdiction"),
    ("The Ombudsman has no power to investigate the conduct of elections.", "outside_jurisdiction"),
])
def test_reason_phrasings(text, reason):
    assert reason in reasons(text)


@pytest.mark.parametrize("text", [
    "We will not investigate because Mr R could have appealed to the tribunal.",  # could appeal: not outside
    "We will not investigate because Ms S could have used her right of appeal.",
])
def test_an_appeal_not_made_is_not_outside_jurisdiction(text):
    assert "outside_jurisdiction" not in reasons(text)


def test_reasons_need_a_not_investigated_frame():
    text = ("Mr V appealed to the tribunal in 2022, which was late, and there was little evidence of fault. "
            "The Ombudsman found fault and the Council agreed to apologise.")
    assert reasons(text) == set()


def test_a_continuation_sentence_carries_the_reason():
    text = "We will not investigate Mrs U's complaint. This is because she could appeal to the Valuation Tribunal."
    assert reasons(text) == {"alternative_remedy"}


def test_reason_features_have_no_status():
    found = extract_reasons("We will not investigate because the complaint is late.")
    assert found and all(f.kind == "reason" and f.status is None for f in found)


# --- bad input ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_gives_nothing(text):
    assert extract(text) == []


@pytest.mark.parametrize("value", [None, 42, b"apology", ["We apologise"]])
def test_non_str_input_is_rejected(value):
    with pytest.raises(ValueError, match="needs a str"):
        extract(value)


def test_text_over_the_limit_is_rejected():
    with pytest.raises(ValueError, match="MAX_CHARS"):
        extract("a" * (MAX_CHARS + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.text(max_size=40),
    st.sampled_from(["<p>", "</div>", "&amp;", "<br/>", "£", "£1,2,3", "£.5", "APOLOGISE", "we will not investigate",
                     "agreed to pay £300", "\u200b", "\ufeff", "\U0001F600", "Ω", "\n", ";", "—", "wants"]),
), max_size=30).map(" ".join))
def test_any_text_is_read_without_error(text):
    found = extract(text)
    for f in found:
        assert 0 <= f.start <= f.end <= len(text)
        if f.kind == "remedy":
            assert f.type in REMEDY_TYPES and f.status in FEATURE_STATUSES
            assert f.amount_gbp is None or (f.type == "payment" and f.amount_gbp >= 0)
        else:
            assert f.kind == "reason" and f.type in REASON_TYPES and f.status is None
    assert [(f.start, f.end) for f in found] == sorted((f.start, f.end) for f in found)


# --- the spaCy component --------------------------------------------------------------------------------------------

def test_factory_on_a_blank_pipeline_matches_extract():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("remedy_features")
    text = "The Council has agreed to apologise. We will not investigate because the complaint is late."
    doc = nlp(text)
    assert doc._.remedy_features == extract(text)
    assert [span.label_ for span in doc.spans["remedy_features"]] == ["remedy:apology", "reason:late"]
    assert doc.spans["remedy_features"][0].text == "apologise"


def test_component_without_a_sentencizer_reads_the_text_as_one_sentence():
    nlp = spacy.blank("en")
    nlp.add_pipe("remedy_features")
    doc = nlp("The Council agreed to pay Mr A £90.")
    assert [(f.type, f.status, f.amount_gbp) for f in doc._.remedy_features] == [("payment", "recommended", 90.0)]


def test_shared_pipeline_is_built_once():
    assert X.get_nlp() is X.get_nlp()


def test_threads_get_the_same_results():
    texts = [f"The Council agreed to pay Mrs B £{n} and apologise. We will not investigate Mr C's complaint "
             f"because it is late." for n in range(100, 160)]
    expected = [extract(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(extract, texts)) == expected


# --- the pattern table ----------------------------------------------------------------------------------------------

def test_every_table_row_compiles():
    vocab = spacy.blank("en").vocab
    rules = [X.compile_rule(c, label, text, options, vocab) for c, label, text, options in X.table_rows()]
    assert len(rules) > 100
    assert {r.label for r in rules if r.category == "trigger"} == set(REMEDY_TYPES) - {"other"}
    assert {r.label for r in rules if r.category == "reason"} == set(REASON_TYPES) - {"other"}


@pytest.mark.parametrize("row", ["?optional first", "_ anything", "*3 gap", "re-assess the", "", "pay ||"])
def test_bad_rows_are_reported(row):
    with pytest.raises(X.PatternError):
        X.compile_rule("trigger", "payment", row, {}, spacy.blank("en").vocab)


def test_word_forms():
    forms = X.word_forms("apologise")
    assert {"apologise", "apologised", "apologises", "apologising", "apologize", "apologized"} <= set(forms)
    assert {"pay", "paid", "paying", "pays"} <= set(X.word_forms("pay"))
    assert {"reply", "replied", "replies"} <= set(X.word_forms("reply"))
    assert {"admitted", "admitting"} <= set(X.word_forms("admit"))  # consonant doubling
    assert {"referred", "stopped"} <= set(X.word_forms("refer")) | set(X.word_forms("stop"))


def test_match_end_handles_optional_repeats_and_gaps():
    vocab = spacy.blank("en").vocab
    rule = X.compile_rule("trigger", "payment", "~pay ?NAME ?NAME ?NAME £", {}, vocab)
    doc = spacy.blank("en")("pay Mrs X £5 ; pay the council tax £5")
    lowers = [vocab.strings[t.lower_] for t in doc]
    prefix, tail, _ = rule.split()
    assert X.match_end(tail, lowers, 1, len(doc)) == 4  # "pay Mrs X £"
    assert X.match_end(tail, lowers, 7, len(doc)) == -1  # "the council tax" are not names


# --- the scikit-learn transformer -------------------------------------------------------------------------------------

def test_transformer_columns_and_values():
    texts = ["The Council agreed to pay Mrs D £300 and apologise.",
             "We will not investigate because the complaint is late.",
             "Nothing relevant here."]
    model = RemedyFeatures().fit(texts)
    matrix = model.transform(texts)
    names = list(model.get_feature_names_out())
    assert matrix.shape == (3, len(names))
    dense = matrix.toarray()
    row = dict(zip(names, dense[0]))
    assert row["remedy:payment:recommended"] == 1.0 and row["remedy:apology:recommended"] == 1.0
    assert 0.5 < row["payment_amount_log"] < 1.0
    assert dict(zip(names, dense[1]))["reason:late"] == 1.0
    assert not dense[2].any()
    assert "remedy:refund:negated" in names and "reason:outside_jurisdiction" in names


def test_transformer_is_a_well_behaved_estimator():
    model = RemedyFeatures(include_amount=False)
    assert clone(model).get_params() == {"include_amount": False}
    fitted = pickle.loads(pickle.dumps(model.fit(["The Council apologised."])))
    assert "payment_amount_log" not in fitted.get_feature_names_out()
    assert np.array_equal(fitted.transform(["The Council apologised."]).toarray(),
                          model.transform(["The Council apologised."]).toarray())


@pytest.mark.parametrize("bad", ["a single string", [1, 2], None])
def test_transformer_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        RemedyFeatures().fit(bad)


def test_transform_before_fit_fails():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RemedyFeatures().transform(["text"])


@pytest.mark.parametrize("sentence", [
    "The Ombudsman recommended a review of the Council's action log.",
    "We recommended a review of the council's housing allocations strategy.",
])
def test_review_of_the_bodys_own_policy_is_a_procedure_review(sentence):
    found = [(f.type, f.status) for f in extract(sentence) if f.kind == "remedy"]
    assert ("procedure_review", "recommended") in found


def test_a_complainant_asking_for_a_policy_review_is_not_a_remedy():
    assert not [f for f in extract("Mr X wants a review of the Council's policy.") if f.kind == "remedy"]

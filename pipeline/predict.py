"""Predict outcomes with a trained model directory: load (verified) once, then predict from memory, from many threads.

``load(model_dir)`` checks the model file's SHA-256 and package version against the metadata before unpickling
(``pipeline.model.verified_load``), then warms the predictor up so later calls never touch the disk.

One prediction walks the fitted Pipeline by hand instead of calling ``model.predict_proba``, for speed and so the
explanation uses exactly the numbers the classifier saw:

1. the record's view sections are computed once, by the model's own ``view`` step (the leakage gate);
2. remedy features are extracted once from the view text and serve both the ``remedies`` columns and the returned
   ``features`` (the FeatureUnion would extract a second time);
3. each TF-IDF branch uses the fitted vectorizer's analyzer, vocabulary and idf without scikit-learn's per-call
   overhead (``FastTfidf``); character n-grams are counted word by word through a per-word cache (a ``char_wb``
   n-gram never crosses a space);
4. calibrated probabilities come from the model's classifier, the outcome from its decision rule (``predict``);
   evidence is the row x coefficients of the final LinearSVC for the predicted class
   (``pipeline.model.linear_parts``), mapped back to n-grams, phrases and their sentences.

``tests/test_predict.py`` checks that this path gives the same probabilities and outcomes as the fitted Pipeline.

Abstaining: ``needs_review`` is true when the predicted class's probability is under the model's
``review_threshold``, chosen on out-of-fold predictions by the training run (see the model card).

Output (``Prediction.to_dict()``): ``outcome``; ``probabilities`` for every class in OUTCOMES (0.0 for a class the model
never saw); ``features`` = {"remedies": [...], "reasons": [...]} (``Feature.to_dict()``) extracted from the view text
only, so a triage prediction never reports what the summary or findings say; ``evidence`` = up to EVIDENCE_TOP items,
{"kind": "ngram", "ngram" (the phrase as written), "ngrams" (the model's n-grams in it), "start", "end", "sentence",
"weight"} or {"kind": "feature", "feature" (a RemedyFeatures column), "start", "end", "sentence", "weight"}, where
weight is the summed contribution (tf-idf value x SVM coefficient) to the predicted class; ``needs_review``.
Offsets are character offsets into the view text: the record's view sections joined by newlines, in view order
(for the triage view, the complaint as given).

Limits: a text (or a record's view text) may have at most ``MAX_CHARS`` (1,000,000) characters.
Thread safety: the spaCy pipeline behind ``pipeline.features`` is a shared singleton and spaCy does not promise
thread safety, so extraction runs under one module lock; everything else is read-only on the fitted model.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import normalize

from pipeline.features import MAX_CHARS, RemedyFeatures, extract, extract_many
from pipeline.model import (
    MODEL_FILE, ModelError, PriorCorrectedClassifier, SectionText, linear_parts, read_metadata,
    resolve_model_dir, verified_load,
)
from pipeline.records import OUTCOMES, TEXT_FIELDS, Decision, Feature, Prediction, RecordError
from pipeline.views import VIEWS

EVIDENCE_TOP = 8            # evidence items returned per prediction
EVIDENCE_CANDIDATES = 16    # strongest readable columns merged into phrases (more would chain whole sentences)
SENTENCE_MAX_CHARS = 400    # an evidence sentence is clipped to this many characters around its n-gram
WORD_CACHE_MAX = 200_000    # per character-n-gram branch; cleared when full (bounds memory on hostile input)
BATCH = 256                 # records per extraction / matrix batch in predict_many
WARM_UP_TEXT = "The complainant says the Council did not reply to his complaint and wants it to apologise."

_SPACY_LOCK = threading.Lock()  # one shared spaCy pipeline in pipeline.features: one caller at a time


class PredictionError(ValueError):
    """The input cannot be predicted on; the message names the problem (and the item, for a batch)."""


# --- input checks -------------------------------------------------------------------------------------------------
def coerce_record(item: Any) -> Decision | str:
    """A record to predict on: a Decision, a contract dict (validated) or non-empty text; else PredictionError."""
    if isinstance(item, str):
        return _checked_text(item, "text")
    if isinstance(item, Decision):
        for name in (*TEXT_FIELDS, "text"):
            if isinstance(getattr(item, name), str):
                _checked_text(getattr(item, name), name, allow_empty=True)  # the view check names an empty view
        return item
    if isinstance(item, Mapping):
        for name in (*TEXT_FIELDS, "text"):
            if isinstance(item.get(name), str):
                _checked_text(item[name], name, allow_empty=True)
        try:
            return Decision.from_dict(item)
        except RecordError as exc:
            raise PredictionError(f"invalid record: {exc}") from None
    if isinstance(item, (list, tuple)):
        raise PredictionError(f"expected one record, got a {type(item).__name__}; use predict_many for several")
    kind = "null" if item is None else type(item).__name__
    raise PredictionError(f"expected a record (JSON object / Decision) or text, got {kind}")


def _checked_text(text: str, name: str, allow_empty: bool = False) -> str:
    if len(text) > MAX_CHARS:
        raise PredictionError(f"{name} is {len(text):,} characters; the limit is {MAX_CHARS:,}")
    if not allow_empty and not text.strip():
        raise PredictionError(f"{name} is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PredictionError(f"{name} is not valid Unicode ({exc.reason} at position {exc.start})") from None
    return text


# --- the fitted model, taken apart ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Branch:
    """One FeatureUnion branch: its columns in the full matrix and how to compute and explain them."""

    name: str
    kind: str                 # "words" | "chars" | "remedies" | "other"
    section: str              # the ViewSections key the branch reads ("_all" = the whole view text)
    transformer: Any          # the branch as fitted (a Pipeline or an estimator)
    last: Any                 # its final step (TfidfVectorizer, RemedyFeatures, ...)
    start: int
    stop: int
    weight: float | None
    names: np.ndarray         # output feature names, without the branch prefix


def _branches(model: Pipeline) -> list[Branch]:
    union = model.named_steps["features"]
    weights = union.transformer_weights or {}
    out, start = [], 0
    for name, transformer in union.transformer_list:
        if transformer in ("drop", None):
            continue
        steps = transformer.steps if isinstance(transformer, Pipeline) else [(name, transformer)]
        first, last = steps[0][1], steps[-1][1]
        section = first.section if isinstance(first, SectionText) else "_all"
        names = np.asarray(last.get_feature_names_out(), dtype=object)
        if isinstance(last, TfidfVectorizer):
            kind = "words" if last.analyzer == "word" else "chars"
        elif isinstance(last, RemedyFeatures):
            kind = "remedies"
        else:
            kind = "other"
        out.append(Branch(name, kind, section, transformer, last, start, start + len(names), weights.get(name), names))
        start += len(names)
    return out


class FastTfidf:
    """``TfidfVectorizer.transform`` of a fitted vectorizer without scikit-learn's per-call overhead.

    The same analyzer (``build_analyzer``), vocabulary and tf-idf arithmetic in the vectorizer's dtype, so the
    numbers are identical (``tests/test_predict.py`` compares them). For ``char_wb`` n-grams, which never cross
    whitespace, each word's columns are cached: a text costs a dictionary lookup per word.
    """

    def __init__(self, vectorizer: TfidfVectorizer):
        self.vectorizer = vectorizer
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_ if vectorizer.use_idf else None
        self.width = len(self.vocabulary)
        self.by_word = vectorizer.analyzer == "char_wb" and vectorizer.preprocessor is None \
            and vectorizer.strip_accents is None
        self.cache: dict[str, tuple[int, ...]] = {}

    @staticmethod
    def applies_to(vectorizer: Any) -> bool:
        return (isinstance(vectorizer, TfidfVectorizer) and vectorizer.input == "content"
                and vectorizer.analyzer in ("word", "char", "char_wb"))

    def _word_columns(self, word: str) -> tuple[int, ...]:
        columns = self.cache.get(word)
        if columns is None:
            vocabulary = self.vocabulary
            columns = tuple(vocabulary[g] for g in self.analyze(word) if g in vocabulary)
            if len(self.cache) >= WORD_CACHE_MAX:
                self.cache.clear()
            self.cache[word] = columns
        return columns

    def _columns(self, text: str) -> list[int]:
        found: list[int] = []
        if self.by_word:
            for word in text.split():
                found.extend(self._word_columns(word))
            return found
        vocabulary = self.vocabulary
        return [vocabulary[g] for g in self.analyze(text) if g in vocabulary]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        vec = self.vectorizer
        indptr, indices, counts = [0], [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for text in texts:
            columns, n = np.unique(np.asarray(self._columns(text), dtype=np.int64), return_counts=True)
            indices.append(columns)
            counts.append(n)
            indptr.append(indptr[-1] + len(columns))
        X = sparse.csr_matrix((np.concatenate(counts).astype(vec.dtype), np.concatenate(indices), indptr),
                              shape=(len(texts), self.width), dtype=vec.dtype)
        if vec.binary:
            X.data.fill(1)
        if vec.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if self.idf is not None:
            X.data *= self.idf[X.indices]
        if vec.norm is not None:
            X = normalize(X, norm=vec.norm, copy=False)
        return X


# --- evidence -----------------------------------------------------------------------------------------------------
_BOUNDARY = re.compile(r"[.!?]+(?=\s)|\n")
_NON_WORDS = re.compile(r"\W*")


@lru_cache(maxsize=50_000)
def _ngram_regex(ngram: str) -> re.Pattern:
    """Where a word n-gram occurs in text: its tokens, with only punctuation or 1-letter words between them
    (the default token pattern drops those)."""
    gap = r"\W+(?:\w\W+)*"
    return re.compile(r"\b" + gap.join(re.escape(token) for token in ngram.split(" ")) + r"\b", re.IGNORECASE)


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``text[start:end]``, clipped to SENTENCE_MAX_CHARS around it."""
    left = 0
    for match in _BOUNDARY.finditer(text, max(0, start - SENTENCE_MAX_CHARS), start):
        left = match.end()
    right_match = _BOUNDARY.search(text, end, end + SENTENCE_MAX_CHARS)
    right = right_match.end() if right_match else min(len(text), end + SENTENCE_MAX_CHARS)
    if start - left > SENTENCE_MAX_CHARS:
        left = start - SENTENCE_MAX_CHARS // 2
    return text[left:right].strip()


# --- the predictor ------------------------------------------------------------------------------------------------
class Predictor:
    """A loaded model: ``predict`` / ``predict_many`` from memory; safe to share between threads."""

    def __init__(self, model: Pipeline, metadata: Mapping[str, Any], model_dir: str | Path | None = None):
        self.model = model
        self.metadata = dict(metadata)
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.view: str = self.metadata.get("view") or model.named_steps["view"].view
        if self.view not in VIEWS:
            raise ModelError(f"model metadata names unknown view {self.view!r}")
        self.version: str = self.metadata.get("version", "unknown")
        # A model that does not say how sure it must be cannot vouch for any answer: review everything.
        self.review_threshold: float = float(self.metadata.get("review_threshold", 1.0))
        self.classifier = model.named_steps["classifier"]
        if not isinstance(self.classifier, PriorCorrectedClassifier):
            raise ModelError("model was saved by an older layout (no calibrated decision rule); retrain it")
        self.classes: list[str] = [str(c) for c in self.classifier.classes_]
        unknown = set(self.classes) - set(OUTCOMES)
        if unknown:
            raise ModelError(f"model predicts unknown classes {sorted(unknown)}")
        self._gate = model.named_steps["view"]
        self._branches = _branches(model)
        self._branch_starts = np.array([b.start for b in self._branches])
        self._readable = np.zeros(self._branches[-1].stop if self._branches else 0, dtype=bool)
        for branch in self._branches:  # columns an evidence item can name: word n-grams and extracted features
            self._readable[branch.start:branch.stop] = branch.kind in ("words", "remedies")
        self._tfidf = {b.name: FastTfidf(b.last) for b in self._branches if FastTfidf.applies_to(b.last)}
        coef, _, _ = linear_parts(model)
        self._coef = np.asarray(coef, dtype=np.float64)
        width = self._branches[-1].stop if self._branches else 0
        if self._coef.shape[1] != width:
            raise ModelError(f"classifier has {self._coef.shape[1]} coefficients for {width} features")

    # -- public
    def predict(self, record_or_text: Decision | Mapping[str, Any] | str) -> Prediction:
        """Outcome, probabilities for every class in OUTCOMES, features, evidence and ``needs_review``."""
        return self._predict_records([coerce_record(record_or_text)])[0]

    def predict_many(self, records: Iterable[Decision | Mapping[str, Any] | str]) -> list[Prediction]:
        """``predict`` for many records, batched (faster per record); a bad item fails the call, naming its index."""
        if isinstance(records, (str, bytes, Mapping, Decision)) or records is None:
            kind = "null" if records is None else type(records).__name__
            raise PredictionError(f"predict_many takes a list of records, got {kind}; use predict for one")
        try:
            items = list(records)
        except TypeError:
            raise PredictionError(f"predict_many takes a list of records, got {type(records).__name__}") from None
        coerced = [self._item(i, item) for i, item in enumerate(items)]
        out: list[Prediction] = []
        for start in range(0, len(coerced), BATCH):
            out += self._predict_records(coerced[start:start + BATCH], first_index=start)
        return out

    def info(self) -> dict[str, Any]:
        """What a client needs to know about the model (served by GET /health)."""
        return {
            "model_version": self.version,
            "view": self.view,
            "view_sections": list(VIEWS[self.view]),
            "classes": list(OUTCOMES),
            "trained_classes": list(self.classes),
            "review_threshold": self.review_threshold,
            "package_version": self.metadata.get("package_version"),
            "max_chars": MAX_CHARS,
        }

    # -- steps
    @staticmethod
    def _item(index: int, item: Any) -> Decision | str:
        try:
            return coerce_record(item)
        except PredictionError as exc:
            raise PredictionError(f"item {index}: {exc}") from None

    def _sections(self, record: Decision | str, index: int | None) -> dict[str, str]:
        where = "" if index is None else f"item {index}: "
        try:
            sections = self._gate.transform([record])[0]
        except ValueError as exc:
            raise PredictionError(f"{where}{exc}") from None
        if not sections.get("_all", "").strip():
            needed = " or ".join(VIEWS[self.view])
            raise PredictionError(f"{where}the {self.view} view has no text: the record needs a non-empty {needed}")
        if len(sections["_all"]) > MAX_CHARS:
            raise PredictionError(f"{where}the {self.view} view text is {len(sections['_all']):,} characters; "
                                  f"the limit is {MAX_CHARS:,}")
        return sections

    def _predict_records(self, records: Sequence[Decision | str], first_index: int | None = None) -> list[Prediction]:
        indexed = first_index is not None
        sections = [self._sections(r, first_index + i if indexed else None) for i, r in enumerate(records)]
        texts = [s["_all"] for s in sections]
        with _SPACY_LOCK:
            found = [extract(texts[0])] if len(texts) == 1 else list(extract_many(texts))
        X = self._matrix(sections, found)
        raw = self.classifier.predict_proba(X)
        chosen = self._decide(raw)
        return [self._prediction(raw[i], chosen[i], X.getrow(i), sections[i], found[i]) for i in range(len(records))]

    def _decide(self, raw: np.ndarray) -> list[int]:
        """Column of the predicted class per row, by the classifier's own decision rule (not always the argmax)."""
        return [self.classes.index(str(c)) for c in self.classifier.decide(raw)]

    def _matrix(self, sections: list[dict[str, str]], found: list[list[Feature]]) -> sparse.csr_matrix:
        blocks = []
        for branch in self._branches:
            if branch.kind == "remedies":
                block = branch.last.rows_from_features(found)
            elif branch.name in self._tfidf:
                block = self._tfidf[branch.name].transform([s.get(branch.section, "") for s in sections])
            elif branch.kind in ("words", "chars"):  # a vectorizer FastTfidf does not cover: as fitted
                block = branch.transformer.transform(sections)
            else:  # unknown branch: run it as fitted (it may use spaCy)
                with _SPACY_LOCK:
                    block = branch.transformer.transform(sections)
            if branch.weight is not None:
                block = block * branch.weight
            blocks.append(sparse.csr_matrix(block))
        return sparse.hstack(blocks, format="csr")

    def _prediction(self, raw: np.ndarray, best: int, row: sparse.csr_matrix, sections: dict[str, str],
                    found: list[Feature]) -> Prediction:
        probabilities = {c: 0.0 for c in OUTCOMES}
        for cls, p in zip(self.classes, raw):
            probabilities[cls] = float(p)
        return Prediction(
            outcome=self.classes[best],
            probabilities=probabilities,
            features={
                "remedies": [f.to_dict() for f in found if f.kind == "remedy"],
                "reasons": [f.to_dict() for f in found if f.kind == "reason"],
            },
            evidence=self._evidence(best, row, sections, found),
            needs_review=bool(raw[best] < self.review_threshold),
        )

    def _class_weights(self, best: int) -> np.ndarray:
        return self._coef[best]

    def _evidence(self, best: int, row: sparse.csr_matrix, sections: dict[str, str],
                  found: list[Feature]) -> list[dict[str, Any]]:
        """The phrases and extracted features that pushed the predicted class most, with their sentences.

        Of the readable columns with the largest contributions (word n-grams, extracted features; character
        n-grams have no readable form), each word n-gram is located in the view text; n-grams that overlap or touch
        ("does not", "not show", "show the remedy") become one phrase with their contributions summed, so the list
        names distinct reasons rather than fragments of one. The heaviest EVIDENCE_TOP items are returned.
        """
        text = sections["_all"]
        readable = self._readable[row.indices]
        columns = row.indices[readable]
        contributions = row.data[readable] * self._class_weights(best)[columns]
        positive = contributions > 0
        columns, contributions = columns[positive], contributions[positive]
        if len(columns) > EVIDENCE_CANDIDATES:
            top = np.argpartition(-contributions, EVIDENCE_CANDIDATES)[:EVIDENCE_CANDIDATES]
            columns, contributions = columns[top], contributions[top]
        owners = np.searchsorted(self._branch_starts, columns, side="right") - 1
        locators: dict[str, Callable[[str], tuple[int, int] | None]] = {}
        spans: list[Phrase] = []
        features: dict[str, float] = {}
        for column, weight, owner in zip(columns.tolist(), contributions.tolist(), owners.tolist()):
            branch = self._branches[owner]
            name = str(branch.names[column - branch.start])
            if branch.kind == "remedies":
                features[name] = features.get(name, 0.0) + weight
                continue
            if branch.name not in locators:
                locators[branch.name] = ngram_locator(branch.last, sections, branch.section)
            span = locators[branch.name](name)
            if span is not None:
                spans.append(Phrase(span[0], span[1], [name], weight))
        ranked = sorted([*merged_phrases(spans, text), *features.items()],
                        key=lambda item: -(item.weight if isinstance(item, Phrase) else item[1]))[:EVIDENCE_TOP]
        return [item.to_dict(text) if isinstance(item, Phrase) else _feature_item(*item, found) for item in ranked]


@dataclass
class Phrase:
    """A stretch of the view text covered by one or more contributing word n-grams."""

    start: int
    end: int
    ngrams: list[str]
    weight: float

    def to_dict(self, text: str) -> dict[str, Any]:
        return {"kind": "ngram", "ngram": text[self.start:self.end], "ngrams": self.ngrams, "start": self.start,
                "end": self.end, "sentence": sentence_around(text, self.start, self.end),
                "weight": round(self.weight, 6)}


def merged_phrases(spans: list[Phrase], text: str) -> list[Phrase]:
    """Join spans of ``text`` that overlap or touch (only non-word characters between): one sweep by start."""
    out: list[Phrase] = []
    for span in sorted(spans, key=lambda p: (p.start, -p.end)):
        last = out[-1] if out else None
        if last is not None and (span.start <= last.end or _NON_WORDS.fullmatch(text, last.end, span.start)):
            last.end = max(last.end, span.end)
            last.weight += span.weight
            last.ngrams += [n for n in span.ngrams if n not in last.ngrams]
        else:
            out.append(Phrase(span.start, span.end, list(span.ngrams), span.weight))
    return out


def ngram_locator(vectorizer: Any, sections: Mapping[str, str],
                  section: str) -> Callable[[str], tuple[int, int] | None]:
    """A function: word n-gram -> (start, end) of its first occurrence in ``section``, as view-text offsets.

    Uses the vectorizer's own token pattern, so an n-gram is found exactly where the vectorizer counted it;
    vectorizers with custom tokenization fall back to a pattern search.
    """
    text = sections["_all"]
    part = text if section == "_all" else sections.get(section, "")
    offset = 0 if section == "_all" else text.find(part) if part else -1
    if offset < 0:
        return lambda ngram: None
    tokens = _tokens(vectorizer, part)
    if tokens is None:
        def search(ngram: str) -> tuple[int, int] | None:
            match = _ngram_regex(ngram).search(part)
            return (offset + match.start(), offset + match.end()) if match else None
        return search
    first: dict[str, list[int]] = {}
    for i, (word, _, _) in enumerate(tokens):
        first.setdefault(word, []).append(i)

    def find(ngram: str) -> tuple[int, int] | None:
        words = ngram.split(" ")
        for i in first.get(words[0], ()):
            if [t[0] for t in tokens[i:i + len(words)]] == words:
                return offset + tokens[i][1], offset + tokens[i + len(words) - 1][2]
        return None
    return find


def _tokens(vectorizer: Any, text: str) -> list[tuple[str, int, int]] | None:
    """(token, start, end) as the vectorizer's default word analyzer tokenizes ``text``; None if it is customised."""
    plain = (isinstance(vectorizer, TfidfVectorizer) and vectorizer.analyzer == "word" and vectorizer.tokenizer is None
             and vectorizer.preprocessor is None and vectorizer.strip_accents is None and not vectorizer.stop_words)
    lowered = text.lower() if plain and vectorizer.lowercase else text
    pattern = re.compile(vectorizer.token_pattern) if plain else None
    if pattern is None or len(lowered) != len(text) or pattern.groups > 1:
        return None
    group = pattern.groups  # 1: the tokenizer keeps the group, 0: the whole match
    return [(m.group(group), m.start(group), m.end(group)) for m in pattern.finditer(lowered)]


def _feature_item(name: str, weight: float, found: list[Feature]) -> dict[str, Any]:
    feature = _feature_behind(name, found)
    item: dict[str, Any] = {"kind": "feature", "feature": name, "sentence": None}
    if feature is not None:
        item.update(start=feature.start, end=feature.end, sentence=feature.sentence)
    item["weight"] = round(weight, 6)
    return item


def _feature_behind(name: str, found: list[Feature]) -> Feature | None:
    """The extracted feature behind a RemedyFeatures column ("remedy:payment:recommended", "reason:late", ...)."""
    if name == "payment_amount_log":
        paid = [f for f in found if f.type == "payment" and f.amount_gbp is not None and f.status != "negated"]
        return max(paid, key=lambda f: f.amount_gbp) if paid else None
    kind, *rest = name.split(":")
    for f in found:
        if f.kind == kind == "remedy" and [f.type, f.status] == rest:
            return f
        if f.kind == kind == "reason" and [f.type] == rest:
            return f
    return None


# --- loading ------------------------------------------------------------------------------------------------------
def load(model_dir: str | Path) -> Predictor:
    """Verify (SHA-256, package version) and load a model directory (or a registry's ``latest``), warmed up.

    Raises ModelError (a ValueError) naming the problem: missing directory or file, changed file, incompatible
    package version.
    """
    model_dir = resolve_model_dir(model_dir)
    metadata = read_metadata(model_dir)
    model = verified_load(model_dir, MODEL_FILE)
    if not isinstance(model, Pipeline) or not {"view", "features", "classifier"} <= set(model.named_steps):
        raise ModelError(f"{model_dir / MODEL_FILE}: not an outcome model (expected view/features/classifier steps)")
    predictor = Predictor(model, metadata, model_dir)
    predictor.predict(WARM_UP_TEXT)  # builds the spaCy pipeline and imports the parser now, not on the first request
    return predictor


__all__ = ["EVIDENCE_TOP", "MAX_CHARS", "PredictionError", "Predictor", "coerce_record", "load"]

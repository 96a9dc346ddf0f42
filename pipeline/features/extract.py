"""Find remedies and not-investigated reasons in decision text with a rule-based spaCy component.

Why rules on a blank pipeline: no statistical parser is installed, and LGSCO writes remedies and reasons in a small
set of stock phrasings ("has agreed to apologise", "we will not investigate ... because"). All phrasings live in
the data table ``patterns.py``; this module compiles the table and applies a few general rules:

1. A remedy word ("apologise", "£300 for her distress") is a *trigger*; a *blocker* overlapping it ("direct
   payments", "Mr X paid") cancels it.
2. Its status comes from *cues* in its clause (clauses end at *barriers*: ";", "because", ", which" ...). A
   complainant's wish ("Mr X wants ...") governs the rest of its clause and drops the mention; otherwise a cue right
   before the trigger wins ("agreed to", "did not", "had already"); otherwise a past-tense trigger ("apologised",
   "paid") is already done; otherwise the nearest earlier cue, then a cue just after, then the type's default, then
   the status of a listed neighbour ("an apology, a payment and a reminder to staff are a suitable remedy").
   A modal ("should") inside the complainant's reported speech ("Mr X says the Council should ...") is a wish.
3. A reason phrase counts only after a not-investigated *frame* ("will not investigate", "declined to"), to the end
   of that sentence or of the next one if it continues it ("This is because ...").

Speed: spaCy's token ``Matcher`` costs about 0.1 µs per pattern per token, so the ~600 table rows would read some
30 KB/s. Instead a ``PhraseMatcher`` finds the *anchor* words that start trigger and frame rows (a hash lookup per
token, however many phrases), each row is checked from its anchor on the token ``LOWER`` hashes, and the context
rows (cues, barriers, blockers, reasons) are only tried in the sentences that need them.
"""
from __future__ import annotations

import bisect
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import spacy
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from spacy.attrs import LOWER, SENT_START
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from pipeline.features import patterns as P
from pipeline.records import FEATURE_STATUSES, REASON_TYPES, REMEDY_TYPES, Feature

MAX_CHARS = 1_000_000
COMPONENT_NAME = "remedy_features"
SPAN_KEY = "remedy_features"
TEXT_KEY = "remedy_features_text"  # doc.user_data key: the raw text, so the component need not rebuild it
SENTENCE_PUNCT = [".", "!", "?", "\n", "\n\n", "\n\n\n", " \n", "\n ", " \n\n", "\n\n ", "\r\n", "\n\r\n"]
STATUS_PRIORITY = ("negated", "background", "recommended", "already_by_body")  # tie-break between equal cues
PRESENT = ("already_by_body", "recommended")

if not Doc.has_extension("remedy_features"):
    Doc.set_extension("remedy_features", default=None)


class ExtractionError(ValueError):
    """The input cannot be read as decision text; the message says why."""


class PatternError(ValueError):
    """A row of the pattern table cannot be compiled; the message quotes the row."""


# --- compiling the table ---------------------------------------------------------------------------------------------

def word_forms(lemma: str) -> list[str]:
    """Regular English inflections of ``lemma`` (plus -ise/-ize spellings and IRREGULAR_FORMS).

    A cheap stand-in for a lemmatizer (blank spaCy has none); over-generating forms is harmless for matching.
    """
    lemma = lemma.lower()
    bases = {lemma} | ({lemma.replace("ise", "ize")} if "ise" in lemma else set())
    forms: set[str] = set()
    for base in bases:
        forms.add(base)
        forms.update(P.IRREGULAR_FORMS.get(base, ()))
        if base.endswith("e"):
            forms.update({base + "s", base + "d", base[:-1] + "ing"})
        elif base.endswith("y") and len(base) > 2 and base[-2] not in "aeiou":
            forms.update({base[:-1] + "ies", base[:-1] + "ied", base + "ing"})
        elif base.endswith(("s", "sh", "ch", "x", "z")):
            forms.update({base + "es", base + "ed", base + "ing"})
        else:
            forms.update({base + "s", base + "ed", base + "ing"})
        if _doubles_final_consonant(base):  # admit -> admitted, stop -> stopping, refer -> referred
            forms.update({base + base[-1] + "ed", base + base[-1] + "ing"})
    return sorted(forms)


def _doubles_final_consonant(word: str) -> bool:
    """Does ``word`` end consonant-vowel-consonant (admit, stop, refer)? Such verbs often double the consonant
    before -ed/-ing; a wrong guess (visitted) only adds a form no text contains."""
    vowels = "aeiou"
    return (len(word) >= 3 and word[-1] not in vowels + "wxy" and word[-2] in vowels
            and word[-3] not in vowels)


def spec_words(spec: str) -> list[str]:
    """The words one token spec stands for: ``a|~b|NAME`` -> ["a", "b", "bs", "bed", ..., <NAME's words>]."""
    words: set[str] = set()
    for alt in spec.split("|"):
        if not alt:
            continue
        if alt.startswith("~"):
            words.update(word_forms(alt[1:]))
        elif alt in P.TOKEN_CLASSES:
            words.update(P.TOKEN_CLASSES[alt])
        else:
            words.add(alt.lower())
    words |= {w.replace("'", "\u2019") for w in words if "'" in w}
    return sorted(words)


FIRST_PASS = ("trigger", "frame")  # read everywhere; the other categories only near what these found
REMEDY_CONTEXT = ("blocker", "cue", "barrier")

# Node kinds of a compiled row.
TOK, NOT, ANY, GAP, REP = "tok", "not", "any", "gap", "rep"  # REP: up to max_gap tokens from ``words``


@dataclass(frozen=True, slots=True)
class Node:
    kind: str
    words: frozenset = frozenset()  # LOWER hashes
    optional: bool = False
    max_gap: int = 0


@dataclass(frozen=True)
class Rule:
    category: str  # trigger, blocker, cue, barrier, frame, reason, reason_blocker
    label: str
    text: str
    anchor: tuple[str, ...]  # words of the first token
    rest: tuple[Node, ...]  # nodes after the anchor
    options: dict = field(default_factory=dict, hash=False, compare=False)

    def split(self) -> tuple[tuple[frozenset, ...], tuple[Node, ...], tuple[int, frozenset] | None]:
        """(word sets of the required words right after the anchor, the nodes after those, a look-ahead test):
        the prefix is checked with a plain loop, only the tail needs the NFA, and the look-ahead (a required word
        must occur within the next few tokens) skips most NFA runs."""
        k = 0
        while k < len(self.rest) and self.rest[k].kind == TOK and not self.rest[k].optional:
            k += 1
        tail = self.rest[k:]
        skip = 0
        for node in tail:
            if node.kind == TOK and not node.optional:
                return tuple(n.words for n in self.rest[:k]), tail, (skip, node.words)
            if node.kind == NOT and not node.optional:
                break
            skip += node.max_gap if node.kind in (GAP, REP) else 1
        return tuple(n.words for n in self.rest[:k]), tail, None


def compile_rule(category: str, label: str, text: str, options: dict, vocab: Vocab) -> Rule:
    """Compile one table row (mini-language in ``patterns.py``); raises PatternError naming the row."""
    specs = text.split()
    if not specs:
        raise PatternError(f"empty pattern in {category}:{label}")
    first = specs[0]
    if first.startswith(("?", "!", "*")) or first == "_":
        raise PatternError(f"pattern {text!r} ({category}:{label}) must start with a required word")
    anchor = tuple(spec_words(first))
    nodes = _merge_repeats([_compile_spec(spec, text, vocab) for spec in specs[1:]])
    for word in anchor:
        _check_single_token(word, text, vocab)
    return Rule(category, label, text, anchor, tuple(nodes), dict(options))


def _merge_repeats(nodes: list[Node]) -> list[Node]:
    """"?NAME ?NAME ?NAME" -> one node "0 to 3 NAME words"; "?_ ?_" -> a gap of 2: same matches, fewer NFA steps."""
    out: list[Node] = []
    for node in nodes:
        last = out[-1] if out else None
        if node.optional and node.kind in (TOK, ANY) and last is not None:
            if node.kind == ANY and last.kind == GAP or (node.kind == ANY and last.kind == ANY and last.optional):
                out[-1] = Node(GAP, max_gap=(last.max_gap if last.kind == GAP else 1) + 1)
                continue
            if node.kind == TOK and (last.kind == REP and last.words == node.words
                                     or last.kind == TOK and last.optional and last.words == node.words):
                out[-1] = Node(REP, node.words, max_gap=(last.max_gap if last.kind == REP else 1) + 1)
                continue
        out.append(node)
    return out


def _compile_spec(spec: str, text: str, vocab: Vocab) -> Node:
    if spec.startswith("*") and spec[1:].isdigit():
        return Node(GAP, max_gap=int(spec[1:]))
    optional = spec.startswith("?") and len(spec) > 1
    if optional:
        spec = spec[1:]
    if spec == "_":
        return Node(ANY, optional=optional)
    kind = TOK
    if spec.startswith("!") and len(spec) > 1:
        kind, spec = NOT, spec[1:]
    words = spec_words(spec)
    if not words:
        raise PatternError(f"pattern {text!r} has an empty token spec")
    for word in words:
        _check_single_token(word, text, vocab)
    return Node(kind, frozenset(vocab.strings.add(w) for w in words), optional)


_SPLITTER = spacy.blank("en").tokenizer  # only used while compiling, to reject words the tokenizer splits


def _check_single_token(word: str, text: str, vocab: Vocab) -> None:
    if len(_SPLITTER(word)) != 1:
        raise PatternError(f"{word!r} in pattern {text!r} is split by the tokenizer; write its parts as tokens")


def table_rows() -> Iterator[tuple[str, str, str, dict]]:
    """Every row of the table as (category, label, pattern, options)."""
    tables = [
        ("trigger", P.REMEDY_PATTERNS), ("blocker", P.REMEDY_BLOCKERS), ("cue", P.STATUS_CUES),
        ("barrier", {"barrier": P.CLAUSE_BARRIERS}), ("frame", {"frame": P.NOT_INVESTIGATED_FRAMES}),
        ("reason", P.REASON_PATTERNS), ("reason_blocker", P.REASON_BLOCKERS),
        ("continuation", {"continuation": P.REASON_CONTINUATIONS}),
    ]
    for category, table in tables:
        for label, rows in table.items():
            for row in rows:
                pattern, options = (row, {}) if isinstance(row, str) else row
                yield category, label, pattern, options


def match_end(nodes: tuple[Node, ...], lowers: list[int], start: int, limit: int) -> int:
    """End of the longest match of ``nodes`` from token ``start`` (before ``limit``), or -1.

    A tiny NFA: the set of token positions reachable after each node. Rows are short, so this stays cheap.
    """
    positions = {start}
    for node in nodes:
        reached: set[int] = set()
        kind = node.kind
        for p in positions:
            if kind == GAP:
                reached.update(range(p, min(p + node.max_gap, limit) + 1))
                continue
            if kind == REP:
                reached.add(p)
                words, q = node.words, p
                for _ in range(node.max_gap):
                    if q >= limit or lowers[q] not in words:
                        break
                    q += 1
                    reached.add(q)
                continue
            if p < limit:
                word = lowers[p]
                if kind == ANY or (word in node.words) == (kind == TOK):
                    reached.add(p + 1)
            if node.optional:
                reached.add(p)
        if not reached:
            return -1
        positions = reached
    return max(positions)


@dataclass(slots=True)
class Hit:
    category: str
    label: str
    start: int
    end: int
    options: dict


# --- the component ---------------------------------------------------------------------------------------------------

class RemedyFeatureComponent:
    """spaCy component: sets ``doc._.remedy_features`` (list[Feature]) and ``doc.spans["remedy_features"]``."""

    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.rules = [compile_rule(c, label, text, opts, vocab) for c, label, text, opts in table_rows()]
        # anchor word hash -> [(category, label, prefix, tail, look-ahead, options)], one index per matching pass
        self.first_pass: dict[int, list[tuple]] = {}
        self.remedy_context: dict[int, list[tuple]] = {}  # second pass, in sentences with a remedy trigger
        self.reason_context: dict[int, list[tuple]] = {}  # second pass, near a not-investigated frame
        self.anchors = PhraseMatcher(vocab, attr="LOWER")  # finds the first-pass anchor words
        anchor_words: set[str] = set()
        for rule in self.rules:
            index = (self.first_pass if rule.category in FIRST_PASS else
                     self.remedy_context if rule.category in REMEDY_CONTEXT else self.reason_context)
            for word in rule.anchor:
                key = vocab.strings.add(word)
                index.setdefault(key, []).append((rule.category, rule.label, *rule.split(), rule.options))
                if index is self.first_pass:
                    anchor_words.add(word)
        for word in sorted(anchor_words):  # one key per word: the match id is then the word's LOWER hash
            self.anchors.add(word, [Doc(vocab, words=[word])])
        self.past_forms = frozenset(vocab.strings.add(w) for w in P.PAST_IRREGULAR)
        self.amount_regex = re.compile(P.AMOUNT_REGEX, re.IGNORECASE)

    # -- spaCy entry point
    def __call__(self, doc: Doc) -> Doc:
        features = self.find(doc) if len(doc) else []
        doc._.remedy_features = features
        spans = (doc.char_span(f.start, f.end, label=f"{f.kind}:{f.type}", alignment_mode="expand")
                 for f in features)
        doc.spans[SPAN_KEY] = [span for span in spans if span is not None]
        return doc

    def find(self, doc: Doc) -> list[Feature]:
        ctx = _DocContext(doc)
        first = ctx.anchors((int(key), start) for key, start, _ in self.anchors(doc))
        found = ctx.hits(first, self.first_pass)
        triggers, frames = found.get("trigger", []), found.get("frame", [])
        if not triggers and not frames:
            return []
        # second pass: context words, only in the sentences that need them
        if triggers:
            sentences = sorted({ctx.sentence_of(t.start) for t in triggers})
            found.update(ctx.hits(ctx.words_in(sentences, self.remedy_context), self.remedy_context))
        if frames:
            sentences = sorted({k + d for k in (ctx.sentence_of(f.start) for f in frames) for d in (0, 1)})
            found.update(ctx.hits(ctx.words_in(sentences, self.reason_context), self.reason_context))
        features: list[Feature] = []
        if triggers:
            context = {cat: found.get(cat, []) for cat in ("blocker", "cue", "barrier")}
            features += self._remedies(ctx, triggers, context)
        if frames:
            zones = self._reason_zones(ctx, frames, found.get("continuation", []))
            in_zone = lambda h: any(a <= h.start < b for a, b in zones)  # noqa: E731
            reasons = [h for h in found.get("reason", []) if in_zone(h)]
            blockers = [h for h in found.get("reason_blocker", []) if in_zone(h)]
            features += self._reasons(ctx, _unblocked(reasons, blockers))
        features.sort(key=lambda f: (f.start, f.end, f.kind, f.type))
        return features

    # -- remedies
    def _remedies(self, ctx: "_DocContext", triggers: list[Hit], context: dict[str, list[Hit]]) -> list[Feature]:
        triggers = _resolve_overlaps(_merge_same_type(_unblocked(triggers, context["blocker"])))
        cues = _longest_per_position(context["cue"])
        barriers = sorted({h.start for h in context["barrier"]})
        hard = sorted({h.start for h in context["barrier"] if h.options.get("hard")})
        resolved: list[tuple[Hit, tuple[int, int], tuple[int, int], str | None, str]] = []
        for i, trig in enumerate(triggers):
            sent = ctx.sentence_bounds(trig.start)
            clause = _clause(trig, barriers, *sent)
            if trig.options.get("weak") and _governed_by_other_trigger(trig, triggers[:i], clause):
                continue
            status, source = self._status(ctx, trig, clause, cues)
            if status == "recommended" and source == "modal" and _in_reported_speech(trig, sent, cues, hard):
                status = "background"  # "Mr X says the Council should apologise": his view, not a remedy
            resolved.append((trig, sent, clause, status, source))
        features: list[Feature] = []
        for k, (trig, sent, clause, status, source) in enumerate(resolved):
            if source == "none":
                status = _status_of_neighbour(resolved, k)
            elif source == "past" and trig.label in P.PAST_NEEDS_CONTEXT and not _has_other_remedy(resolved, k):
                status = None
            if status not in FEATURE_STATUSES:
                continue
            next_start = resolved[k + 1][0].start if k + 1 < len(resolved) else sent[1]
            features.append(self._feature(ctx, trig, status, sent, clause, next_start))
        return _dedupe(features)

    def _status(self, ctx: "_DocContext", trig: Hit, clause: tuple[int, int],
                cues: list[Hit]) -> tuple[str | None, str]:
        """(status, how it was decided): cue, past, after, default or none (left to the neighbours)."""
        clause_start, clause_end = clause
        before = [c for c in cues if clause_start <= c.start and c.end <= trig.start and "after_only" not in c.options]
        scoped = [c for c in before if c.options.get("scope") == "clause"]
        if scoped:  # "Mr X wants an apology, compensation and ...": the wish governs the rest of its clause
            return scoped[-1].label, "cue"
        nearest = max(before, key=lambda c: (c.end, c.end - c.start), default=None)
        if nearest is not None and trig.start - nearest.end <= nearest.options.get("reach", P.ADJACENT_WINDOW):
            return nearest.label, _cue_source(nearest)
        if self._is_past(ctx.lowers[trig.start], ctx.doc, trig.start):
            return "already_by_body", "past"
        usable = [c for c in before if "reach" not in c.options]
        nearest = max(usable, key=lambda c: (c.end, c.end - c.start), default=None)
        if nearest is not None:
            return nearest.label, _cue_source(nearest)
        window_end = min(clause_end, trig.end + P.FOLLOWING_WINDOW)
        after = [c for c in cues if trig.end <= c.start < window_end and c.label in P.FOLLOWING_CUE_STATUSES
                 and "reach" not in c.options]
        if after:
            return after[0].label, "after"
        default = trig.options.get("status", P.DEFAULT_STATUS.get(trig.label))
        return (default, "default") if default else (None, "none")

    def _is_past(self, lower: int, doc: Doc, i: int) -> bool:
        if lower in self.past_forms:
            return True
        text = doc[i].lower_
        return len(text) > 4 and text.endswith(P.PAST_SUFFIXES)

    def _feature(self, ctx: "_DocContext", trig: Hit, status: str, sent: tuple[int, int], clause: tuple[int, int],
                 next_start: int) -> Feature:
        doc = ctx.doc
        start_char, end_char = ctx.char_start(trig.start), ctx.char_end(trig.end - 1)
        sentence = ctx.sentence_text(sent)
        if trig.label != "payment" or status == "negated":
            return Feature(trig.label, status, start_char, end_char, sentence)
        stop = min(clause[1], max(next_start, trig.end))
        reach_end = min(ctx.char_end(stop - 1), end_char + P.AMOUNT_REACH_AFTER)
        match = self.amount_regex.search(ctx.text, start_char, max(reach_end, end_char))
        if match is None:
            back_from = max(ctx.char_start(clause[0]), start_char - P.AMOUNT_REACH_BEFORE)
            match = _last(self.amount_regex.finditer(ctx.text, back_from, start_char + 1))
        if match is None:
            return Feature("payment", status, start_char, end_char, sentence)
        return Feature("payment", status, min(start_char, match.start()), max(end_char, match.end()), sentence,
                       amount_gbp=parse_amount(match))

    # -- reasons
    def _reason_zones(self, ctx: "_DocContext", frames: list[Hit], continuations: list[Hit]) -> list[tuple[int, int]]:
        """Where reasons are read: from each not-investigated frame to the end of its sentence (from the sentence
        start if it opens with "Because"/"As"), and on through the next sentence when that one continues it
        ("We will not investigate. This is because ...")."""
        continued = {h.start for h in continuations}
        zones = []
        for frame in frames:
            start, end = ctx.sentence_bounds(frame.start)
            if end in continued:
                end = ctx.sentence_bounds(end)[1]
            # "Because the complaint is late, we will not investigate": a sentence that opens with its reason
            zones.append((start if start in continued else frame.start, end))
        return zones

    def _reasons(self, ctx: "_DocContext", reasons: list[Hit]) -> list[Feature]:
        features = []
        for hit in _merge_same_type(reasons):  # "the complaint is late" and "is late" are one mention
            sent = ctx.sentence_bounds(hit.start)
            features.append(Feature(hit.label, None, ctx.char_start(hit.start), ctx.char_end(hit.end - 1),
                                    ctx.sentence_text(sent), kind="reason"))
        return features


class _DocContext:
    """Per-document arrays the matcher needs: token LOWER hashes and sentence starts."""

    def __init__(self, doc: Doc):
        self.doc = doc
        # Doc.text re-joins every token on each access; extract() leaves the raw text in user_data instead
        self.text = doc.user_data.get(TEXT_KEY) or doc.text
        self.lowers: list[int] = doc.to_array(LOWER).tolist()
        flags = doc.to_array(SENT_START)  # 1 = starts a sentence, -1 = does not, 0 = unknown (no sentencizer ran)
        starts = np.flatnonzero(flags == 1).tolist()
        self.sent_starts = starts if starts and starts[0] == 0 else [0] + starts

    def sentence_of(self, i: int) -> int:
        return bisect.bisect_right(self.sent_starts, i) - 1

    def sentence_bounds(self, i: int) -> tuple[int, int]:
        k = self.sentence_of(i)
        end = self.sent_starts[k + 1] if k + 1 < len(self.sent_starts) else len(self.doc)
        return self.sent_starts[k], end

    def sentence_text(self, bounds: tuple[int, int]) -> str:
        return self.text[self.char_start(bounds[0]):self.char_end(bounds[1] - 1)].strip()

    def char_start(self, i: int) -> int:
        return self.doc[i].idx

    def char_end(self, i: int) -> int:
        token = self.doc[i]
        return token.idx + len(token)

    def words_in(self, sentences: list[int], index: dict[int, list[tuple]]) -> list[tuple[int, int, int, int]]:
        """Anchors (word hash, token, sentence, sentence end) in these sentences for the rows of ``index``."""
        lowers, starts, n = self.lowers, self.sent_starts, len(self.lowers)
        out = []
        for k in sentences:
            if k >= len(starts):
                continue
            begin, end = starts[k], (starts[k + 1] if k + 1 < len(starts) else n)
            out.extend((lowers[i], i, k, end) for i in range(begin, end) if lowers[i] in index)
        return out

    def anchors(self, matches: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
        """(word hash, token, sentence number, sentence end) for each anchor (word hash, token)."""
        out = []
        n_sents, n_tokens = len(self.sent_starts), len(self.doc)
        for key, start in matches:
            k = bisect.bisect_right(self.sent_starts, start) - 1
            out.append((key, start, k, self.sent_starts[k + 1] if k + 1 < n_sents else n_tokens))
        return out

    def hits(self, anchors: list[tuple[int, int, int, int]], index: dict[int, list[tuple]]) -> dict[str, list[Hit]]:
        """Matches of the rows in ``index`` at each anchor, by category."""
        out: dict[str, list[Hit]] = {}
        lowers = self.lowers
        for key, start, sent, limit in anchors:
            rules = index.get(key)
            if not rules:
                continue
            for category, label, prefix, tail, ahead, options in rules:
                end = start + 1
                for words in prefix:  # the required words after the anchor: most rows fail here
                    if end >= limit or lowers[end] not in words:
                        end = -1
                        break
                    end += 1
                if end > 0 and tail:
                    if ahead is not None:  # the tail's first required word must come within `skip` tokens
                        skip, words = ahead
                        j, stop = end, end + skip + 1
                        if stop > limit:
                            stop = limit
                        while j < stop and lowers[j] not in words:
                            j += 1
                        if j >= stop:
                            continue
                    end = match_end(tail, lowers, end, limit)
                if end > start:
                    out.setdefault(category, []).append(Hit(category, label, start, end, options))
        for hits in out.values():
            hits.sort(key=lambda h: (h.start, -h.end))
        return out


def _clause(trig: Hit, barriers: list[int], sent_start: int, sent_end: int) -> tuple[int, int]:
    """Token range of the clause around a trigger: between the barriers before and after it."""
    k = bisect.bisect_right(barriers, trig.start) - 1
    start = max(sent_start, barriers[k]) if k >= 0 else sent_start
    after = bisect.bisect_left(barriers, trig.end)
    end = min(sent_end, barriers[after]) if after < len(barriers) else sent_end
    return start, max(end, trig.end)


def _unblocked(hits: list[Hit], blockers: list[Hit]) -> list[Hit]:
    """Drop hits that a blocker of the same label overlaps (unless the hit strictly contains the blocker)."""
    if not blockers:
        return hits
    return [h for h in hits if not any(
        b.label == h.label and b.start < h.end and h.start < b.end and not (h.start < b.start and b.end < h.end)
        for b in blockers)]


def _merge_same_type(triggers: list[Hit]) -> list[Hit]:
    """Overlapping matches of one type are one mention, and so are close ones ("pay Mr P £2 million in
    compensation") unless the later one is a further amount ("£3,000 ... plus £250"): keep their union."""
    merged: list[Hit] = []
    for trig in sorted(triggers, key=lambda h: (h.label, h.start, -h.end)):
        last = merged[-1] if merged else None
        close = trig.start - (last.end if last else 0) <= P.SAME_MENTION_GAP and not trig.options.get("weak")
        if last is not None and last.label == trig.label and (trig.start < last.end or close):
            last.end = max(last.end, trig.end)
            if last.options.get("weak") and not trig.options.get("weak"):
                last.options = {**last.options, "weak": False}
            continue
        merged.append(Hit(trig.category, trig.label, trig.start, trig.end, dict(trig.options)))
    return merged


def _resolve_overlaps(triggers: list[Hit]) -> list[Hit]:
    """Where triggers of different types overlap, the more specific type (earlier in TYPE_PRECEDENCE) wins."""
    rank = {t: i for i, t in enumerate(P.TYPE_PRECEDENCE)}
    kept: list[Hit] = []
    for trig in sorted(triggers, key=lambda h: (rank.get(h.label, 99), h.start)):
        if not any(k.start < trig.end and trig.start < k.end for k in kept):
            kept.append(trig)
    return sorted(kept, key=lambda h: (h.start, h.end))


def _longest_per_position(cues: list[Hit]) -> list[Hit]:
    """Of cues that overlap keep the longest, then the higher-priority status: 'asked for' beats 'asked'."""
    priority = {s: i for i, s in enumerate(STATUS_PRIORITY)}
    kept: list[Hit] = []
    taken: set[int] = set()
    for cue in sorted(cues, key=lambda c: (-(c.end - c.start), priority.get(c.label, 9), c.start)):
        positions = set(range(cue.start, cue.end))
        if not positions & taken:
            taken |= positions
            kept.append(cue)
    return sorted(kept, key=lambda c: c.start)


def _cue_source(cue: Hit) -> str:
    return "modal" if cue.options.get("modal") else "cue"


def _in_reported_speech(trig: Hit, sent: tuple[int, int], cues: list[Hit], hard_barriers: list[int]) -> bool:
    """Is the trigger inside what the complainant says ("Mr X says ... it should ...") - up to a hard barrier?"""
    return any(c.options.get("reported") and sent[0] <= c.start and c.end <= trig.start
               and not any(c.end <= b < trig.start for b in hard_barriers) for c in cues)


def _status_of_neighbour(resolved: list, k: int) -> str | None:
    """An uncued remedy in a list shares the status of its nearest listed neighbour in the same clause
    ("an apology, a payment and a reminder to staff are a suitable remedy")."""
    trig, _, clause, _, _ = resolved[k]
    candidates = [(abs(other.start - trig.start), status) for j, (other, _, other_clause, status, source)
                  in enumerate(resolved) if j != k and other_clause == clause and source != "none"
                  and status in PRESENT]
    return min(candidates)[1] if candidates else None


def _has_other_remedy(resolved: list, k: int) -> bool:
    """Is another remedy stated in the same sentence? A bare past-tense "changed its policy" is only a remedy
    next to one ("apologised and changed its policy")."""
    trig, sent, _, _, _ = resolved[k]
    return any(j != k and other_sent == sent and status in PRESENT and other.label != trig.label
               for j, (other, other_sent, _, status, _) in enumerate(resolved))


def _governed_by_other_trigger(trig: Hit, earlier: list[Hit], clause: tuple[int, int]) -> bool:
    """A bare amount right after another remedy word belongs to it ('a refund of £50 for ...')."""
    for other in reversed(earlier):
        if other.end <= clause[0]:
            return False
        if other.label == trig.label:
            return False
        if other.label in P.AMOUNT_GOVERNORS and trig.start - other.end <= P.WEAK_GOVERNOR_WINDOW:
            return True
    return False


def _dedupe(features: list[Feature]) -> list[Feature]:
    seen: set[tuple] = set()
    out = []
    for f in features:
        key = (f.type, f.start, f.end)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _last(iterator):
    found = None
    for found in iterator:
        pass
    return found


def parse_amount(match: re.Match) -> float:
    """'£1,250' -> 1250.0, '£1.5k' -> 1500.0, '£2 million' -> 2000000.0."""
    whole, fraction, unit = match.group(1), match.group(2) or "", (match.group(3) or "").lower()
    return round(float(whole.replace(",", "") + fraction) * P.AMOUNT_MULTIPLIERS.get(unit, 1.0), 2)


@Language.factory(COMPONENT_NAME)
def make_remedy_features(nlp: Language, name: str) -> RemedyFeatureComponent:
    """spaCy factory: ``nlp.add_pipe("remedy_features")``; put a sentencizer first (else one sentence per text)."""
    return RemedyFeatureComponent(nlp.vocab)


# --- the shared pipeline ---------------------------------------------------------------------------------------------

_NLP: Language | None = None
_NLP_LOCK = threading.Lock()


def build_nlp() -> Language:
    """A fresh blank-English pipeline: rule sentencizer (also splitting at line breaks) + the remedy component."""
    from spacy.pipeline.sentencizer import Sentencizer

    nlp = spacy.blank("en")
    punct = sorted(set(SENTENCE_PUNCT) | set(Sentencizer.default_punct_chars))
    nlp.add_pipe("sentencizer", config={"punct_chars": punct})
    nlp.add_pipe(COMPONENT_NAME)
    return nlp


def get_nlp() -> Language:
    """The module's pipeline, built once on first use (thread-safe) and shared."""
    global _NLP
    if _NLP is None:
        with _NLP_LOCK:
            if _NLP is None:
                _NLP = build_nlp()
    return _NLP


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise ExtractionError(f"extract() needs a str, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExtractionError(f"text is {len(text):,} characters; the limit is MAX_CHARS = {MAX_CHARS:,}")
    return text


def _make_doc(nlp: Language, text: str) -> Doc:
    doc = nlp.make_doc(text)
    doc.user_data[TEXT_KEY] = text
    return doc


def _run(nlp: Language, text: str) -> Doc:
    doc = _make_doc(nlp, text)
    for _, proc in nlp.pipeline:  # the same components as nlp(text), without its per-call bookkeeping
        doc = proc(doc)
    return doc


def extract(text: str) -> list[Feature]:
    """Remedies (kind="remedy") and not-investigated reasons (kind="reason") in ``text``, in text order.

    Raises ExtractionError (a ValueError) for non-str input or text over MAX_CHARS characters.
    """
    text = _check_text(text)
    if not text.strip():
        return []
    return list(_run(get_nlp(), text)._.remedy_features)


def extract_many(texts: Iterable[str]) -> Iterator[list[Feature]]:
    """``extract`` for each text, lazily (one shared pipeline; the same results as ``extract``)."""
    nlp = get_nlp()
    for text in texts:  # a plain loop over the components: nlp.pipe's batching buys nothing for rules
        text = _check_text(text)
        yield list(_run(nlp, text)._.remedy_features) if text.strip() else []


def extract_remedies(text: str) -> list[Feature]:
    """Only the remedy features of ``extract(text)``."""
    return [f for f in extract(text) if f.kind == "remedy"]


def extract_reasons(text: str) -> list[Feature]:
    """Only the not-investigated reasons of ``extract(text)``."""
    return [f for f in extract(text) if f.kind == "reason"]


# --- scikit-learn transformer -----------------------------------------------------------------------------------------

REMEDY_FEATURE_TYPES: tuple[str, ...] = tuple(t for t in REMEDY_TYPES if t != "other")  # "other" is never found
REASON_FEATURE_TYPES: tuple[str, ...] = tuple(t for t in REASON_TYPES if t != "other")
AMOUNT_SCALE = math.log1p(10_000.0)  # log1p(£) / this: about 1 for £10,000, the top of the usual range


class RemedyFeatures(BaseEstimator, TransformerMixin):
    """Binary columns "remedy:{type}:{status}" and "reason:{type}" (+ "payment_amount_log") from ``extract``.

    The columns are fixed by the pattern table, not learned, so ``fit`` only records them; it exists so the
    transformer fits in a Pipeline / FeatureUnion. Holds no spaCy object: it pickles small and reuses the
    module's shared pipeline.
    """

    def __init__(self, include_amount: bool = True):
        self.include_amount = include_amount

    def fit(self, X, y=None) -> "RemedyFeatures":
        _check_texts(X)
        names = [f"remedy:{t}:{s}" for t in REMEDY_FEATURE_TYPES for s in FEATURE_STATUSES]
        names += [f"reason:{t}" for t in REASON_FEATURE_TYPES]
        if self.include_amount:
            names.append("payment_amount_log")
        self.feature_names_ = np.array(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def transform(self, X) -> sparse.csr_matrix:
        check_is_fitted(self, "feature_names_")
        return self.rows_from_features(list(extract_many(_check_texts(X))))

    def rows_from_features(self, found: list[list[Feature]]) -> sparse.csr_matrix:
        """The transform's rows from features already extracted (callers that also show the features reuse them)."""
        check_is_fitted(self, "feature_names_")
        column = {name: i for i, name in enumerate(self.feature_names_)}
        rows, cols, values = [], [], []
        for row, features in enumerate(found):
            cells: dict[int, float] = {}
            for f in features:
                name = f"remedy:{f.type}:{f.status}" if f.kind == "remedy" else f"reason:{f.type}"
                if name in column:
                    cells[column[name]] = 1.0
            amounts = [f.amount_gbp for f in features if f.type == "payment" and f.amount_gbp is not None
                       and f.status != "negated"]
            if self.include_amount and amounts:
                cells[column["payment_amount_log"]] = math.log1p(max(amounts)) / AMOUNT_SCALE
            for col, value in cells.items():
                rows.append(row)
                cols.append(col)
                values.append(value)
        return sparse.csr_matrix((values, (rows, cols)), shape=(len(found), len(self.feature_names_)),
                                 dtype=np.float64)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return self.feature_names_.copy()


def _check_texts(X) -> list[str]:
    if isinstance(X, str):
        raise ExtractionError("RemedyFeatures needs a list of texts, got a single str")
    try:
        texts = list(X)
    except TypeError:
        raise ExtractionError(f"RemedyFeatures needs a list of texts, got {type(X).__name__}") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ExtractionError(f"RemedyFeatures: item {i} is {type(text).__name__}, not str")
    return texts

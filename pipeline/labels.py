"""Derive the four outcome classes from the published decision plus the decision's text.

The site publishes only Upheld / Not upheld / Closed after initial enquiries. The contract's classes split those:
Closed -> not_investigated, or remedy_adequate when the body had already put things right; Upheld -> fault_found,
or remedy_adequate when the Ombudsman asked for nothing more; Not upheld -> no_fault, or not_investigated when the
investigation was discontinued. Cues are a data table of regular expressions; the rule per published decision is
a short table too.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from pipeline.records import Decision
from pipeline.views import sections_of

# Cue name -> patterns (case-insensitive). A cue fires if any pattern matches the decision text.
CUES: dict[str, tuple[str, ...]] = {
    "body_already_remedied": (
        r"\b(?:had|has) already (?:apologi[sz]ed|taken|acted|offered|paid|refunded|done|agreed|provided|put|made|given|"
        r"reviewed|reassessed|completed|carried out|remedied|accepted)",
        r"\balready (?:apologi[sz]ed|offered|paid|refunded|taken|given|remedied|put (?:things|it|matters) right)",
        r"\b(?:suitable|sufficient|adequate|appropriate|proportionate|reasonable) remedy\b",
        r"\b(?:enough|sufficient|suitable) to (?:remedy|put right|address)\b",
        r"\bno (?:further|more|other) (?:remedy|action|redress)\b",
        r"\bnothing (?:further|more) (?:to achieve|to add|was needed|is needed|would be achieved|could be achieved)",
        r"\b(?:has|had) (?:since|now) (?:apologi[sz]ed|paid|refunded|offered|done|completed|carried out|added|agreed|"
        r"provided|cancelled|replaced|reviewed|made|put|taken|dealt)",
        r"\b(?:has|had) (?:apologi[sz]ed|offered|refunded|paid|remedied|put (?:things|it|matters) right)\b",
        r"\b(?:already|since) (?:been )?(?:put right|remedied|resolved|done|completed|fixed)",
        r"\bits (?:own )?(?:response|apology|remedy|offer|actions?) (?:was|were|is|are) "
        r"(?:enough|sufficient|suitable|adequate)",
        r"\bwelcome[sd]? the (?:council|authority)'s (?:apology|action|offer)",
    ),
    "recommended": (
        r"\b(?:should|must|will|to) (?:now )?(?:apologi[sz]e|pay|refund|review|reconsider|reassess|train|remind|"
        r"provide|arrange|consider|carry out|make|issue|write|reimburse|complete|offer|take)\b",
        r"\bagree[sd]? to (?:apologi[sz]e|pay|refund|review|reconsider|reassess|train|remind|provide|arrange|make|"
        r"issue|write|reimburse|complete|offer|take|our recommendations?|the recommendations?|remedy|put)",
        r"\brecommend(?:ed|s|ation|ations)?\b",
        r"\basked (?:the|it) (?:council|authority|body|school|care provider|provider)? ?to\b",
        r"\bwithin (?:one|two|three|four|six|\d+) (?:month|week)s?\b",
        r"\b(?:accepted|agreed) (?:our|the ombudsman's|my) (?:findings|recommendations|proposed)",
        r"\b(?:remedy|redress|payment) (?:was|is) (?:recommended|agreed)",
        r"\bagreed (?:actions?|remed(?:y|ies)|to remedy)",
    ),
    "discontinued": (
        r"\bdiscontinu(?:e|ed|ing)\b",
        r"\b(?:stopped|ended|closed|halted) (?:the|its|our|his|her|this|my) (?:investigation|work|enquir)",
        r"\b(?:not|no longer) (?:to )?(?:investigate|continue|pursue)\w* (?:further|any further|the investigation)",
        r"\bwill not (?:investigate|continue)\b",
        r"\b(?:decided|decline[sd]?|would) not to (?:investigate|continue)",
    ),
    "no_fault": (
        r"\bno (?:evidence of )?fault\b",
        r"\bnot at fault\b",
        r"\bdid not find (?:any )?fault\b",
        r"\bwas not fault\b",
    ),
    "not_investigated": (
        r"\b(?:will|would|did|could|can|shall) not (?:investigate|look into|consider|pursue|start)",
        r"\b(?:decided|declined?|refused|chose) (?:not )?to (?:investigate|look into)",
        r"\bdecline[sd]?\b",
        r"\b(?:outside|beyond) (?:our|the ombudsman's|its) (?:jurisdiction|remit|powers)",
    ),
}
COMPILED: dict[str, tuple[re.Pattern[str], ...]] = {
    name: tuple(re.compile(p, re.IGNORECASE) for p in patterns) for name, patterns in CUES.items()
}


def cues_in(text: str) -> set[str]:
    """Names of the cues that fire in ``text``."""
    return {name for name, patterns in COMPILED.items() if any(p.search(text) for p in patterns)}


def label_closed(cues: set[str]) -> str:
    return "remedy_adequate" if "body_already_remedied" in cues else "not_investigated"


def label_upheld(cues: set[str]) -> str:
    if "body_already_remedied" in cues and "recommended" not in cues:
        return "remedy_adequate"
    return "fault_found"


def label_not_upheld(cues: set[str]) -> str:
    if "discontinued" in cues and "no_fault" not in cues:
        return "not_investigated"
    return "no_fault"


def label_unknown(cues: set[str]) -> str:
    """No published decision: judge from the text alone, most specific cue first."""
    if "not_investigated" in cues or "discontinued" in cues:
        return label_closed(cues)
    if "recommended" in cues:
        return "fault_found"
    if "body_already_remedied" in cues:
        return "remedy_adequate"
    if "no_fault" in cues:
        return "no_fault"
    return "fault_found"


RULES = {
    "Closed after initial enquiries": label_closed,
    "Upheld": label_upheld,
    "Not upheld": label_not_upheld,
    "unknown": label_unknown,
}


def derive_label(record: Decision | Mapping[str, Any]) -> str:
    """Four-class label from the record's ``site_outcome`` and its decision text (summary first)."""
    if isinstance(record, Mapping):
        record = Decision.from_dict(record)
    sections = sections_of(record)
    text = "\n".join(sections.get(name, "") for name in ("summary", "final_decision", "agreed_action", "assessment"))
    return RULES[record.site_outcome](cues_in(text))


def agreement(records: list[Decision]) -> dict[str, Any]:
    """How often the labeller agrees with the annotated outcome, overall and per published decision."""
    per_site: dict[str, list[int]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for record in records:
        if record.outcome is None:
            continue
        predicted = derive_label(record)
        per_site.setdefault(record.site_outcome, [0, 0])
        per_site[record.site_outcome][0] += predicted == record.outcome
        per_site[record.site_outcome][1] += 1
        row = confusion.setdefault(record.outcome, {})
        row[predicted] = row.get(predicted, 0) + 1
    hits = sum(h for h, _ in per_site.values())
    total = sum(n for _, n in per_site.values())
    return {
        "n": total,
        "agreement": hits / total if total else 0.0,
        "per_site_outcome": {site: {"n": n, "agreement": h / n} for site, (h, n) in per_site.items()},
        "confusion": confusion,
    }

"""Input views: which parts of a decision each model may read.

Leakage is the main trap: the Summary, findings, agreed action and Final decision all state the outcome, and the
header carries the published decision. The role table below is the single place that decides what each view sees;
``tests/test_views.py`` proves the triage view never sees outcome text.
"""
from __future__ import annotations

from typing import Any, Mapping

from pipeline.records import Decision, RecordError

# Every section a parsed page can have, and what it reveals.
SECTION_ROLES: dict[str, str] = {
    "complaint": "pre_decision",        # what the complainant asked for: known at triage
    "summary": "outcome_bearing",       # states the outcome
    "role_and_powers": "outcome_bearing",  # cites the power used (e.g. s.24A(6)) -> the reason
    "scope": "outcome_bearing",         # what was / was not investigated
    "how_considered": "outcome_bearing",
    "assessment": "outcome_bearing",    # findings
    "agreed_action": "outcome_bearing",  # the remedy
    "final_decision": "outcome_bearing",
}
HEADER_FIELDS = ("authority", "ref", "category", "subcategory", "site_outcome", "decision_date")

VIEWS: dict[str, tuple[str, ...]] = {
    # the whole decision minus header metadata
    "decision": ("summary", "complaint", "role_and_powers", "scope", "how_considered", "assessment",
                 "agreed_action", "final_decision"),
    # only what is known before the Ombudsman decides
    "triage": tuple(name for name, role in SECTION_ROLES.items() if role == "pre_decision"),
}


class ViewError(ValueError):
    """The requested view cannot be built from this record."""


def sections_of(record: Decision | Mapping[str, Any] | str) -> dict[str, str]:
    """Sections of a record: parsed from ``text`` when present, else the restated fields.

    A bare string is taken as a whole page (decision view) whose sections are parsed; if it has no recognisable
    section headings it is treated as the complaint itself, which is what a triage caller sends.
    """
    if isinstance(record, str):
        return _sections_of_text(record, fallback="complaint")
    if isinstance(record, Mapping):
        record = Decision.from_dict(record)
    if not isinstance(record, Decision):
        raise RecordError(f"expected a record or text, got {type(record).__name__}")
    sections: dict[str, str] = {}
    if record.text:
        sections.update(_sections_of_text(record.text, fallback="complaint"))
    for name in ("summary", "complaint", "assessment"):
        value = getattr(record, name)
        if value and not sections.get(name):
            sections[name] = value
    return sections


def view_text(record: Decision | Mapping[str, Any] | str, view: str) -> str:
    """The text a model for ``view`` may read; raises ViewError if it would be empty."""
    if view not in VIEWS:
        raise ViewError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    sections = sections_of(record)
    text = "\n".join(sections[name].strip() for name in VIEWS[view] if sections.get(name, "").strip())
    if not text:
        needed = " or ".join(VIEWS[view])
        raise ViewError(f"the {view} view has no text: the record needs a non-empty {needed}")
    return text


def _sections_of_text(text: str, fallback: str) -> dict[str, str]:
    from pipeline.parse import ParseError, parse_page  # parse is a lower stage; imported lazily to keep start-up fast

    try:
        sections = parse_page(text).sections
    except ParseError:
        sections = {}
    if not sections and text.strip():
        return {fallback: text.strip()}
    return dict(sections)

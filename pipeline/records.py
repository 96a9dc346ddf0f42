"""Typed records shared by every stage: decisions, extracted features, predictions.

This is the ground floor: it imports nothing from the rest of the package, so every stage can use it.
Field names follow ``shared/design/CONTRACT.md``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

OUTCOMES: tuple[str, ...] = ("not_investigated", "no_fault", "remedy_adequate", "fault_found")
SITE_OUTCOMES: tuple[str, ...] = ("Upheld", "Not upheld", "Closed after initial enquiries", "unknown")
REMEDY_TYPES: tuple[str, ...] = (
    "apology", "payment", "service_improvement", "training", "procedure_review", "reassessment", "refund", "other",
)
REASON_TYPES: tuple[str, ...] = (
    "alternative_remedy", "late", "unlikely_fault", "no_significant_injustice", "already_remedied",
    "outside_jurisdiction", "not_exhausted_complaints_process", "other",
)
FEATURE_STATUSES: tuple[str, ...] = ("already_by_body", "recommended", "negated")
TEXT_FIELDS: tuple[str, ...] = ("summary", "complaint", "assessment")


class RecordError(ValueError):
    """A record does not follow the contract; the message names the field."""


@dataclass(frozen=True)
class Remedy:
    type: str
    amount_gbp: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.amount_gbp is not None:
            out["amount_gbp"] = self.amount_gbp
        return out


@dataclass
class Decision:
    """One published decision (or one complaint to predict: only the text fields are then needed)."""

    id: str = ""
    ombudsman: str = "LGSCO"
    ref: str = ""
    source_url: str = ""
    authority: str = ""
    category: str = ""
    subcategory: str = ""
    site_outcome: str = "unknown"
    decision_date: str | None = None
    outcome: str | None = None
    not_investigated_reasons: list[str] = field(default_factory=list)
    remedies_already_by_body: list[Remedy] = field(default_factory=list)
    remedies_recommended: list[Remedy] = field(default_factory=list)
    summary: str = ""
    complaint: str = ""
    assessment: str = ""
    text: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, require_labels: bool = False) -> "Decision":
        """Validate a contract record; raise RecordError naming the first bad field."""
        if not isinstance(data, Mapping):
            raise RecordError(f"record must be a JSON object, got {type(data).__name__}")
        for name in ("id", "ombudsman", "ref", "source_url", "authority", "category", "subcategory",
                     "summary", "complaint", "assessment"):
            _check_str(data, name)
        if data.get("text") is not None and not isinstance(data.get("text"), str):
            raise RecordError("field 'text' must be a string")
        site = data.get("site_outcome") or "unknown"
        if site not in SITE_OUTCOMES:
            raise RecordError(f"unknown site_outcome {site!r}; expected one of {', '.join(SITE_OUTCOMES)}")
        outcome = data.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            raise RecordError(f"unknown outcome label {outcome!r}; expected one of {', '.join(OUTCOMES)}")
        if require_labels:
            if outcome is None:
                raise RecordError("missing required field 'outcome'")
            if not data.get("id"):
                raise RecordError("missing required field 'id'")
        date = data.get("decision_date")
        if date is not None and not isinstance(date, str):
            raise RecordError("field 'decision_date' must be an ISO date string or null")
        record = cls(
            id=data.get("id") or "",
            ombudsman=data.get("ombudsman") or "LGSCO",
            ref=data.get("ref") or "",
            source_url=data.get("source_url") or "",
            authority=data.get("authority") or "",
            category=data.get("category") or "",
            subcategory=data.get("subcategory") or "",
            site_outcome=site,
            decision_date=date or None,
            outcome=outcome,
            not_investigated_reasons=_reasons(data.get("not_investigated_reasons")),
            remedies_already_by_body=_remedies(data.get("remedies_already_by_body"), "remedies_already_by_body"),
            remedies_recommended=_remedies(data.get("remedies_recommended"), "remedies_recommended"),
            summary=data.get("summary") or "",
            complaint=data.get("complaint") or "",
            assessment=data.get("assessment") or "",
            text=data.get("text"),
        )
        if not (record.text or any(getattr(record, f) for f in TEXT_FIELDS)):
            raise RecordError("record has no text: give 'text' or at least one of summary, complaint, assessment")
        return record

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["remedies_already_by_body"] = [r.to_dict() for r in self.remedies_already_by_body]
        out["remedies_recommended"] = [r.to_dict() for r in self.remedies_recommended]
        if self.text is None:
            out.pop("text")
        return out


@dataclass(frozen=True)
class Feature:
    """A remedy (or not-investigated reason) found in text, with its evidence span."""

    type: str
    status: str | None
    start: int
    end: int
    sentence: str
    amount_gbp: float | None = None
    kind: str = "remedy"  # "remedy" or "reason"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.kind == "remedy":
            out["status"] = self.status
            if self.amount_gbp is not None:
                out["amount_gbp"] = self.amount_gbp
        out.update(start=self.start, end=self.end, sentence=self.sentence)
        return out


@dataclass
class Prediction:
    outcome: str
    probabilities: dict[str, float]
    features: dict[str, Any]
    evidence: list[dict[str, Any]]
    needs_review: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_str(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise RecordError(f"field {name!r} must be a string, got {type(value).__name__}")


def _reasons(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError("field 'not_investigated_reasons' must be a list")
    for reason in value:
        if reason not in REASON_TYPES:
            raise RecordError(f"unknown not_investigated reason {reason!r}")
    return list(value)


def _remedies(value: Any, name: str) -> list[Remedy]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"field {name!r} must be a list")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or item.get("type") not in REMEDY_TYPES:
            raise RecordError(f"field {name!r} has an invalid remedy {item!r}")
        amount = item.get("amount_gbp")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float))
                                   or not math.isfinite(amount) or amount < 0):
            raise RecordError(f"field {name!r} has an invalid amount_gbp {amount!r}")
        out.append(Remedy(item["type"], float(amount) if amount is not None else None))
    return out

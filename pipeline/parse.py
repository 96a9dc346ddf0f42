"""Published LGSCO decision page (HTML or plain text) -> header fields + named sections.

Why line-based: a decision page is short and its structure is a handful of fixed headings, so one regex pass over
lines is fast and easy to extend. Every heading, marker and label lives in the tables below, not in if-chains.
BeautifulSoup (``html.parser``) is used only to turn HTML into lines; plain text goes straight to the line pass, so
``parse_page(page_text(x))`` gives the same result as ``parse_page(x)``.

Decoding policy for bytes: UTF-8 (a BOM is honoured, also UTF-16 BOMs); if that fails and an HTML page declares
another charset (``<meta charset=...>``), that charset is used; otherwise ParseError. No silent replacement
characters: a page that is not valid text in a known encoding is an error the caller should see.
"""
from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from pipeline.records import Decision

SECTION_NAMES: tuple[str, ...] = (
    "summary", "complaint", "role_and_powers", "scope", "how_considered", "assessment", "agreed_action",
    "final_decision",
)
HEADER_FIELDS: tuple[str, ...] = ("authority", "ref", "category", "subcategory", "site_outcome", "decision_date")


class ParseError(ValueError):
    """The input is not a readable decision page; the message says what is wrong with it."""


# --- heading table ------------------------------------------------------------------------------------------------
# Keys are heading texts after `_heading_key` (lower case, apostrophes and punctuation removed, "Ombudsman's",
# "Ombudsmans" and "Ombudsmen's" all -> "ombudsman"). "What I found" pages carry sub-headings ("Law and guidance",
# "What happened", "Analysis"): they belong to the assessment, so they map there too.
_HEADINGS_BY_SECTION: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary", "the ombudsman final decision", "ombudsman final decision", "the ombudsman decision",
    ),
    "complaint": ("the complaint", "complaint", "the complaints", "the complaint and background"),
    "role_and_powers": (
        "the ombudsman role and powers", "ombudsman role and powers", "the ombudsman role", "our role and powers",
        "role and powers", "the role of the ombudsman",
    ),
    "scope": (
        "what i have and have not investigated", "what i have and have not investigated and why",
        "what i have investigated", "what i have not investigated", "what i investigated",
        "what i did not investigate", "what i have not investigated and why",
        "parts of the complaint that i did not investigate", "parts of the complaint i did not investigate",
        "scope of the investigation", "scope of my investigation",
    ),
    "how_considered": (
        "how i considered this complaint", "how i considered the complaint", "how i considered these complaints",
        "how i considered the complaints", "how i have considered this complaint", "how we considered this complaint",
        "how i considered this",
    ),
    "assessment": (
        "my assessment", "assessment", "our assessment", "what i found", "what we found", "findings", "my findings",
        "conclusions", "conclusion", "my conclusions", "analysis", "my analysis", "investigation",
        # sub-headings of "What I found"
        "law and guidance", "relevant law and guidance", "the law and guidance", "law guidance and policy",
        "relevant law", "relevant legislation", "the law", "legal background", "legal and administrative background",
        "relevant law and policy", "policy and guidance", "background", "what happened", "key facts", "key events",
    ),
    "agreed_action": (
        "agreed action", "agreed actions", "action", "actions", "recommendations", "recommendation",
        "recommended action", "recommended actions", "my recommendations", "remedy",
    ),
    "final_decision": ("final decision", "my final decision", "final decisions"),
}
HEADINGS: dict[str, str] = {key: name for name, keys in _HEADINGS_BY_SECTION.items() for key in keys}

# Lines that end the decision text: site chrome after the last section.
END_MARKERS: frozenset[str] = frozenset({
    "print this page", "share this page", "back to search", "back to search results", "was this page helpful",
    "was this page useful", "is this page useful", "report a problem with this page", "related decisions",
})
BACK_TO_TOP = "back to top"
# The trailer that signs the decision ("Investigator's decision on behalf of the Ombudsman"): dropped, and what
# follows it is dropped too until a known heading ("Parts of the complaint that I did not investigate") resumes.
SIGNATURE_RE = re.compile(r"^(?:[a-z ]+ )?decision on behalf of the ombudsman$")

# --- line patterns --------------------------------------------------------------------------------------------------
_APOSTROPHES_RE = re.compile(r"['’‘`´]")
_OMBUDSMAN_RE = re.compile(r"\bombudsm[ae]ns?\b")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
_LEADING_NUMBER_RE = re.compile(r"^\d{1,2} ")
_INLINE_HEADING_RE = re.compile(r"^(?P<head>[^:]{3,70}?)\s*:\s*(?P<rest>\S.*)$")
_MAX_HEADING_CHARS = 90

_PARAGRAPH_NUMBER_RE = re.compile(r"^\d{1,3}[.)]\s+")
_LONE_NUMBER_RE = re.compile(r"^\d{1,3}[.)]?$")
_BULLET_RE = re.compile(r"^[-–—•*·▪◦‣]\s+")

_REF = r"\d{2}\s?\d{3}\s?\d{3}\s?[a-z]?"
TITLE_RE = re.compile(
    rf"^(?P<authority>.*?\S)\s*\(\s*(?P<refs>{_REF}(?:\s*(?:,|;|&|/|and)\s*{_REF})*)\s*\)\s*$", re.IGNORECASE)
REF_ONLY_RE = re.compile(rf"^\(\s*(?P<refs>{_REF}(?:\s*(?:,|;|&|/|and)\s*{_REF})*)\s*\)$", re.IGNORECASE)
_REF_PARTS_RE = re.compile(r"(\d{2})\s?(\d{3})\s?(\d{3})\s?([a-z]?)(?![a-z])", re.IGNORECASE)
_URL_REF_RE = re.compile(r"(\d{2})-(\d{3})-(\d{3})([a-z]?)/?(?:[?#].*)?$", re.IGNORECASE)

_LABELS = {"category": "category", "decision date": "decision_date", "decision": "site_outcome"}
_LABEL = r"(?:category|decision\s+date|decision)"
HEADER_FIELD_RE = re.compile(
    rf"(?:^|(?<=\s))(?P<label>{_LABEL})\s*:\s*(?P<value>.*?)\s*(?=\s{_LABEL}\s*:|$)", re.IGNORECASE)
HEADER_LINE_RE = re.compile(rf"^{_LABEL}\s*:", re.IGNORECASE)  # a header line starts with its label
_LONE_LABEL_RE = re.compile(rf"^(?P<label>{_LABEL})\s*:?$", re.IGNORECASE)

# Published "Decision" values, matched by prefix (older pages add detail: "Upheld: maladministration and injustice").
SITE_OUTCOME_PREFIXES: tuple[tuple[str, str], ...] = (
    ("closed after initial enquiries", "Closed after initial enquiries"),
    ("closed", "Closed after initial enquiries"),
    ("not upheld", "Not upheld"),
    ("upheld", "Upheld"),
)
DATE_FORMATS: tuple[str, ...] = ("%d %b %Y", "%d %B %Y", "%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y", "%d %b, %Y", "%B %d, %Y")
_ORDINAL_RE = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.IGNORECASE)

# --- HTML -----------------------------------------------------------------------------------------------------------
_HTML_SNIFF_RE = re.compile(
    r"<(?:!doctype\s+html|html|head|body|div|p|h[1-6]|main|article|section|ul|ol|li|table|span|br|strong)\b",
    re.IGNORECASE)
_DROP_TAGS = frozenset({
    "script", "style", "noscript", "nav", "footer", "template", "iframe", "svg", "head", "title", "meta", "link",
    "button", "select", "input", "textarea", "object", "canvas",
})
_CHROME_ATTR_RE = re.compile(r"cookie|consent|gdpr|breadcrumb|skip-?link|sr-only|visually-hidden|screen-reader",
                             re.IGNORECASE)
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
})
_CELL_TAGS = frozenset({"td", "th"})
_EMPHASIS_TAGS = frozenset({"strong", "b"})  # bold text that is exactly a known heading gets its own line
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_WHITESPACE_RE = re.compile(r"\s+")
_INVISIBLE_RE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01


@dataclass
class ParsedPage:
    """A parsed decision page: all six header fields, and the sections that the page has (in SECTION_NAMES order)."""

    header: dict[str, str | None] = field(default_factory=lambda: _empty_header())
    sections: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"header": dict(self.header), "sections": dict(self.sections)}


# --- public API -----------------------------------------------------------------------------------------------------
def page_text(content: str | bytes) -> str:
    """The page as plain text: HTML becomes one line per block; plain text passes through (line ends unified)."""
    return _load(content)[0]


def parse_page(content: str | bytes) -> ParsedPage:
    """Header fields and cleaned sections of one decision page; ParseError if it holds no decision."""
    _, lines, title = _load(content)
    return _parse_lines(lines, title)


def record_from_page(content: str | bytes, source_url: str = "") -> Decision:
    """A contract record built from a page; ``outcome`` stays None because labelling is a later stage.

    When the page has no reference line, the reference is taken from a decision URL (``.../24-010-115``); failing that
    the id is a hash of the page text, so it is still stable and unique for the store.
    """
    text, lines, title = _load(content)
    page = _parse_lines(lines, title)
    header = page.header
    ref = header["ref"] or _ref_from_url(source_url)
    if ref:
        record_id = "lgsco-" + ref.replace(" ", "-")
    else:
        record_id = "lgsco-sha-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Decision(
        id=record_id,
        ombudsman="LGSCO",
        ref=ref,
        source_url=source_url,
        authority=header["authority"] or "",
        category=header["category"] or "",
        subcategory=header["subcategory"] or "",
        site_outcome=header["site_outcome"] or "unknown",
        decision_date=header["decision_date"],
        outcome=None,
        summary=page.sections.get("summary", ""),
        complaint=page.sections.get("complaint", ""),
        assessment=page.sections.get("assessment", ""),
        text=text,
    )


# --- input -> lines -------------------------------------------------------------------------------------------------
def _load(content: str | bytes) -> tuple[str, list[str], str]:
    """(plain text, its clean non-empty lines, HTML <title> for error messages) of the input."""
    text = _decode(content)
    if _HTML_SNIFF_RE.search(text[:20000]):
        lines, title = _html_lines(text)
        return "\n".join(lines), lines, title
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return text, _plain_lines(text), ""


def _decode(content: str | bytes) -> str:
    """Text of the input; ParseError for empty, binary or undecodable input."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        text = _decode_bytes(bytes(content))
    elif isinstance(content, str):
        text = content
    else:
        raise ParseError(f"expected page content as str or bytes, got {type(content).__name__}")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ParseError("empty input: the page has no text")
    if "\x00" in text:
        raise ParseError("binary input: the content contains NUL characters, not an HTML or text page")
    controls = len(_CONTROL_RE.findall(text))
    if controls > max(2, _MAX_CONTROL_SHARE * len(text)):
        raise ParseError(f"binary input: {controls} control characters in {len(text)} characters of content")
    return text


def _decode_bytes(data: bytes) -> str:
    if not data.strip():
        raise ParseError("empty input: the page has no text")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ParseError(f"input starts with a {codec} byte-order mark but is not valid {codec}: {exc}") from exc
    if b"\x00" in data:
        raise ParseError("binary input: the content contains NUL bytes, not an HTML or text page")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        declared = _declared_charset(data)
        if declared:
            try:
                return data.decode(declared)
            except (UnicodeDecodeError, LookupError):
                pass
        raise ParseError(
            f"input is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}) and declares no "
            "usable charset; re-encode the page as UTF-8") from exc


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET_RE.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return None if codec == "utf-8" else codec


def _plain_lines(text: str) -> list[str]:
    """Non-empty stripped lines; an indented line right after a bullet or numbered paragraph continues it."""
    out: list[str] = []
    previous_blank = True
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _clean_spaces(raw)
        if not line:
            previous_blank = True
            continue
        continues = (not previous_blank and out and raw[:1] in (" ", "\t")
                     and (_BULLET_RE.match(out[-1]) or _PARAGRAPH_NUMBER_RE.match(out[-1]))
                     and not (_BULLET_RE.match(line) or _PARAGRAPH_NUMBER_RE.match(line)))
        if continues:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        previous_blank = False
    return out


def _clean_spaces(line: str) -> str:
    return _WHITESPACE_RE.sub(" ", _INVISIBLE_RE.sub("", line)).strip()


def _html_lines(html: str) -> tuple[list[str], str]:
    """Lines of the decision's container (a main-content element if it holds the decision, else the body)."""
    from bs4 import BeautifulSoup  # only HTML input pays for the import

    soup = BeautifulSoup(html, "html.parser")
    title = _clean_spaces(soup.title.get_text()) if soup.title else ""
    for candidate in _main_candidates(soup):
        lines = _block_lines(candidate)
        if _has_header_info(lines) and any(_heading(line) for line in lines):
            return lines, title
    return _block_lines(soup.body or soup), title


def _main_candidates(soup: Any) -> Iterable[Any]:
    yield from soup.find_all("main")
    yield from soup.find_all(attrs={"role": "main"})
    yield from soup.find_all(id=re.compile(r"^(?:main|main-?content|content)$", re.IGNORECASE))
    yield from soup.find_all("article")


def _block_lines(root: Any) -> list[str]:
    """Text of ``root`` with a line break around every block element and <br>, and none inside inline elements.

    Iterative (not recursive) so deeply nested markup cannot exhaust the stack.
    """
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    parts: list[str] = []
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            parts.append("\n")
        elif isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, CDATA, processing instructions
                parts.append(_WHITESPACE_RE.sub(" ", str(node)))
        elif isinstance(node, Tag) and not _is_chrome(node):
            if node.name == "br":
                parts.append("\n")
                continue
            if node.name in _CELL_TAGS:
                parts.append(" ")
            if node.name in _BLOCK_TAGS or _is_bold_heading(node):
                parts.append("\n")
                stack.append(None)
            stack.extend(reversed(node.contents))
    return [line for line in (_clean_spaces(x) for x in "".join(parts).split("\n")) if line]


def _is_bold_heading(tag: Any) -> bool:
    return tag.name in _EMPHASIS_TAGS and _heading(_clean_spaces(tag.get_text())) is not None


def _is_chrome(tag: Any) -> bool:
    if tag.name in _DROP_TAGS or tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    classes = tag.get("class") or []
    marks = " ".join([tag.get("id") or "", *(classes if isinstance(classes, list) else [classes])])
    return bool(marks.strip()) and bool(_CHROME_ATTR_RE.search(marks))


# --- lines -> page --------------------------------------------------------------------------------------------------
def _heading_key(text: str) -> str:
    key = _APOSTROPHES_RE.sub("", text.lower())
    key = _OMBUDSMAN_RE.sub("ombudsman", key)
    key = _NON_WORD_RE.sub(" ", key).strip()
    return _LEADING_NUMBER_RE.sub("", key)


def _heading(line: str) -> tuple[str, str] | None:
    """(section, inline text) if the line is a known heading, e.g. "Summary: We will not..." -> ("summary", "We...")."""
    if len(line) <= _MAX_HEADING_CHARS:
        section = HEADINGS.get(_heading_key(line))
        if section:
            return section, ""
    match = _INLINE_HEADING_RE.match(line) if ":" in line[:75] else None
    if match:
        section = HEADINGS.get(_heading_key(match.group("head")))
        if section:
            return section, match.group("rest").strip()
    return None


def _has_header_info(lines: Iterable[str]) -> bool:
    return any(_is_header_line(line) for line in lines)


def _is_header_line(line: str) -> bool:
    return bool(TITLE_RE.match(line) or REF_ONLY_RE.match(line) or HEADER_LINE_RE.match(line))


def _parse_lines(lines: list[str], title: str) -> ParsedPage:
    headings = [_heading(line) for line in lines]
    start = _body_start(lines, headings)
    if start is None:
        where = f" (HTML page titled {title!r})" if title else ""
        raise ParseError(
            f"no decision found in the page{where}: none of the section headings "
            "('The Ombudsman's final decision', 'Summary', 'The complaint', 'Final decision', ...) occur")
    sections = _sections(lines[start:], headings[start:])
    if not sections:
        raise ParseError("no decision text found: the page has section headings but no text under them")
    return ParsedPage(header=_header(lines[:start]), sections=sections)


def _body_start(lines: list[str], headings: list[tuple[str, str] | None]) -> int | None:
    """Index of the first heading of the decision body.

    The body opens with "The Ombudsman's final decision" / "Summary"; navigation or banner text before the header
    may contain heading-like words, so when the page has a header the body starts at the first heading after it.
    """
    first = next((i for i, h in enumerate(headings) if h), None)
    if first is None:
        return None
    summary = next((i for i, h in enumerate(headings) if h and h[0] == "summary"), None)
    if summary is None:
        return first
    header_lines = [i for i in range(summary) if _is_header_line(lines[i])]
    after = header_lines[-1] + 1 if header_lines else 0
    return next(i for i in range(after, len(lines)) if headings[i])


def _sections(lines: list[str], headings: list[tuple[str, str] | None]) -> dict[str, str]:
    """Walk the body: headings switch section; 'Back to top', signature and chrome lines are dropped."""
    collected: dict[str, list[str]] = {}
    current: str | None = None
    for line, heading in zip(lines, headings):
        key = _heading_key(line) if len(line) <= _MAX_HEADING_CHARS else ""  # markers are short lines
        if key in END_MARKERS:
            break
        if heading:
            section, inline = heading
            if section == "summary" and current not in (None, "summary"):
                section = current  # a late "Summary" sub-heading stays in the section it sits in
            current = section
            line = inline
        elif key == BACK_TO_TOP:
            if current == "final_decision":
                current = None  # the final decision is the last section: what follows is trailer or chrome
            continue
        elif SIGNATURE_RE.match(key):
            current = None
            continue
        if current is None:
            continue
        cleaned = _clean_paragraph(line)
        if cleaned:
            collected.setdefault(current, []).append(cleaned)
    return {name: "\n".join(collected[name]) for name in SECTION_NAMES if collected.get(name)}


def _clean_paragraph(line: str) -> str:
    """Drop paragraph numbers ("12. ", lone "12.") and bullet markers ("- ", "• ")."""
    if _LONE_NUMBER_RE.match(line):
        return ""
    line = _PARAGRAPH_NUMBER_RE.sub("", line, count=1)
    return _BULLET_RE.sub("", line, count=1).strip()


# --- header ---------------------------------------------------------------------------------------------------------
def _empty_header() -> dict[str, str | None]:
    header: dict[str, str | None] = {name: "" for name in HEADER_FIELDS}
    header.update(site_outcome="unknown", decision_date=None)
    return header


def _header(lines: list[str]) -> dict[str, str | None]:
    """Header fields from the lines before the body; absent fields keep their empty defaults."""
    header = _empty_header()
    lines = _join_lone_labels(lines)
    for i, line in enumerate(lines):
        if HEADER_LINE_RE.match(line):
            for match in HEADER_FIELD_RE.finditer(line):
                label = _WHITESPACE_RE.sub(" ", match.group("label").lower())
                _set_header_field(header, _LABELS[label], match.group("value"))
        elif not header["ref"]:
            _set_title(header, line, previous=lines[i - 1] if i else "")
    return header


def _set_title(header: dict[str, str | None], line: str, previous: str) -> None:
    """'Body name (24 010 115)', or the reference alone in parentheses on the line below the body's name."""
    title = TITLE_RE.match(line)
    if title:
        header["authority"] = title.group("authority").strip(" -–:")
        header["ref"] = _normalise_ref(title.group("refs"))
        return
    ref_only = REF_ONLY_RE.match(line)
    if ref_only:
        header["ref"] = _normalise_ref(ref_only.group("refs"))
        if previous and not _is_header_line(previous):
            header["authority"] = previous


def _join_lone_labels(lines: list[str]) -> list[str]:
    """"Category" on one line and its value on the next (HTML <dt>/<dd> or table cells) -> "Category : value"."""
    out: list[str] = []
    pending: str | None = None
    for line in lines:
        if pending is not None and not _is_header_line(line) and not _LONE_LABEL_RE.match(line):
            out.append(f"{pending} : {line}")
            pending = None
            continue
        lone = _LONE_LABEL_RE.match(line)
        pending = lone.group("label") if lone else None
        if not lone:
            out.append(line)
    return out


def _set_header_field(header: dict[str, str | None], name: str, value: str) -> None:
    value = value.strip()
    if name == "category" and not header["category"]:
        top, _, sub = value.partition(">")
        header["category"], header["subcategory"] = top.strip(), sub.strip()
    elif name == "site_outcome" and header["site_outcome"] == "unknown":
        header["site_outcome"] = _site_outcome(value)
    elif name == "decision_date" and header["decision_date"] is None:
        header["decision_date"] = _iso_date(value)


def _site_outcome(value: str) -> str:
    lowered = value.lower()
    return next((label for prefix, label in SITE_OUTCOME_PREFIXES if lowered.startswith(prefix)), "unknown")


def _iso_date(value: str) -> str | None:
    """'06 Jan 2025' -> '2025-01-06'; None when the date cannot be read."""
    cleaned = _ORDINAL_RE.sub("", _WHITESPACE_RE.sub(" ", value).strip())
    cleaned = re.sub(r"\bSept\b", "Sep", cleaned, flags=re.IGNORECASE)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _normalise_ref(refs: str) -> str:
    """First reference of the title, as 'YY NNN NNN' plus any letter suffix ('24 010 115a')."""
    match = _REF_PARTS_RE.search(refs)
    if not match:
        return ""
    a, b, c, suffix = match.groups()
    return f"{a} {b} {c}{suffix.lower()}"


def _ref_from_url(url: str) -> str:
    match = _URL_REF_RE.search(url or "")
    if not match:
        return ""
    a, b, c, suffix = match.groups()
    return f"{a} {b} {c}{suffix.lower()}"

"""Tests for pipeline.parse: header fields, sections, cleaning, HTML handling and bad input.

Fixture pages in tests/fixtures/pages/ are invented (names, places, facts) in the site's structure.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.parse import (
    HEADER_FIELDS, SECTION_NAMES, ParsedPage, ParseError, page_text, parse_page, record_from_page,
)
from pipeline.records import SITE_OUTCOMES, Decision

PAGES = Path(__file__).parent / "fixtures" / "pages"
SEED = Path("/work/shared/examples/seed_decision.txt")
DECISION_PAGES = ("numbered_upheld.html", "compact_closed.txt", "cookie_banner.html", "not_upheld.txt")


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"seed decision not available at {SEED}")
    return SEED.read_text(encoding="utf-8")


def all_pages() -> list[bytes]:
    return [page(name) for name in DECISION_PAGES] + [seed_text().encode("utf-8")]


# --- the seed decision (a real page without header lines) -------------------------------------------------------------
def test_seed_decision_has_no_header_but_all_its_sections():
    parsed = parse_page(seed_text())
    assert parsed.header == {"authority": "", "ref": "", "category": "", "subcategory": "",
                             "site_outcome": "unknown", "decision_date": None}
    assert list(parsed.sections) == ["summary", "complaint", "role_and_powers", "how_considered", "assessment",
                                     "final_decision"]


@pytest.mark.parametrize("section, start, end", [
    ("summary", "We will not investigate this complaint", "would not lead to a different outcome."),
    ("complaint", "Mr X complained", "domestic abuse."),
    ("role_and_powers", "The Ombudsman investigates complaints", "section 24A(6))"),
    ("how_considered", "I considered information provided", "Assessment Code."),
    ("assessment", "In response to Mr X", "made service improvements."),
    ("final_decision", "We will not investigate Mr X", "would not lead to a different outcome."),
])
def test_seed_section_text(section, start, end):
    text = parse_page(seed_text()).sections[section]
    assert text.startswith(start)
    assert text.endswith(end)


def test_seed_sections_do_not_hold_headings_or_the_signature():
    sections = parse_page(seed_text()).sections
    assert "Summary:" not in sections["summary"]
    assert "on behalf of the Ombudsman" not in sections["final_decision"]
    assert "My assessment" not in sections["how_considered"]
    assert sections["complaint"].count("\n") == 1  # two paragraphs, one per line


# --- fixture pages: header ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("numbered_upheld.html", {"authority": "Northmoor Borough Council", "ref": "23 004 512", "category": "Housing",
                              "subcategory": "Homelessness", "site_outcome": "Upheld",
                              "decision_date": "2024-03-14"}),
    ("compact_closed.txt", {"authority": "Eastfold District Council", "ref": "24 011 207", "category": "Planning",
                            "subcategory": "Enforcement", "site_outcome": "Closed after initial enquiries",
                            "decision_date": "2024-09-02"}),
    ("cookie_banner.html", {"authority": "Greyhaven County Council", "ref": "24 001 778a",
                            "category": "Adult care services", "subcategory": "Charging", "site_outcome": "Upheld",
                            "decision_date": "2025-01-06"}),
    ("not_upheld.txt", {"authority": "Millbrook City Council", "ref": "23 009 341", "category": "Education",
                        "subcategory": "School transport", "site_outcome": "Not upheld",
                        "decision_date": "2023-11-28"}),
])
def test_fixture_header(name, expected):
    assert parse_page(page(name)).header == expected


# --- fixture pages: sections --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, section, start, end", [
    ("numbered_upheld.html", "summary", "Mrs P complained the Council did not offer", "remind its staff of the law."),
    ("numbered_upheld.html", "complaint", "Mrs P complained the Council did not place", "sofa for six weeks."),
    ("numbered_upheld.html", "role_and_powers", "We investigate complaints", "issue a decision statement."),
    ("numbered_upheld.html", "scope", "I have investigated how the Council", "complained about them too late."),
    ("numbered_upheld.html", "how_considered", "I spoke to Mrs P", "comment on my draft decision."),
    ("numbered_upheld.html", "assessment", "A council must secure interim", "avoidable distress and uncertainty."),
    ("numbered_upheld.html", "agreed_action", "Within one month of the final decision", "accommodation duty."),
    ("numbered_upheld.html", "final_decision", "I have completed my investigation.", "injustice to Mrs P."),
    ("compact_closed.txt", "summary", "We will not investigate Ms K", "reached its decision."),
    ("compact_closed.txt", "complaint", "Ms K complained the Council", "lower the roof."),
    ("compact_closed.txt", "role_and_powers", "We investigate complaints of injustice", "as amended)"),
    ("compact_closed.txt", "how_considered", "I considered information provided by Ms K", "Assessment Code."),
    ("compact_closed.txt", "assessment", "Planning enforcement is discretionary.", "justify an investigation."),
    ("compact_closed.txt", "final_decision", "We will not investigate Ms K", "reached its decision."),
    ("cookie_banner.html", "summary", "Mr D complained the Council charged", "completed our investigation."),
    ("cookie_banner.html", "complaint", "Mr D complained the Council charged his mother", "emails about it."),
    ("cookie_banner.html", "scope", "I have investigated the charges", "May 2024 only."),
    ("cookie_banner.html", "assessment", "The visit logs show", "This was fault."),
    ("cookie_banner.html", "agreed_action", "Within one month, the Council will refund", "apologise to him."),
    ("not_upheld.txt", "summary", "Miss R complained the Council refused", "application and appeal."),
    ("not_upheld.txt", "complaint", "Miss R complained the Council refused her son", "did not listen to her."),
    ("not_upheld.txt", "assessment", "The Council's policy follows", "This was not fault."),
    ("not_upheld.txt", "final_decision", "I have completed my investigation.", "I did not find fault by the Council."),
    ("not_upheld.txt", "scope", "I did not investigate the school's admission", "independent panel."),
])
def test_fixture_section_text(name, section, start, end):
    text = parse_page(page(name)).sections[section]
    assert text.startswith(start)
    assert text.endswith(end)


@pytest.mark.parametrize("name, absent", [
    ("compact_closed.txt", {"scope", "agreed_action"}),
    ("not_upheld.txt", {"agreed_action"}),
    ("numbered_upheld.html", set()),
])
def test_only_present_sections_are_returned_in_order(name, absent):
    sections = parse_page(page(name)).sections
    assert set(sections) == set(SECTION_NAMES) - absent
    assert list(sections) == [n for n in SECTION_NAMES if n in sections]


def test_what_i_found_subheadings_belong_to_the_assessment():
    assessment = parse_page(page("numbered_upheld.html")).sections["assessment"]
    lines = assessment.split("\n")
    assert "Mrs P contacted the Council on 6 March 2023." in lines  # under "What happened" (an <ol>)
    assert "The Council was at fault because:" in lines  # under "Analysis"
    assert not {"Law and guidance", "What happened", "Analysis", "What I found"} & set(lines)


def test_bullets_become_lines_without_markers():
    actions = parse_page(page("numbered_upheld.html")).sections["agreed_action"].split("\n")
    assert actions[1:3] == ["apologise to Mrs P for the distress caused;",
                            "pay Mrs P £300 for the distress and uncertainty."]
    complaint = parse_page(page("compact_closed.txt")).sections["complaint"].split("\n")
    assert complaint[1] == ("She says the extension blocks light to her kitchen and garden, and wants the Council to "
                            "make the neighbour lower the roof.")  # an indented continuation joins its bullet


def test_two_assessment_headings_are_joined():
    lines = parse_page(page("not_upheld.txt")).sections["assessment"].split("\n")
    assert len(lines) == 3  # two paragraphs under "Findings", one under "Conclusions"
    assert lines[0].startswith("The Council's policy")  # the paragraph number stood on its own line


_NOISE = re.compile(r"back to top|on behalf of the ombudsman|cookie|print this page|share this page|related decisions"
                    r"|westbury|datalayer|skip to main|contact us|newsletter|^\s*\d{1,3}[.)]|^\s*[-•] ",
                    re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize("name", DECISION_PAGES)
def test_sections_hold_no_chrome_numbers_or_bullets(name):
    for section, text in parse_page(page(name)).sections.items():
        assert not _NOISE.search(text), (section, _NOISE.search(text).group())
        assert text == text.strip() and "\n\n" not in text


def test_cookie_banner_text_stays_out_of_header():
    parsed = parse_page(page("not_upheld.txt"))
    assert "cookie" not in json.dumps(parsed.to_dict()).lower()


# --- page_text ------------------------------------------------------------------------------------------------------
def test_page_text_of_html_has_one_block_per_line_and_no_markup():
    text = page_text(page("numbered_upheld.html"))
    assert "<" not in text and "&gt;" not in text
    lines = text.split("\n")
    assert "Category : Housing > Homelessness" in lines  # inline links kept on their line
    assert "Decision date : 14 Mar 2024" in lines
    assert "Westbury" not in text  # the aside sits outside <main>, which holds the decision
    assert "dataLayer" not in text and "Skip to main content" not in text


def test_page_text_passes_plain_text_through():
    raw = page("compact_closed.txt").decode("utf-8")
    assert page_text(raw) == raw.strip("\n")
    assert page_text(raw.replace("\n", "\r\n")) == raw.strip("\n")


@pytest.mark.parametrize("index", range(len(DECISION_PAGES) + 1))
def test_parsing_page_text_gives_the_same_result(index):
    content = all_pages()[index]
    assert parse_page(page_text(content)) == parse_page(content)


def test_crlf_and_str_input_parse_like_bytes():
    raw = page("not_upheld.txt")
    expected = parse_page(raw)
    assert parse_page(raw.decode("utf-8")) == expected
    assert parse_page(raw.replace(b"\n", b"\r\n")) == expected


# --- variants of headings and header lines --------------------------------------------------------------------------
BODY = "The complaint\nMr A complained about parking.\nFinal decision\nWe will not investigate.\n"


@pytest.mark.parametrize("summary_block", [
    "Summary: We will not investigate.",
    "Summary:\nWe will not investigate.",
    "SUMMARY\nWe will not investigate.",
    "The Ombudsman’s final decision:\nWe will not investigate.",
    "The Ombudsmen's final decision\nSummary - \nWe will not investigate.",
])
def test_summary_on_same_or_next_line(summary_block):
    sections = parse_page(summary_block + "\n" + BODY).sections
    assert sections["summary"].endswith("We will not investigate.")
    assert sections["complaint"] == "Mr A complained about parking."


@pytest.mark.parametrize("heading", [
    "The Ombudsman’s role and powers", "The Ombudsman's role and powers", "The Ombudsmans role and powers",
    "THE OMBUDSMAN'S ROLE AND POWERS:", "The Ombudsmen’s role and powers.",
])
def test_heading_spelling_variants(heading):
    sections = parse_page(f"Summary: S.\n{heading}\nWe investigate fault.\n{BODY}").sections
    assert sections["role_and_powers"] == "We investigate fault."


def test_html_summary_in_strong_and_bold_heading_inside_paragraph():
    html = ("<div><p><strong>Summary:</strong> We upheld the complaint.</p>"
            "<p><b>The complaint</b> Mr A complained about a missed bin collection.</p>"
            "<h3>Final decision:</h3><p>Fault caused injustice.</p></div>")
    sections = parse_page(html).sections
    assert sections == {"summary": "We upheld the complaint.",
                        "complaint": "Mr A complained about a missed bin collection.",
                        "final_decision": "Fault caused injustice."}


@pytest.mark.parametrize("lines, expected", [
    (["Kent County Council (22 003 004)"], {"authority": "Kent County Council", "ref": "22 003 004"}),
    (["Kent County Council (22003004)"], {"ref": "22 003 004"}),
    (["Kent County Council (22 003 004B)"], {"ref": "22 003 004b"}),
    (["Kent County Council (22 003 004a, 22 003 004b)"], {"authority": "Kent County Council", "ref": "22 003 004a"}),
    (["London Borough of Ashgrove (Adult Services) (21 000 111)"],
     {"authority": "London Borough of Ashgrove (Adult Services)", "ref": "21 000 111"}),
    (["Fenley Council", "(21 000 111)"], {"authority": "Fenley Council", "ref": "21 000 111"}),
    (["Category : Benefits and tax"], {"category": "Benefits and tax", "subcategory": ""}),
    (["Category", "Housing > Allocations", "Decision", "Not Upheld"],
     {"category": "Housing", "subcategory": "Allocations", "site_outcome": "Not upheld"}),
    (["Category : Highways > Parking Decision : Upheld Decision date : 1st Feb 2022"],
     {"category": "Highways", "subcategory": "Parking", "site_outcome": "Upheld", "decision_date": "2022-02-01"}),
    (["Decision : Upheld: maladministration and injustice"], {"site_outcome": "Upheld"}),
    (["Decision : Closed after initial enquiries - out of jurisdiction"],
     {"site_outcome": "Closed after initial enquiries"}),
    (["Decision : Withdrawn"], {"site_outcome": "unknown"}),
    (["Decision date : 6 Sept 2019"], {"decision_date": "2019-09-06"}),
    (["Decision date : 06/01/2025"], {"decision_date": "2025-01-06"}),
    (["Decision date : 31 Feb 2025"], {"decision_date": None}),
    (["Decision date : soon"], {"decision_date": None}),
])
def test_header_line_variants(lines, expected):
    header = parse_page("\n".join(lines) + "\nSummary: We will not investigate.\n").header
    assert set(header) == set(HEADER_FIELDS)
    assert {key: header[key] for key in expected} == expected
    assert header["site_outcome"] in SITE_OUTCOMES


def test_navigation_words_before_the_header_do_not_start_the_body():
    text = "Home\nComplaint\nDecisions\nFenley Council (21 000 111)\nDecision : Upheld\n" + "Summary: S.\n" + BODY
    parsed = parse_page(text)
    assert parsed.header["ref"] == "21 000 111" and parsed.header["site_outcome"] == "Upheld"
    assert parsed.sections["complaint"] == "Mr A complained about parking."


def test_back_to_top_after_the_final_decision_ends_it_but_not_earlier_sections():
    text = ("Summary: S.\nThe complaint\nMr A complained.\nBack to top\nHe wants a refund.\n"
            "Final decision\nWe will not investigate.\nBack to top\nContact us\nAccessibility")
    sections = parse_page(text).sections
    assert sections["complaint"] == "Mr A complained.\nHe wants a refund."
    assert sections["final_decision"] == "We will not investigate."


def test_late_summary_subheading_stays_in_its_section():
    text = "Summary: S.\nWhat I found\nThe Council delayed.\nSummary\nThe delay was fault.\nFinal decision\nDone."
    sections = parse_page(text).sections
    assert sections["summary"] == "S."
    assert sections["assessment"] == "The Council delayed.\nThe delay was fault."


def test_text_after_the_signature_is_dropped_until_a_known_heading():
    text = BODY + "Investigator's decision on behalf of the Ombudsman\nJane Doe\nWhat I have not investigated\nX."
    sections = parse_page(text).sections
    assert sections["final_decision"] == "We will not investigate."
    assert sections["scope"] == "X."


# --- to_dict ---------------------------------------------------------------------------------------------------------
def test_to_dict_matches_the_cli_contract():
    out = parse_page(page("numbered_upheld.html")).to_dict()
    assert list(out) == ["header", "sections"]
    assert tuple(out["header"]) == HEADER_FIELDS
    assert set(out["sections"]) <= set(SECTION_NAMES)
    assert json.loads(json.dumps(out)) == out


def test_parsed_page_defaults_have_every_header_field():
    empty = ParsedPage()
    assert tuple(empty.header) == HEADER_FIELDS
    assert empty.header["site_outcome"] == "unknown" and empty.header["decision_date"] is None


# --- record_from_page ---------------------------------------------------------------------------------------------
def test_record_from_page_fills_the_contract_fields():
    url = "https://www.lgo.org.uk/decisions/housing/homelessness/23-004-512"
    record = record_from_page(page("numbered_upheld.html"), source_url=url)
    sections = parse_page(page("numbered_upheld.html")).sections
    assert isinstance(record, Decision)
    assert (record.id, record.ombudsman, record.ref, record.source_url) == ("lgsco-23-004-512", "LGSCO",
                                                                           "23 004 512", url)
    assert (record.authority, record.category, record.subcategory) == ("Northmoor Borough Council", "Housing",
                                                                       "Homelessness")
    assert (record.site_outcome, record.decision_date, record.outcome) == ("Upheld", "2024-03-14", None)
    assert (record.summary, record.complaint, record.assessment) == (
        sections["summary"], sections["complaint"], sections["assessment"])
    assert record.text == page_text(page("numbered_upheld.html"))
    assert Decision.from_dict(record.to_dict()) == record  # a valid contract record


def test_record_id_keeps_a_reference_suffix():
    assert record_from_page(page("cookie_banner.html")).id == "lgsco-24-001-778a"


def test_record_without_header_takes_the_reference_from_the_url():
    record = record_from_page(seed_text(), source_url="https://www.lgo.org.uk/decisions/x/y/24-010-115")
    assert (record.id, record.ref, record.site_outcome) == ("lgsco-24-010-115", "24 010 115", "unknown")
    assert record.complaint.startswith("Mr X complained")


def test_record_without_any_reference_gets_a_stable_content_id():
    first, again = record_from_page(seed_text()), record_from_page(seed_text())
    other = record_from_page(page("compact_closed.txt").replace(b"(24 011 207)", b""))
    assert first.id.startswith("lgsco-sha-") and first.id == again.id
    assert other.id.startswith("lgsco-sha-") and other.id != first.id


# --- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    (b"", "empty"),
    ("  \n\t \n", "empty"),
    (b"\xef\xbb\xbf  \n", "empty"),
    (b"\x00\x01\xff\xfe\x00binary", "binary"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("text with a NUL \x00 inside", "binary"),
    ("\x01\x02\x03\x04\x05 junk \x06\x07", "binary"),
    (b"Summary: caf\xe9 au lait\nThe complaint\nMr A.", "UTF-8"),
    (12345, "str or bytes"),
])
def test_bad_input_raises_parse_error_naming_the_problem(content, message):
    for function in (parse_page, page_text, record_from_page):
        with pytest.raises(ParseError, match=message):
            function(content)


def test_html_without_a_decision_is_a_parse_error():
    with pytest.raises(ParseError, match=r"no decision found.*Page not found"):
        parse_page(page("not_found.html"))


@pytest.mark.parametrize("text", [
    "Mr X complained that the Council did not collect his bins.",
    "<html><body><p>Hello</p></body></html>",
    "Summary:\nThe complaint\nFinal decision:\n",
])
def test_text_without_decision_sections_is_a_parse_error(text):
    with pytest.raises(ParseError, match="no decision"):
        parse_page(text)


def test_parse_error_is_a_value_error():
    assert issubclass(ParseError, ValueError)


def test_declared_charset_is_used_when_bytes_are_not_utf8():
    html = ('<html><head><meta charset="windows-1252"></head><body><p>Summary: The Council paid £50.</p>'
            '<p>Final decision</p><p>Done.</p></body></html>').encode("cp1252")
    assert parse_page(html).sections["summary"] == "The Council paid £50."


def test_utf8_bom_and_utf16_pages_decode():
    text = "Summary: The Council paid £50.\nFinal decision\nDone."
    expected = parse_page(text)
    assert parse_page(b"\xef\xbb\xbf" + text.encode("utf-8")) == expected
    assert parse_page(text.encode("utf-16")) == expected


def test_deeply_nested_html_does_not_overflow():
    html = "<div>" * 3000 + "<p>Summary: Deep.</p><p>Final decision</p><p>Done.</p>" + "</div>" * 3000
    assert parse_page(html).sections["summary"] == "Deep."


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.lists(st.sampled_from(["Summary:", "The complaint", "Back to top", "1.", "- x", "Final decision",
                                           "Decision : Upheld", "Kent Council (22 001 002)", "<p>", "</p>", "text"]),
                          max_size=12).map("\n".join)))
def test_any_input_parses_or_raises_parse_error(content):
    try:
        parsed = parse_page(content)
    except ParseError:
        return
    assert tuple(parsed.header) == HEADER_FIELDS
    assert parsed.sections and all(text.strip() for text in parsed.sections.values())
    assert list(parsed.sections) == [n for n in SECTION_NAMES if n in parsed.sections]

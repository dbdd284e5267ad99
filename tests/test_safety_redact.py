"""Quoted respondent text loses emails, URLs, phones, postcodes, handles and known names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.safety.redact import Redactor, Span

NAMES = ["Jo", "Smith", "Anne-Marie", "Young", "O'Brien", "X"]
REDACTOR = Redactor(names=NAMES)

KNOWN_PII = [
    "jo.smith@example.org",
    "https://example.com/profile?id=1",
    "www.youthclub.co.uk",
    "example.org/path",
    "07700 900123",
    "(0161) 496 0000",
    "+44 20 7946 0958",
    "SW1A 1AA",
    "m1 1ae",
    "@youthworker_jo",
    "Anne-Marie",
    "O'Brien",
]


def redact(text: str) -> str:
    return REDACTOR.redact(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email me at jo.smith@example.org.", "email me at [email]."),
        ("see https://example.com/a?b=1, thanks", "see [url], thanks"),
        ("http://example.com", "[url]"),
        ("visit www.youthclub.co.uk today", "visit [url] today"),
        ("their page example.org/path)", "their page [url])"),
        ("call 07700 900123 after school", "call [phone] after school"),
        ("office (0161) 496 0000", "office [phone]"),
        ("mum's +44 20 7946 0958", "mum's [phone]"),
        ("lives at SW1A 1AA now", "lives at [postcode] now"),
        ("m1 1ae", "[postcode]"),
        ("we moved to M11AE", "we moved to [postcode]"),
        ("@youthworker_jo posted it", "[handle] posted it"),
        ("Jo Smith said", "[name] [name] said"),
        ("anne-marie came", "[name] came"),
        ("O'Brien's mum", "[name]'s mum"),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    ["lives in M1", "near SW1A", "from B33 originally", "postcode: le1", "estate in LS6 and"],
)
def test_outward_postcodes_are_redacted_in_place_context(text: str) -> None:
    assert "[postcode]" in redact(text)


@pytest.mark.parametrize("text", ["we met in SW1A.", "B33 is rough", "moved to LS6"])
def test_unmistakable_upper_case_outward_codes_are_redacted_anywhere(text: str) -> None:
    assert "[postcode]" in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "Year 9 pupils at the school in Leeds",
        "A&E",
        "CAMHS",
        "£5k",
        "they waited on the M1 for hours",
        "A1 grades and KS3 2nd term",
        "CO2 and N95 masks",
        "Level L3 youth work qualification",
        "aged 11-16 between 2019 and 2023, funding for 2024-2025",
        "Childline 0800 1111 and Samaritans 116 123",
        "meet @ 5pm, or meet@5pm",
        "young people will hope for grace",
        "30% of 230 young people (n=230), e.g. i.e. etc.",
    ],
)
def test_ordinary_youth_work_sentences_are_unchanged(text: str) -> None:
    assert redact(text) == text


def test_email_is_not_mistaken_for_a_handle() -> None:
    assert REDACTOR.find("jo@example.org") == [Span(0, 14, "email")]


def test_find_reports_kind_and_position_for_reviewers() -> None:
    text = "Ring Jo on 07700 900123"
    spans = REDACTOR.find(text)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [
        ("name", "Jo"),
        ("phone", "07700 900123"),
    ]


def test_names_match_whole_words_longest_first_and_ignore_one_letter_entries() -> None:
    r = Redactor(names=["Ann", "Anne-Marie", "X", "Mary Jane"])
    assert (
        r.redact("Anne-Marie, Annette, Ann, X, mary  jane") == "[name], Annette, [name], X, [name]"
    )


def test_everyday_word_names_only_match_when_capitalised() -> None:
    assert redact("young people like Young") == "young people like [name]"


def test_placeholder_words_in_the_deny_list_do_not_loop() -> None:
    r = Redactor(names=["Name", "Email", "Phone"])
    assert r.redact("Name, [name] and phone") == "[name], [name] and [name]"


def test_overlapping_detections_leave_no_fragment() -> None:
    out = redact("https://example.org/?tel=07700900123&u=@jo_smith")
    assert out == "[url]"


texts = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,!?'-")),
    max_size=40,
)
any_text = st.text(max_size=60)


@settings(max_examples=150, deadline=None)
@given(any_text)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(texts, st.sampled_from(KNOWN_PII)), max_size=6))
def test_redaction_is_idempotent_on_text_with_pii(parts: list[str]) -> None:
    once = redact(" ".join(parts))
    assert redact(once) == once


@settings(max_examples=150, deadline=None)
@given(texts, st.sampled_from(KNOWN_PII), texts)
def test_known_pii_never_survives_redaction(before: str, pii: str, after: str) -> None:
    out = redact(f"{before} {pii} {after}")
    assert pii.casefold() not in out.casefold()


# --- issue 11 item 2: identifiers quotes used to let through, and no over-redaction -----------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my NI is QQ123456C ok", "my NI is [ni_number] ok"),
        ("NI number QQ 12 34 56 C.", "NI number [ni_number]."),
        ("DOB 12/03/2009 and in Year 10", "DOB [dob] and in Year 10"),
        ("she was born on 3rd March 2010", "she was born on [dob]"),
        ("date of birth: 2009-03-12", "date of birth: [dob]"),
        ("write to jo dot bloggs at gmail dot com", "write to [email]"),
        ("jo (at) gmail (dot) com", "[email]"),
        ("my name is Kayleigh and I'm 15", "my name is [name] and I'm 15"),
        ("hi my name is kayleigh", "hi my name is [name]"),
        ("see ![x](//host/p.png) now", "see ![x]([url]) now"),
        ("server //192.168.0.10/share", "server [url]"),
        ("it was 10.0.0.1 again", "it was [url] again"),
        ("ftp://files.example.org/a.zip", "[url]"),
        ("Mrs Patel rang and PC Davies came", "Mrs [name] rang and PC [name] came"),
    ],
)
def test_identifiers_that_used_to_reach_quotes_are_redacted(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_a_respondent_called_young_does_not_redact_young_people() -> None:
    r = Redactor(names=["Sam", "Young", "Sam Young"])
    assert r.redact("Young people feel watched.") == "Young people feel watched."
    assert r.redact("It works. Young people come back") == "It works. Young people come back"
    assert r.redact("we met Young at the club") == "we met [name] at the club"
    assert r.redact("Young people told Sam Young") == "Young people told [name]"


@pytest.mark.parametrize(
    "text",
    [
        "my name is not important here",
        "we met at the club dot com launch",
        "born and raised in Leeds",
        "the 2019 cohort, 3.30pm sessions, version 1.2",
        "yes // no and/or",
    ],
)
def test_the_new_rules_leave_ordinary_sentences_alone(text: str) -> None:
    assert Redactor().redact(text) == text

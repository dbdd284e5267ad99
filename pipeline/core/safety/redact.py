"""Offline redaction of quoted respondent text before it reaches a report or a reviewer's sheet.

Nothing leaves the machine: detection is regular expressions plus the ``phonenumbers`` package.
Each detected span is replaced by a placeholder: ``[email]``, ``[url]``, ``[phone]``,
``[postcode]``, ``[handle]``, ``[name]``. Overlapping detections are merged so that no character
of any detection survives. ``redact`` repeats until nothing more is found, so it is idempotent.

Over-redaction is the safe direction here (respondents write about young people and
safeguarding), but over-redacting everyday words would make quotes useless, so the rules below
say exactly where the line is drawn.

**Phones.** ``PhoneNumberMatcher(text, region, leniency=POSSIBLE)`` finds candidates; because that
leniency also accepts years and ranges ("2019", "11-16", "2024-2025"), a candidate is kept only if
it has at least 10 digits, or at least 9 digits and starts with ``+`` or ``0`` (every UK number is
dialled that way). Short public helplines ("0800 1111", "116 123") are therefore kept as written.

**Postcodes.** The postcode area must be a real UK area (AB, AL, B, ... ZE, plus GY, JE, IM), so
"KS3", "A1", "Y11" or "U18" never match. A full postcode (``SW1A 1AA``, ``m1 1ae``, ``M11AE``) is
always redacted, in any case. An outward code alone (``M1``, ``SW1A``, ``B33``) is redacted when

- the word before it is a place word ("in", "near", "nr", "around", "from", "postcode",
  "post code", "area", "district"), in any case; or
- it is written in upper case as a whole word and is unmistakably shaped (two-letter area, or a
  two-digit district, or a trailing letter: ``LS6``, ``B33``, ``W1A``), is not in a short list of
  look-alikes (``CO2``, ``SO2``, ``HS2``, ``N95``, ...) and is not preceded by "the", "vitamin",
  "level", "year", "junction" and similar.

Trade-off: "the M1" and "Level L3" are kept; "stuck on M62" or "G20 summit" are redacted (false
positives we accept); a bare lower-case "se15" without a place word is missed.

**Handles.** ``@`` followed by a letter or underscore, then letters, digits, ``_`` or ``.``; an
``@`` preceded by a word character is an email (or "meet@5pm"), not a handle.

**Names.** A deny-list (the export's own first/last name columns plus any configured list),
matched as whole words, longest first, so a full name ("Sam Young") is found before its parts;
entries shorter than 2 characters are ignored. Names that are also everyday words ("Young",
"Will", "May", "Hope", ...) only match in a proper-noun position: written with a capital letter
and not the first word of a sentence, so "Young people feel watched" and "young people" survive a
respondent called Young while "we met Young" and "Sam Young" do not. Other names match in any
case ("jordan" is still Jordan). A name typed after "my name is" / "I'm called" / "call me" is
redacted whether or not it is on the list, and so is a surname after a title ("Mrs Patel",
"PC Davies", "Cllr Ahmed"). Names of other people (not on the list, no title) are not
found: no offline named-entity recogniser was good enough to ship (docs/reliability.md).

**Identifiers.** National Insurance numbers (``QQ123456C``, ``QQ 12 34 56 C``, the two-letter
prefixes HMRC issues) become ``[ni_number]``; a date after "DOB", "date of birth", "born (on|in)"
or "birthday" becomes ``[dob]``; e-mail addresses spelled out to dodge filters ("jo dot bloggs
at gmail dot com", "jo (at) gmail (dot) com") are ``[email]``; protocol-relative links
(``//host/p.png``), any ``scheme://`` link and bare IPv4 addresses are ``[url]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
import polars as pl
from phonenumbers import Leniency

KINDS = ("email", "url", "phone", "postcode", "handle", "ni_number", "dob", "name")
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(KINDS) + r")\]")
_MAX_PASSES = 10


@dataclass(frozen=True, order=True)
class Span:
    """One detection: ``text[start:end]`` is replaced by ``[kind]``."""

    start: int
    end: int
    kind: str


# --- emails, URLs, handles ---------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.%+'-]+@(?:[\w-]+\.)+[\w-]{2,}")
_TLDS = (
    "com|org|net|uk|io|co|info|biz|me|tv|app|dev|ly|gov|edu|ac|sch|nhs|police|eu|ie|scot|wales|"
    "cymru|london|online|site|xyz|ai|gg|fm|page|link|us|ca|au|de|fr|blog|shop|club|live|social"
)
_URL = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"]+"
    r"|(?<![\w:/])//[\w-]+(?:(?:\.[\w-]+)+(?::\d+)?(?:/[^\s<>\"]*)?|(?::\d+)?/[^\s<>\"]*)"
    r"|(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:/[^\s<>\"]*)?(?![\w.])"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:"
    + _TLDS
    + r")(?![\w-])(?:/[^\s<>\"]*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\"»”’"
_HANDLE = re.compile(r"(?<![\w@.+-])@[A-Za-z_][\w.]*\w|(?<![\w@.+-])@[A-Za-z_]")


def _trim_url(text: str, start: int, end: int) -> int:
    """Drop sentence punctuation after a URL, keeping a ')' that closes a '(' inside it."""
    while end > start and text[end - 1] in _URL_TRAILING:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


_DOT = r"(?:\s*\.\s*|\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+)"
_AT = r"(?:\s*@\s*|\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+)"
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.])[\w+'-]+(?:" + _DOT + r"[\w+'-]+)*" + _AT
    + r"[\w-]+(?:" + _DOT + r"[\w-]+)*" + _DOT + r"(?:" + _TLDS + r")(?![\w-])",
    re.IGNORECASE,
)  # fmt: skip
_NI_NUMBER = re.compile(
    r"(?<![\w])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-Z]{2}"
    r"[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D](?![\w])",
    re.IGNORECASE,
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}(?:st|nd|rd|th)?(?:\s+of)?\s+" + _MONTHS + r"(?:,?\s+\d{4})?"
    r"|" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
    r"|(?<=in )(?:" + _MONTHS + r"\s+)?\d{4})"
)
_DOB = re.compile(
    r"(?:\bd\.?o\.?b\b\.?|\bdate of birth\b|\bborn(?:\s+on|\s+in)?\b|\bbirthday(?:\s+is)?\b)"
    r"[\s:,-]*(?:is\s+)?(?:on\s+|in\s+)?(" + _DATE + r")(?![\w/])",
    re.IGNORECASE,
)


def _regex_spans(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    spans += [Span(m.start(), m.end(), "email") for m in _SPELLED_EMAIL.finditer(text)]
    spans += [Span(m.start(), m.end(), "ni_number") for m in _NI_NUMBER.finditer(text)]
    spans += [Span(m.start(1), m.end(1), "dob") for m in _DOB.finditer(text)]
    for m in _URL.finditer(text):
        end = _trim_url(text, m.start(), m.end())
        if end - m.start() > 4:
            spans.append(Span(m.start(), end, "url"))
    spans += [Span(m.start(), m.end(), "handle") for m in _HANDLE.finditer(text)]
    return spans


# --- phones ------------------------------------------------------------------------------------


def _looks_dialled(raw: str) -> bool:
    digits = sum(ch.isdigit() for ch in raw)
    return digits >= 10 or (digits >= 9 and raw.lstrip("( ").startswith(("+", "0")))


def _phone_spans(text: str, region: str) -> list[Span]:
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE)
    return [Span(m.start, m.end, "phone") for m in matcher if _looks_dialled(m.raw_string)]


# --- postcodes ---------------------------------------------------------------------------------

_AREAS = re.findall(
    r"\w+",
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E"
    " EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL"
    " LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM"
    " SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE",
)
_AREA = "(?:" + "|".join(sorted(_AREAS, key=len, reverse=True)) + ")"
_OUTWARD = _AREA + r"(?:\d[A-Z]|\d{1,2})"
_FULL_POSTCODE = re.compile(
    r"(?<![\w])" + _OUTWARD + r" ?\d[ABD-HJLNP-UW-Z]{2}(?![\w])", re.IGNORECASE
)
_OUTWARD_ONLY = re.compile(r"(?<![\w£$€#-])(" + _OUTWARD + r")(?![\w-])", re.IGNORECASE)
_PLACE_WORD = re.compile(
    r"(?<![\w\[])(?:in|near|nr|around|from|postcode|post code|area|district)[\s:,]{1,3}$",
    re.IGNORECASE,
)
_NOT_PLACE_WORD = re.compile(
    r"(?<![\w\[])(?:the|vitamin|level|year|stage|grade|junction|version|room|page|form|unit|"
    r"route|bus|no|number|size|model|type)[\s.:,]{1,3}$",
    re.IGNORECASE,
)
_LOOKALIKES = frozenset({"CO2", "SO2", "HS2", "N95", "CH4", "E2E", "B2B", "S4C", "G20", "G7"})


def _outward_is_postcode(text: str, start: int, code: str) -> bool:
    before = text[max(0, start - 20) : start]
    if _PLACE_WORD.search(before):
        return True
    if code != code.upper() or code in _LOOKALIKES or _NOT_PLACE_WORD.search(before):
        return False
    area = re.match(r"[A-Z]+", code)
    district = code[len(area.group()) :] if area else ""
    return len(area.group() if area else "") == 2 or len(district) == 2


def _postcode_spans(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "postcode") for m in _FULL_POSTCODE.finditer(text)]
    for m in _OUTWARD_ONLY.finditer(text):
        if _outward_is_postcode(text, m.start(), m.group(1)):
            spans.append(Span(m.start(), m.end(), "postcode"))
    return spans


# --- names -------------------------------------------------------------------------------------

EVERYDAY_WORD_NAMES = frozenset(
    re.findall(
        r"\w+",
        """a an and as at be by do go he if in is it me my no of on or so to up us we
        young will may hope grace rose faith joy mark bill pat rich sue don art guy frank earl
        dean hunter king long white brown green black wood hill hall little page case field ward
        rice hay hunt cook price best bell lane park love summer dawn sky jack chase carter mason
        miles sterling ray penny rob victor major fair hart""",
    )
)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = {" ".join(str(n).split()) for n in names if n is not None}
    cleaned = {n for n in cleaned if len(n) >= 2}
    if not cleaned:
        return None
    ordered = sorted(cleaned, key=lambda n: (-len(n), n.casefold()))
    alternatives = [r"\s+".join(re.escape(part) for part in n.split(" ")) for n in ordered]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


_SENTENCE_START = re.compile(r"(?:^|[.!?\u2026:;\n][\"')\]\u201d\u2019]*\s+)[\"'(\[\u201c\u2018]*$")
_STATED_NAME = re.compile(
    r"\b(?:my name is|my name's|i am called|i'm called|im called|call me|my names)\s+"
    r"((?!(?:not|a|an|the|on|in|at|and|or|but|so|just|very|not|private|confidential)\b)"
    r"[^\W\d_][\w'-]*(?-i:(?:\s+[A-Z][\w'-]+){0,2}))",
    re.IGNORECASE,
)


_TITLED_NAME = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|PC|PCSO|DC|DS|DI|Sgt|Cllr|Rev|Revd|Father|Sister|Nurse)\.?"
    r"\s+((?:[A-Z]\.?\s+)?[A-Z][\w'-]+(?:-[A-Z][\w'-]+)?)"
)


def _proper_noun_position(text: str, start: int, word: str) -> bool:
    """Capitalised (not shouted) and not the first word of a sentence."""
    if not word[0].isupper() or (len(word) > 1 and word.isupper()):
        return False
    return not _SENTENCE_START.search(text[max(0, start - 6) : start])


def _name_spans(text: str, pattern: re.Pattern[str] | None) -> list[Span]:
    spans = [Span(m.start(1), m.end(1), "name") for m in _STATED_NAME.finditer(text)]
    spans += [Span(m.start(1), m.end(1), "name") for m in _TITLED_NAME.finditer(text)]
    if pattern is None:
        return spans
    for m in pattern.finditer(text):
        word = m.group()
        if word.casefold() in EVERYDAY_WORD_NAMES and not _proper_noun_position(
            text, m.start(), word
        ):
            continue
        spans.append(Span(m.start(), m.end(), "name"))
    return spans


# --- resolving and replacing -------------------------------------------------------------------


def _inside_placeholder(span: Span, placeholders: list[tuple[int, int]]) -> bool:
    return any(a <= span.start and span.end <= b for a, b in placeholders)


def _merge(spans: list[Span]) -> list[Span]:
    """Union overlapping spans so nothing detected survives; the earliest, longest one names it."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, KINDS.index(s.kind))):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


class Redactor:
    """Finds and replaces personal details in free text; build once, reuse for every answer."""

    def __init__(self, names: Iterable[str] = (), region: str = "GB") -> None:
        self.region = region
        self._names = _name_pattern(names)

    def find(self, text: str) -> list[Span]:
        """What one pass would redact, as merged, non-overlapping spans in text order."""
        placeholders = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        found = [
            *_regex_spans(text),
            *_phone_spans(text, self.region),
            *_postcode_spans(text),
            *_name_spans(text, self._names),
        ]
        return _merge([s for s in found if not _inside_placeholder(s, placeholders)])

    def redact(self, text: str) -> str:
        """``text`` with every detection replaced by its placeholder (repeated to a fixed point)."""
        for _ in range(_MAX_PASSES):
            spans = self.find(text)
            if not spans:
                return text
            text = _replace(text, spans)
        return text


def _replace(text: str, spans: list[Span]) -> str:
    parts, cursor = [], 0
    for span in spans:
        parts += [text[cursor : span.start], f"[{span.kind}]"]
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def redact_columns(
    df: pl.DataFrame, columns: Iterable[str], redactor: Redactor | None = None
) -> pl.DataFrame:
    """``df`` with respondent text in ``columns`` redacted: the one call every working file
    (survey ``other_review.csv``, JOQ ``review.xlsx`` / ``other_review.csv``) makes at write time.

    Each distinct value is redacted once; nulls stay null; other columns are untouched.
    """
    r = redactor or Redactor()
    present = [c for c in columns if c in df.columns]
    return df.with_columns(
        pl.col(c).map_elements(r.redact, return_dtype=pl.String, skip_nulls=True) for c in present
    )

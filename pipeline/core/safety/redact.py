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
matched case-insensitively as whole words, longest first; entries shorter than 2 characters are
ignored. Names that are also everyday words ("Young", "Will", "May", "Hope", ...) only match when
written with a capital letter, so "young people" survives a respondent called Young.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency

KINDS = ("email", "url", "phone", "postcode", "handle", "name")
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
    r"(?:https?://|www\.)[^\s<>\"]+"
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


def _regex_spans(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
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


def _name_spans(text: str, pattern: re.Pattern[str] | None) -> list[Span]:
    if pattern is None:
        return []
    spans = []
    for m in pattern.finditer(text):
        if m.group().casefold() in EVERYDAY_WORD_NAMES and not m.group()[0].isupper():
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

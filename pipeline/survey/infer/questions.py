"""Question candidates -> draft questions: type, options, "Other" text, and why each was chosen.

Rules, applied to each group of columns (``infer.columns.Group``):

- a column under "Other (please specify)" (or a Qualtrics ``_TEXT`` column) whose cells are free
  text is the "Other" box of its question;
- one remaining column: single choice when its answers repeat (few distinct values; a known scale
  makes it Likert), otherwise number, date or open text by what the cells hold;
- several columns whose cells are each blank or one value (the option's label, or 1/yes/x):
  multi-select; "expanded single choice" when every answering row filled exactly one;
- several columns holding whole numbers 1..k, each row's numbers distinct: a ranking (one
  question per ranked item, its rank the answer);
- otherwise a matrix: one question per row-2 item, sharing one answer scale (Likert when known).

Every decision is written into the question's ``inferred`` field so the analyst can check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.core.text import norm
from pipeline.survey.infer.columns import Column, Group, Profile
from pipeline.survey.infer.scales import NON_SUBSTANTIVE, ScaleMatch, match_scale
from pipeline.survey.ingest.declared import QUALTRICS
from pipeline.survey.ingest.mapping import TRUTHY

SM_RESPONSE = "response"
SM_OPEN = "open-ended response"
OTHER = re.compile(r"^other \(please specify\)$|^other.*specify|^other \(.*\)$")
NUMBER = re.compile(r"^[-+]?\d+([.,]\d+)?$")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")
MAX_CHOICES = 30  # more distinct answers than this: not a closed question
STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "to",
        "for",
        "and",
        "or",
        "you",
        "your",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "be",
        "have",
        "has",
        "what",
        "which",
        "how",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "please",
        "following",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "any",
        "all",
        "with",
        "from",
        "by",
        "at",
        "as",
        "if",
        "would",
        "will",
        "can",
        "could",
        "should",
        "typically",
    ]
)


@dataclass
class DraftOption:
    code: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass
class DraftQuestion:
    """One question of the draft, with the export columns its mapped columns come from."""

    id: str
    type: str  # single, multi, likert, text, number, date
    text: str
    inferred: str
    columns: dict[str, Column]  # mapped column name -> export column (filled by ``finish``)
    options: list[DraftOption] = field(default_factory=list)
    option_set: str | None = None  # likert / matrix: the shared scale's name
    scale: ScaleMatch | None = None
    other: Column | None = None
    value_columns: list[Column] = field(default_factory=list)  # option or value columns
    max_choices: int | None = None
    block: str = "main"


def slug(text: str, limit: int = 40) -> str:
    t = norm(text).replace(">", " over ").replace("<", " under ").replace("%", " pct ")
    t = t.replace("+", " plus ").replace("&", " and ")
    t = re.sub(r"[^a-z0-9]+", "_", t.encode("ascii", "ignore").decode()).strip("_")
    return t[:limit].rstrip("_")


def question_slug(text: str, words: int = 5) -> str:
    kept = [w for w in re.findall(r"[a-z0-9]+", slug(text, 400).replace("_", " ")) if w not in STOP]
    return "_".join(kept[:words]) or "q"


class Ids:
    """Unique snake_case ids: a repeat gets _2, _3. Question ids start with a letter; option
    codes need not (a rank or a Qualtrics choice code stays '1')."""

    def __init__(self, letter_first: bool = True) -> None:
        self.used: set[str] = set()
        self.letter_first = letter_first

    def take(self, base: str) -> str:
        if self.letter_first and not (base and base[0].isalpha()):
            base = f"q_{base}".rstrip("_")
        out, n = base, 1
        while out in self.used:
            n += 1
            out = f"{base}_{n}"
        self.used.add(out)
        return out


def _is_number(v: str) -> bool:
    return bool(NUMBER.match(v))


def _is_date(v: str) -> bool:
    for fmt in DATE_FORMATS:
        try:
            datetime.strptime(v, fmt)
            return True
        except ValueError:
            continue
    return False


def _options(values: list[str], codes: Ids) -> list[DraftOption]:
    """One option per distinct answer (answers equal once normalised become aliases)."""
    by_norm: dict[str, list[str]] = {}
    for v in values:
        by_norm.setdefault(norm(v), []).append(v)
    out = []
    for variants in by_norm.values():
        label = variants[0]
        out.append(DraftOption(codes.take(slug(label) or "opt"), label, tuple(variants[1:])))
    return out


def _order(values: list[str], counts: dict[str, int]) -> tuple[list[str], str]:
    """Answers in a readable order: by leading number when every answer has one, else by
    frequency (ties: first seen). Returns the order and how it was chosen."""

    def lead(v: str) -> float | None:
        m = re.search(r"\d[\d,]*(\.\d+)?", v)
        return float(m.group(0).replace(",", "")) if m else None

    numbered = [v for v in values if lead(v) is not None]
    rest = [v for v in values if lead(v) is None]
    if len(numbered) > 1 and all(NON_SUBSTANTIVE.match(norm(v)) for v in rest):
        ordered = sorted(numbered, key=lambda v: (lead(v), _bound(v)))
        how = "by the number in each label" + (", non-answers last" if rest else "")
        return ordered + sorted(rest, key=lambda v: -counts[v]), how
    return sorted(values, key=lambda v: -counts[v]), "by frequency in this export"


def _span(cols: list[Column]) -> str:
    if len(cols) == 1:
        return f"column {cols[0].number}"
    return f"columns {cols[0].number}-{cols[-1].number}"


def _bound(label: str) -> int:
    """-1 for 'under 1', +1 for 'over 5' / '250+': orders open-ended bands around their number."""
    n = norm(label)
    if re.match(r"^\s*(<|under|less than|fewer than|up to|below)", n):
        return -1
    if re.match(r"^\s*(>|over|more than|above)", n) or re.search(r"\d\s*(\+|or more|plus)", n):
        return 1
    return 0


def _closed(col: Column, sub: str, layout: str) -> bool:
    """Do this column's answers look like a closed question's options?"""
    vals = col.values
    if not vals:
        return False
    if sub == SM_OPEN:
        return False
    if layout in QUALTRICS and all(_is_number(v) for v in vals):
        return len(vals) <= 12 and all(re.fullmatch(r"-?\d+", v) for v in vals)
    # long answers are typed text, unless they repeat like option labels do
    long = sum(len(v) for v in vals) / len(vals) > 60 and col.answered < 5 * len(vals)
    if sub == SM_RESPONSE:
        return len(vals) <= 60 and not long
    if all(_is_number(v) for v in vals):
        return len(vals) <= 12 and col.answered >= 2 * len(vals)
    return len(vals) <= MAX_CHOICES and len(vals) * 2 <= col.answered and not long


def _value_type(col: Column) -> tuple[str, str]:
    vals = col.values
    if not vals:
        return "text", "no answers in this export: type unknown, read as open text"
    if all(_is_number(v) for v in vals):
        return "number", f"every answer is a number ({len(vals)} distinct)"
    if all(_is_date(v) for v in vals):
        return "date", "every answer is a date"
    return "text", f"open text ({len(vals)} distinct answers in {col.answered} rows)"


def _is_other(col: Column, sub: str, layout: str) -> bool:
    if layout in QUALTRICS:
        return (col.header.key or "").endswith("_TEXT")
    if not OTHER.match(norm(sub)):
        return False
    return not (col.values and all(norm(v) == norm(sub) for v in col.values))


def _checkbox(col: Column, sub: str, layout: str) -> bool:
    """Blank or one value: the option's label (SurveyMonkey) or 1 (Qualtrics)."""
    vals = {norm(v) for v in col.values}
    if layout in QUALTRICS:
        return vals <= {"1"}
    return len(vals) <= 1


class Inferrer:
    """Turns groups into draft questions, sharing ids, option codes and scales across them."""

    def __init__(self, prof: Profile) -> None:
        self.prof = prof
        self.ids = Ids()
        self.scales: dict[tuple[str, ...], str] = {}  # ordered labels -> option set name
        self.set_names = Ids()

    def cells(self, col: Column) -> list[str]:
        return self.prof.cells(col)

    def questions(self, groups: list[Group]) -> list[DraftQuestion]:
        return [q for g in groups for q in self.group(g)]

    def group(self, g: Group) -> list[DraftQuestion]:
        layout = self.prof.layout
        pairs = list(zip(g.columns, g.subs, strict=True))
        others = [(c, s) for c, s in pairs if _is_other(c, s, layout)]
        main = [(c, s) for c, s in pairs if (c, s) not in others]
        base = question_slug(g.text) if layout not in QUALTRICS else slug(g.stem or g.text, 30)
        if not main:  # only text boxes
            return [self._text(base, g.text, c, f"{s}") for c, s in others]
        lone_option = (
            len(main) == 1
            and layout not in QUALTRICS
            and norm(main[0][1]) not in ("", SM_RESPONSE, SM_OPEN)
            and {norm(v) for v in main[0][0].values} <= {norm(main[0][1])}
        )
        if len(main) == 1 and not lone_option:
            col, sub = main[0]
            q = self._single_column(base, g.text, col, norm(sub))
        elif all(_checkbox(c, s, layout) for c, s in main):
            q = self._multi(base, g.text, main)
        elif self._ranking(main):
            return self._ranking_items(base, g.text, main) + [
                self._text(base + "_other", g.text, c, s) for c, s in others
            ]
        else:
            return self._matrix(base, g.text, main) + [
                self._text(base + "_other", g.text, c, s) for c, s in others
            ]
        extra = []
        if others and q.type in ("single", "likert", "multi"):
            q.other = others[0][0]
            q.inferred += f"; column {q.other.number} is its 'Other (please specify)' text"
            extra = others[1:]
        else:
            extra = others
        return [q] + [self._text(q.id + "_text", g.text, c, s) for c, s in extra]

    # -- shapes --------------------------------------------------------------------------------

    def _single_column(self, base: str, text: str, col: Column, sub: str) -> DraftQuestion:
        where = f"column {col.number}"
        if _closed(col, sub, self.prof.layout):
            q = DraftQuestion(self.ids.take(base), "single", text, "", {}, value_columns=[col])
            self._scale(q, col.values, dict(col.counts))
            q.inferred = f"{where}: {q.inferred}"
            return q
        kind, why = _value_type(col)
        return DraftQuestion(
            self.ids.take(base), kind, text, f"{where}: {why}", {}, value_columns=[col]
        )

    def _scale(self, q: DraftQuestion, values: list[str], counts: dict[str, int]) -> None:
        """Options of a closed question (or a matrix's shared scale): a known scale is ordered."""
        m = match_scale(values)
        codes = Ids(letter_first=False)
        if m:
            q.type, q.scale = "likert", m
            q.options = _options(list(m.ordered), codes)
            labels = tuple(o.label for o in q.options)
            if labels not in self.scales:
                self.scales[labels] = self.set_names.take(m.scale.name)
            q.option_set = self.scales[labels]
            q.inferred = f"single choice on the known '{m.scale.name}' scale (ordered, with nets)"
            return
        ordered, how = _order(values, counts)
        if self.prof.layout in QUALTRICS and all(_is_number(v) for v in values):
            ordered, how = sorted(values, key=float), "by code"
            q.inferred = (
                "single choice; Qualtrics exported choice codes, not labels: write each label"
            )
        else:
            q.inferred = f"single choice ({len(values)} distinct answers), options ordered {how}"
        q.options = _options(ordered, codes)

    def _multi(self, base: str, text: str, main: list[tuple[Column, str]]) -> DraftQuestion:
        codes = Ids(letter_first=False)
        cols = [c for c, _ in main]
        q = DraftQuestion(self.ids.take(base), "multi", text, "", {}, value_columns=cols)
        for c, sub in main:
            label = sub or c.key
            aliases = tuple(v for v in c.values if norm(v) not in {norm(label)} | TRUTHY)
            q.options.append(DraftOption(codes.take(slug(label) or "opt"), label, aliases))
        span = _span(cols)
        filled = self._filled_per_row(cols)
        answering = [n for n in filled if n]
        if answering and max(answering) == 1 and len(answering) >= 5:
            q.max_choices = 1
            q.inferred = (
                f"{span}: expanded single choice (one column per option; every one of "
                f"{len(answering)} answering rows filled exactly one); tabulated as multi-select "
                "with max_choices 1, so percentages are those of a single choice"
            )
        else:
            cell = "1" if self.prof.layout in QUALTRICS else "option text"
            q.inferred = (
                f"{span}: multi-select (one column per option, cell = {cell} or blank; "
                f"{len(answering)} rows ticked at least one)"
            )
        return q

    def _filled_per_row(self, cols: list[Column]) -> list[int]:
        per_col = [self.cells(c) for c in cols]
        return [sum(1 for cell in row if cell) for row in zip(*per_col, strict=True)]

    def _ranking(self, main: list[tuple[Column, str]]) -> bool:
        if self.prof.layout in QUALTRICS or len(main) < 3:
            return False
        k = len(main)
        vals = {v for c, _ in main for v in c.values}
        if not vals or not all(re.fullmatch(r"\d+", v) and 1 <= int(v) <= k for v in vals):
            return False
        for row in zip(*(self.cells(c) for c, _ in main), strict=True):
            given = [v for v in row if v]
            if len(given) != len(set(given)):
                return False
        return True

    def _ranking_items(
        self, base: str, text: str, main: list[tuple[Column, str]]
    ) -> list[DraftQuestion]:
        k = len(main)
        out = []
        ranks = [str(i) for i in range(1, k + 1)]
        name = self.set_names.take(f"{base}_rank")
        for c, sub in main:
            q = DraftQuestion(
                self.ids.take(f"{base}_{slug(sub, 24)}"),
                "single",
                f"{text} — {sub}",
                f"column {c.number}: ranking item '{sub}' (ranks 1-{k}, each row's ranks distinct); "
                "the answer is its rank, 1 = first",
                {},
                value_columns=[c],
            )
            q.options = [DraftOption(r, f"Ranked {r}") for r in ranks]
            q.option_set = name
            out.append(q)
        return out

    def _matrix(self, base: str, text: str, main: list[tuple[Column, str]]) -> list[DraftQuestion]:
        counts: dict[str, int] = {}
        for c, _ in main:
            for v, n in c.counts.items():
                counts[v] = counts.get(v, 0) + n
        values = list(counts)
        cols = [c for c, _ in main]
        if values and all(_is_number(v) for v in values) and len(values) > 12:
            return [
                DraftQuestion(
                    self.ids.take(f"{base}_{slug(s, 24)}"),
                    "number",
                    f"{text} — {s}",
                    f"column {c.number}: matrix item '{s}', numeric answers",
                    {},
                    value_columns=[c],
                )
                for c, s in main
            ]
        proto = DraftQuestion("", "single", text, "", {})
        self._scale(proto, values, counts)
        if proto.option_set is None:
            proto.option_set = self.set_names.take(f"{base}_scale")
        span = f"columns {cols[0].number}-{cols[-1].number}"
        out = []
        for c, s in main:
            q = DraftQuestion(
                self.ids.take(f"{base}_{slug(s, 24)}"),
                proto.type,
                f"{text} — {s}",
                f"column {c.number}: matrix item '{s}' of {span}; {proto.inferred}",
                {},
                options=proto.options,
                option_set=proto.option_set,
                scale=proto.scale,
                value_columns=[c],
            )
            out.append(q)
        return out

    def _text(self, base: str, text: str, col: Column, sub: str) -> DraftQuestion:
        kind, why = _value_type(col)
        label = f"{text} — {sub}" if sub and norm(sub) not in (SM_OPEN, SM_RESPONSE) else text
        return DraftQuestion(
            self.ids.take(base), kind, label, f"column {col.number}: {why}", {}, value_columns=[col]
        )

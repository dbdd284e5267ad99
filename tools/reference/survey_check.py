"""Independent check: recompute every published value from the raw synthetic CSV.

Deliberately small and separate from the pipeline (and from the allocator): it reads the export
with the csv module, applies the spec's declared cleaning (identical answers from one collector,
background-only partials, reviewed recodes, routing) and computes each published value with the
base the report uses (respondents shown and answering the question). ``make verify`` will later do
the same through the real pipeline; this is the generator's own acceptance test.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from pipeline.core import config
from pipeline.survey.published import PublishedValue, load_published
from pipeline.survey.questionnaire import CHOICE_TYPES, Questionnaire, load_questionnaire
from tools.reference.survey_targets import round_half_up

N_META = 9
NOT_ENGLAND = ("CF", "SA", "NP", "LL", "LD", "G", "EH", "DD", "AB", "KY", "PA", "BT", "IV", "FK")
Resp = dict[str, object]


@dataclass
class Survey:
    """The raw rows, the cleaning funnel and the usable respondents (decoded)."""

    raw: int
    duplicates: int
    partials: int
    usable: list[Resp]
    other_sector: int
    recoded: int


def read_export(path: Path, spec: Questionnaire) -> tuple[list[dict[str, str]], list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    names = [c.name for c in spec.columns]
    meta = rows[0][:N_META]
    data = [dict(zip(meta + names, r, strict=True)) for r in rows[2:]]
    return data, names


def decode(spec: Questionnaire, cells: dict[str, str]) -> Resp:
    """Cells -> codes: single/likert a code, multi a set (None when nothing ticked), text as is."""
    out: Resp = {}
    for inst in spec.instances:
        q = inst.question
        if q.type == "multi":
            ticked = {o.code for o in inst.options if cells[f"{inst.id}__{o.code}"]}
            out[inst.id] = ticked or None
        elif q.type in CHOICE_TYPES:
            codes = {o.label: o.code for o in inst.options}
            out[inst.id] = codes.get(cells[inst.id]) if cells[inst.id] else None
        else:
            out[inst.id] = cells[inst.id] or None
        if f"{inst.id}__other_text" in cells:
            out[f"{inst.id}__other_text"] = cells[f"{inst.id}__other_text"]
    return out


def clean(path: Path, spec: Questionnaire) -> Survey:
    data, names = read_export(path, spec)
    background = set(spec.block_columns(spec.model.cleaning.partial_after_block))
    later = [n for n in names if n not in background]
    seen: set[tuple[str, ...]] = set()
    kept, dupes, partial = [], 0, 0
    for row in sorted(
        data, key=lambda r: datetime.strptime(r["Start Date"], "%m/%d/%Y %I:%M:%S %p")
    ):
        key = (row["Collector ID"], *(row[n] for n in names))
        if key in seen:
            dupes += 1
            continue
        seen.add(key)
        if not any(row[n] for n in later):
            partial += 1
            continue
        kept.append(decode(spec, row))
    recodes = config.read(spec.directory / "recodes.yaml", "recode table").data
    table = {e["text"].strip(): e["category"] for e in recodes["entries"]}
    other = recoded = 0
    route_of = spec.route_of_sector()
    for r in kept:
        if r["sector"] == "other":
            other += 1
            cat = table.get(str(r.get("sector__other_text") or "").strip(), "other")
            recoded += cat != "other"
            r["sector"] = cat
        r["_route"] = route_of[str(r["sector"])]
    return Survey(len(data), dupes, partial, kept, other, recoded)


# ---------------------------------------------------------------------- computing values
@dataclass
class Computed:
    n: int | None = None
    base: int | None = None
    ratio: Fraction | None = None

    @property
    def share(self) -> Fraction | None:
        return Fraction(100 * self.n, self.base) if self.n is not None and self.base else None


class Calculator:
    def __init__(
        self, spec: Questionnaire, survey: Survey, charted: frozenset[str] = frozenset()
    ) -> None:
        self.spec = spec
        self.s = survey
        self.items = [i.code for i in spec.model.loops["youth_sectors"].items]
        self.charted = charted  # Figure 5-3's purposes: 5.15's base counts only these

    def people(self, question: str) -> list[Resp]:
        route = self.spec.question(question).route
        return [r for r in self.s.usable if route is None or r["_route"] == route]

    def option_share(self, v: PublishedValue) -> Computed:
        q = self.spec.question(v.question or "")
        key = f"{q.id}_{v.group}" if q.loop else q.id
        answered = [r[key] for r in self.people(q.id) if r.get(key) is not None]
        codes = {v.row}
        if v.statistic == "likert_net":
            codes = set(self.spec.nets(q)[v.row].codes)
        hit = sum(1 for a in answered if (a & codes if isinstance(a, set) else a in codes))
        return Computed(hit, len(answered))

    def interactions(self) -> list[tuple[Resp, str]]:
        return [(r, g) for r in self.people("interacted") for g in self.items
                if r.get(f"interacted_{g}") == "yes"]  # fmt: skip

    def singles(self, purpose: str | None = None) -> list[str]:
        """Arrangements of interactions whose top three is exactly one purpose (Figure 5-3 unit):
        that purpose, or with none given any of Figure 5-3's purposes (5.15)."""
        out = []
        wanted = {purpose} if purpose is not None else self.charted
        for r, g in self.interactions():
            top = r.get(f"top3_{g}")
            if isinstance(top, set) and len(top) == 1 and top <= wanted:
                out.append(str(r.get(f"arrangement_{g}")))
        return out

    def ratio(self, purpose: str) -> Computed:
        arr = self.singles(purpose)
        f, i = arr.count("formal"), arr.count("informal")
        return Computed(len(arr), len(arr), Fraction(f, i) if i else None)

    def special(self, v: PublishedValue) -> Computed:
        s = self.s
        table: dict[str, Callable[[], Computed]] = {
            "raw": lambda: Computed(s.raw),
            "removed_duplicate": lambda: Computed(s.duplicates),
            "removed_partial": lambda: Computed(s.partials),
            "usable": lambda: Computed(len(s.usable)),
            "other_sector": lambda: Computed(s.other_sector),
            "other_recoded": lambda: Computed(s.recoded),
            "route_youth": lambda: Computed(len(self.people("interacted")), len(s.usable)),
            "route_allied": lambda: Computed(len(self.people("allied_interacted")), len(s.usable)),
            "outside_england": self._outside_england,
            "four_plus_sectors": self._four_plus,
            "education_if_targeted": self._education_if_targeted,
            "informal_practitioner_over_5": lambda: self._informal("practitioner"),
            "informal_leader_over_5": lambda: self._informal("leader"),
            "monthly_or_less": self._monthly_or_less,
        }
        if v.row in table:
            return table[v.row]()
        if v.statistic == "ratio":
            return self.ratio(v.row)
        if v.figure_id == "text-5.15":
            arr = self.singles()
            return Computed(arr.count("combination"), len(arr))
        return self.option_share(v)

    def _outside_england(self) -> Computed:
        def area(pc: str) -> str:
            return "".join(ch for ch in pc.split(" ")[0] if ch.isalpha())

        pcs = [str(r["postcode"]) for r in self.s.usable if r.get("postcode")]
        return Computed(sum(area(p) in NOT_ENGLAND for p in pcs), len(pcs))

    def _four_plus(self) -> Computed:
        youth = self.people("interacted")
        deg = [sum(r.get(f"interacted_{g}") == "yes" for g in self.items) for r in youth]
        return Computed(sum(d >= 4 for d in deg), len(youth))

    def _education_if_targeted(self) -> Computed:
        targeted = [r for r in self.people("interacted")
                    if any(r.get(f"interacted_{g}") == "yes" for g in ("social_care", "health_care", "youth_justice"))]  # fmt: skip
        return Computed(
            sum(r.get("interacted_education") == "yes" for r in targeted), len(targeted)
        )

    def _informal(self, role: str) -> Computed:
        arr = [str(r.get(f"arrangement_{g}")) for r, g in self.interactions()
               if r.get("role") == role and r.get("tenure") == "over_5"]  # fmt: skip
        return Computed(arr.count("informal"), len(arr))

    def _monthly_or_less(self) -> Computed:
        answered = [
            r["allied_frequency"]
            for r in self.people("allied_frequency")
            if r.get("allied_frequency")
        ]
        low = {"monthly", "quarterly", "six_monthly", "yearly"}
        return Computed(sum(a in low for a in answered), len(answered))


def judge(v: PublishedValue, c: Computed) -> tuple[str, bool]:
    """(computed, as printed; matches?) under the value's qualifier."""
    if v.ratio is not None:
        if c.ratio is None:
            return "no ratio", False
        got = Fraction(round_half_up(100 * c.ratio), 100)
        ok = (
            abs(c.ratio - Fraction(str(v.ratio))) <= Fraction(5, 100)
            if v.qualifier
            else got == Fraction(str(v.ratio))
        )
        if v.base is not None:
            ok = ok and c.n == v.base
        return f"{float(got):.2f} (n={c.n})", ok
    share = c.share
    text = f"n={c.n}" + (f"/{c.base} = {float(share):.1f}%" if share is not None else "")
    ok = True
    if v.n is not None:
        ok = ok and c.n == v.n
    if v.pct is not None and share is not None:
        ok = ok and _pct_ok(v, share)
    if v.base is not None and c.base is not None and v.statistic not in ("count",):
        ok = ok and c.base == v.base
    return text, ok


def _pct_ok(v: PublishedValue, share: Fraction) -> bool:
    p = v.pct or 0
    if v.qualifier == "nearly":
        return p - 5 <= share < p
    if v.qualifier == "more_than":
        return share > p
    if v.qualifier == "at_most":
        return share <= p
    if v.qualifier == "approx":
        return abs(share - p) <= Fraction(5, 2)
    return round_half_up(share) == p


def check(path: Path, survey: str = "interactions_2025") -> list[tuple[PublishedValue, str, bool]]:
    spec = load_questionnaire(survey)
    published = load_published(survey)
    charted = frozenset(v.row for v in published.values() if v.figure_id == "figure-5-3")
    calc = Calculator(spec, clean(path, spec), charted)
    return [(v, *judge(v, calc.special(v))) for v in published.values()]


def run_check(path: Path) -> int:
    results = check(path)
    for v, got, ok in results:
        want = (
            v.ratio if v.ratio is not None else (f"{v.pct}%" if v.pct is not None else f"n={v.n}")
        )
        if v.qualifier:
            want = f"{v.qualifier} {want}"
        print(
            f"{'match   ' if ok else 'MISMATCH'}  {v.figure_id:<12} {v.group or '-':<14} {v.row:<30} published {want!s:<14} computed {got}"
        )
    good = sum(ok for *_, ok in results)
    print(f"\n{good} of {len(results)} published values reproduced")
    return 0

"""The calibrated allocator: who answered what, so the published figures come out when recomputed.

Every target count comes from ``schemas/surveys/<survey>/published.yaml`` through ``survey_targets``; the spec
gives the structure (options, loops, routes, shown_if). The modelling choices (what is not
published) are the constants in ``Model`` below, each with its reason. Answers are assigned to a
seeded permutation of the eligible respondents; where published figures constrain answers
jointly (sectors interacted with, top three within purposes, formality by purpose and by
role/tenure) the assignment is correlated on purpose, as described at each function.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from pipeline.survey.published import Published
from pipeline.survey.questionnaire import Questionnaire
from tools.reference.survey_targets import (
    Infeasible,
    Target,
    count_range,
    round_half_up,
    scalar,
    solve_counts,
    targets_from,
)

Answers = dict[str, object]  # instance id -> option code (str), set of codes, or free text


@dataclass(frozen=True)
class Model:
    """Modelling choices for what the report does not publish (not published numbers)."""

    # 3.20 "nearly three quarters": aim this many points below the quoted 75%.
    nearly_margin: int = 2
    # Respondents with fewer than four sectors: shares interacting with 1, 2 and 3 sectors.
    low_degree_shares: tuple[float, float, float] = (0.10, 0.30, 0.60)
    # Average top-three picks per interaction (only one, two or three may be ticked).
    top3_picks_per_interaction: float = 2.2
    # Unpublished bases: the youth 'barriers' and 'stopped' questions were answered by the same
    # number of respondents as the neighbouring published question.
    barriers_base_like: str = "figure-F-10"
    stopped_base_like: str = "figure-F-9"
    # Split of the agree net into strongly agree, and of the disagree net into strongly disagree.
    strongly_agree_share: tuple[float, float] = (0.30, 0.45)
    strongly_disagree_share: float = 0.25
    # 5.16 quotes a formal:informal ratio for training ("six times more likely to be informal"),
    # which Figure 5-3 has no row (and so no n) for. This many interactions have training as their
    # only top-three purpose, split to give the quoted ratio (1 formal, 6 informal, 3 combination):
    # the smallest n at which tables do not suppress the row (suppress_base 10). They are outside
    # 5.15's base, which counts only Figure 5-3's nine purposes.
    quoted_ratio_singles: int = 10
    # Iterations of the swap search that fits formality by purpose and by role/tenure.
    swap_iterations: int = 200_000


@dataclass
class Respondent:
    """One usable respondent as the allocator builds them."""

    index: int
    sector: str  # after recoding
    route: str
    answers: Answers = field(default_factory=dict)


class Allocator:
    """Builds the 296 usable respondents' answers from the published targets."""

    def __init__(self, spec: Questionnaire, published: Published, seed: int, model: Model) -> None:
        self.spec = spec
        self.published = published
        self.rng = random.Random(seed)
        self.model = model
        self.targets = targets_from(published)
        self.items = [i.code for i in spec.model.loops["youth_sectors"].items]
        self.people: list[Respondent] = []
        self.singles: dict[tuple[int, str], str] = {}  # (respondent, item) -> sole top-3 purpose

    # ------------------------------------------------------------------ helpers
    def target(self, question: str, group: str | None = None, stat: str = "") -> Target:
        for (q, g, s), t in self.targets.items():
            if q == question and g == group and (not stat or s == stat):
                return t
        raise Infeasible(f"no published target for {question}/{group}")

    def shuffled(self, seq: Sequence[Respondent]) -> list[Respondent]:
        out = list(seq)
        self.rng.shuffle(out)
        return out

    def give_single(self, people: Sequence[Respondent], key: str, counts: dict[str, int]) -> None:
        """Hand out option codes in blocks along a seeded permutation of ``people``."""
        order = self.shuffled(people)
        if sum(counts.values()) > len(order):
            raise Infeasible(f"{key}: {sum(counts.values())} answers for {len(order)} people")
        i = 0
        for code, n in counts.items():
            for r in order[i : i + n]:
                r.answers[key] = code
            i += n

    def picks(
        self, members: Sequence[object], counts: dict[str, int], cap: int, floor: int = 1
    ) -> dict[object, set[str]]:
        """Multi-choice picks: each option to the members with fewest picks so far (seeded ties).

        Filling the emptiest first spreads picks evenly, so every member gets at least ``floor``
        when the counts allow it, and nobody exceeds ``cap``.
        """
        rank = {m: k for k, m in enumerate(self.shuffled(members))}  # type: ignore[arg-type]
        chosen: dict[object, set[str]] = {m: set() for m in members}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            free = [m for m in members if code not in chosen[m] and len(chosen[m]) < cap]
            free.sort(key=lambda m: (len(chosen[m]), rank[m]))
            if len(free) < n:
                raise Infeasible(f"option {code}: {n} picks but {len(free)} members free")
            for m in free[:n]:
                chosen[m].add(code)
        short = [m for m in members if len(chosen[m]) < floor]
        if short:
            raise Infeasible(f"{len(short)} members got fewer than {floor} picks")
        return chosen

    def option_codes(self, qid: str) -> list[str]:
        return [o.code for o in self.spec.options(self.spec.question(qid))]

    # ------------------------------------------------------------------ background
    def background(self, sector_counts: dict[str, int]) -> None:
        route_of = self.spec.route_of_sector()
        sectors = [s for s, n in sector_counts.items() for _ in range(n)]
        self.rng.shuffle(sectors)
        self.people = [Respondent(i, s, route_of[s], {"sector": s}) for i, s in enumerate(sectors)]
        youth = [r for r in self.people if r.route == "youth"]
        org = self.target("org_type")
        self.give_single(youth, "org_type", org.counts())
        for qid in ("employees", "area", "role", "tenure"):
            t = self.target(qid)
            base = t.base or len(self.people)
            counts = solve_counts(t.pcts(), base, total=base)
            self.give_single(self.people, qid, counts)

    # ------------------------------------------------------------------ youth loop: interacted
    def interacted(self) -> None:
        """Who interacted with which sector: column totals from F-3, row totals from 3.20.

        Degrees (sectors per respondent) are fixed first so that the published share engage with
        at least four; longer-tenured respondents get the higher degrees (5.13). Columns are then
        filled largest first, each to the respondents with the most sectors still to place
        (Gale-Ryser), which also keeps education with almost everyone who has social care,
        health care or youth justice (3.20).
        """
        youth = [r for r in self.people if r.route == "youth"]
        n = len(youth)
        cols = {g: self._interacted_count(g, n) for g in self.items}
        four = scalar(self.published, "text-3.20", "four_plus_sectors")
        high = round_half_up(Fraction((four.pct or 0) - self.model.nearly_margin, 100) * n)
        degrees = self._degrees(n, high, sum(cols.values()))
        tenure_rank = {"over_5": 0, "3_5": 1, "1_3": 2, "under_1": 3}
        order = sorted(
            youth,
            key=lambda r: (tenure_rank.get(str(r.answers.get("tenure")), 4), self.rng.random()),
        )
        left = {r.index: d for r, d in zip(order, degrees, strict=True)}
        pos = {r.index: k for k, r in enumerate(order)}
        for item in sorted(self.items, key=lambda g: -cols[g]):
            cand = sorted(youth, key=lambda r: (-left[r.index], pos[r.index]))
            chosen = {r.index for r in cand[: cols[item]]}
            if any(left[i] <= 0 for i in chosen):
                raise Infeasible("sector degrees cannot be realised")
            for r in youth:
                yes = r.index in chosen
                r.answers[f"interacted_{item}"] = "yes" if yes else "no"
                left[r.index] -= yes
        self._education_with_targeted(youth)

    def _education_with_targeted(self, youth: list[Respondent]) -> None:
        """3.20: those interacting with social care, health care or youth justice almost always
        interact with education. Move targeted sectors off respondents without education by
        2x2 swaps (A gives targeted T for open sector X; B, who has education, gives X for T),
        which keep every respondent's count and every sector's total."""
        targeted = ("social_care", "health_care", "youth_justice")
        open_items = [g for g in self.items if g not in (*targeted, "education")]

        def has(r: Respondent, g: str) -> bool:
            return r.answers[f"interacted_{g}"] == "yes"

        def flip(r: Respondent, g: str) -> None:
            r.answers[f"interacted_{g}"] = "no" if has(r, g) else "yes"

        for a in youth:
            for t in targeted:
                if has(a, "education") or not has(a, t):
                    continue
                for x in open_items:
                    b = next((b for b in youth if not has(a, x) and has(b, x) and not has(b, t)
                              and has(b, "education")), None)  # fmt: skip
                    if b is not None:
                        flip(a, t), flip(a, x), flip(b, t), flip(b, x)
                        break

    def _interacted_count(self, item: str, n: int) -> int:
        """The count of 'yes' for F-3, among those that round to the printed share, closest to
        exact first, on which every per-sector follow-up figure (3-1, F-4, 5-2, F-7) is
        consistent: the follow-ups were asked of everyone who interacted."""
        pct = self.target("interacted", item).pcts()["yes"]
        lo, hi = count_range(pct, n)
        exact = Fraction(pct * n, 100)
        for m in sorted(range(lo, hi + 1), key=lambda c: (abs(c - exact), c)):
            try:
                for q in ("purposes", "top3", "arrangement", "met_purposes"):
                    single = q in ("arrangement", "met_purposes")
                    solve_counts(self.target(q, item).pcts(), m, cap=m if single else None)
            except Infeasible:
                continue
            return m
        raise Infeasible(f"F-3 {item}: no count fits the follow-up figures")

    def _degrees(self, n: int, high: int, total: int) -> list[int]:
        """Sectors per respondent, largest first: ``high`` with 4-6, the rest 1-3, summing to total."""
        low = n - high
        shares = self.model.low_degree_shares
        low_counts = [round(low * s) for s in shares]
        low_counts[2] = low - low_counts[0] - low_counts[1]
        lows = [1] * low_counts[0] + [2] * low_counts[1] + [3] * low_counts[2]
        highs = [4] * high
        extra = total - sum(lows) - sum(highs)
        k = 0
        while extra > 0:
            if highs[k % high] < len(self.items):
                highs[k % high] += 1
                extra -= 1
            k += 1
            if k > 10 * n:
                raise Infeasible("too many interactions for the degree shape")
        if extra < 0:
            raise Infeasible("too few interactions for the degree shape")
        return sorted(highs + lows, reverse=True)

    # ------------------------------------------------------------------ youth loop: follow-ups
    def loop_followups(self) -> None:
        ratio_t = self.target("arrangement", None, "ratio")
        singles_n = {row: v.base or 0 for row, v in ratio_t.ratios().items()}
        quoted = self._quoted_pairs(set(singles_n))
        singles_n |= {p: sum(fic) for p, fic in quoted.items()}
        interactions = {
            g: [r for r in self.people if r.answers.get(f"interacted_{g}") == "yes"]
            for g in self.items
        }
        top3 = {g: self._top3_counts(g, len(interactions[g])) for g in self.items}
        singles = self._spread_singles(singles_n, top3)
        for g in self.items:
            self._top3_and_purposes(g, interactions[g], top3[g], singles[g])
            self._met_purposes(f"met_purposes_{g}", interactions[g], self.target("met_purposes", g))
        self._arrangements(interactions, ratio_t, quoted)

    def _quoted_pairs(self, charted: set[str]) -> dict[str, tuple[int, int, int]]:
        """(formal, informal, combination) for purposes whose ratio is quoted only in the text
        (5.16's training): ``Model.quoted_ratio_singles`` interactions, f/i giving the quoted ratio."""
        n = self.model.quoted_ratio_singles
        out: dict[str, tuple[int, int, int]] = {}
        for v in self.published.values():
            if v.figure_id == "text-5.16" and v.ratio is not None and v.row not in charted:
                out[v.row] = _ratio_options(n, Fraction(str(v.ratio)))[0]
        return out

    def _top3_counts(self, group: str, m: int, *, allied: bool = False) -> dict[str, int]:
        q = "allied_top3" if allied else "top3"
        printed = solve_counts(self.target(q, group).pcts(), m)
        ceiling = min(printed.values()) - 1  # unprinted purposes rank below the printed top
        purposes = self._purpose_printed(group, m, allied)
        total = round(self.model.top3_picks_per_interaction * m)
        rest = [c for c in self.option_codes("purposes") if c not in printed]
        out = dict(printed)
        weights = {c: self.rng.uniform(0.2, 1.0) for c in rest}
        room = max(0, total - sum(printed.values()))
        for c in rest:
            cap = min(ceiling, purposes.get(c, ceiling))
            out[c] = max(0, min(cap, round(room * weights[c] / sum(weights.values()))))
        return out

    def _purpose_printed(self, group: str, m: int, allied: bool) -> dict[str, int]:
        t = self.target("allied_purposes" if allied else "purposes", group)
        fixed = t.counts()
        return solve_counts(t.pcts(), m, fixed=fixed) | fixed

    def _spread_singles(
        self, singles_n: dict[str, int], top3: dict[str, dict[str, int]]
    ) -> dict[str, dict[str, int]]:
        """Figure 5-3's n: interactions whose top three is one purpose, spread over sectors.

        Each purpose's n is split across sectors in proportion to how often the purpose is in
        that sector's top three (largest remainder), never more than that count.
        """
        out: dict[str, dict[str, int]] = {g: {} for g in top3}
        for p, n in singles_n.items():
            weights = {g: top3[g].get(p, 0) for g in top3}
            tot = sum(weights.values())
            raw = {g: Fraction(n * w, tot) for g, w in weights.items()}
            share = {g: int(raw[g]) for g in raw}
            for g in sorted(raw, key=lambda g: -(raw[g] - share[g]))[: n - sum(share.values())]:
                share[g] += 1
            for g in share:
                out[g][p] = min(share[g], weights[g])
        return out

    def _top3_and_purposes(
        self, group: str, people: list[Respondent], top3: dict[str, int], singles: dict[str, int]
    ) -> None:
        """Top three first (singles, then 2-3 picks each), purposes = top three plus extras."""
        m = len(people)
        order = self.shuffled(people)
        chosen: dict[int, set[str]] = {}
        k = 0
        for p, n in singles.items():
            for r in order[k : k + n]:
                chosen[r.index] = {p}
                self.singles[(r.index, group)] = p
            k += n
        rest = order[k:]
        remaining = {p: top3[p] - singles.get(p, 0) for p in top3}
        self._fit_rest(remaining, len(rest), group)
        picks = self.picks([r.index for r in rest], remaining, cap=3, floor=2)
        chosen.update({i: s for i, s in picks.items()})  # type: ignore[misc]
        purposes = self._purpose_counts(group, m, top3, allied=False)
        self._write_multi(people, "top3", "purposes", group, chosen, purposes)

    def _fit_rest(self, remaining: dict[str, int], n: int, group: str) -> None:
        """Trim or pad unprinted top-three counts so the non-single interactions hold 2-3 picks."""
        printed = set(self.target("top3", group).pcts())
        free = sorted(c for c in remaining if c not in printed)
        k = 0
        while sum(remaining.values()) > 3 * n:
            c = free[k % len(free)]
            if remaining[c] > 0:
                remaining[c] -= 1
            k += 1
        while sum(remaining.values()) < 2 * n:
            c = free[k % len(free)]
            remaining[c] += 1
            k += 1

    def _purpose_counts(
        self, group: str, m: int, top3: dict[str, int], *, allied: bool
    ) -> dict[str, int]:
        """Purposes: printed counts; unprinted ones a little above their top-three count and
        below the printed purposes (they are not in the published top list)."""
        printed = self._purpose_printed(group, m, allied)
        ceiling = min(v for v in printed.values() if v > 0) - 1
        floor = 0
        if allied:  # 3.22: contract updates was the least selected purpose
            floor = min(v for v in printed.values() if v > 0) + 1
            ceiling = sorted(v for v in printed.values() if v > 0)[1] - 1
        out = dict(printed)
        for c in self.option_codes("purposes"):
            if c in printed:
                if printed[c] < top3.get(c, 0):
                    raise Infeasible(f"{group}/{c}: top three exceeds purposes")
                continue
            extra = round(m * self.rng.uniform(0.04, 0.2))
            out[c] = max(top3.get(c, 0), floor, min(ceiling, top3.get(c, 0) + extra))
        return out

    def _write_multi(
        self,
        people: list[Respondent],
        top_q: str,
        all_q: str,
        group: str | None,
        top: dict[int, set[str]],
        purposes: dict[str, int],
    ) -> None:
        sfx = f"_{group}" if group and group != "allied" else ""
        have = {r.index: set(top[r.index]) for r in people}
        for p, n in purposes.items():
            owners = [r for r in people if p in have[r.index]]
            need = n - len(owners)
            pool = [r for r in self.shuffled(people) if p not in have[r.index]]
            for r in pool[:need]:
                have[r.index].add(p)
        for r in people:
            r.answers[f"{top_q}{sfx}"] = set(top[r.index])
            r.answers[f"{all_q}{sfx}"] = have[r.index]

    def _met_purposes(self, key: str, people: list[Respondent], t: Target) -> None:
        """Likert answers from the published nets; unpublished split inside each net."""
        m = len(people)
        nets = self.spec.model.likert_nets["agreement"]
        pcts = t.pcts()
        counts = solve_counts(pcts, m, cap=m)
        residual = m - sum(counts.values())
        unprinted = [n for n in nets if n not in pcts]
        if unprinted:
            counts[unprinted[0]] = residual
            residual = 0
        codes: dict[str, int] = {"dont_know": residual}
        lo, hi = self.model.strongly_agree_share
        sa = round(counts.get("agree", 0) * self.rng.uniform(lo, hi))
        codes["strongly_agree"], codes["agree"] = sa, counts.get("agree", 0) - sa
        codes["neutral"] = counts.get("neutral", 0)
        sd = round(counts.get("disagree", 0) * self.model.strongly_disagree_share)
        codes["strongly_disagree"], codes["disagree"] = sd, counts.get("disagree", 0) - sd
        self.give_single(people, key, codes)

    # ------------------------------------------------------------------ formality
    def _arrangements(
        self,
        interactions: dict[str, list[Respondent]],
        ratio_t: Target,
        quoted: dict[str, tuple[int, int, int]],
    ) -> None:
        """5-2 counts per sector, then swaps inside a sector to fit 5-3, 5.15, 5.16 and 5.13."""
        cells: list[tuple[int, str]] = []  # (respondent index, item)
        value: dict[tuple[int, str], str] = {}
        for g in self.items:
            people = interactions[g]
            counts = solve_counts(
                self.target("arrangement", g).pcts(), len(people), cap=len(people)
            )
            counts["dont_know"] = len(people) - sum(counts.values())
            codes = [c for c, n in counts.items() for _ in range(n)]
            self.rng.shuffle(codes)
            for r, c in zip(people, codes, strict=True):
                cells.append((r.index, g))
                value[(r.index, g)] = c
        goals = self._formality_goals(cells, ratio_t, quoted)
        self._swap_search(cells, value, goals)
        by_index = {r.index: r for r in self.people}
        for (i, g), c in value.items():
            by_index[i].answers[f"arrangement_{g}"] = c

    def _formality_goals(
        self,
        cells: list[tuple[int, str]],
        ratio_t: Target,
        quoted: dict[str, tuple[int, int, int]],
    ) -> dict[str, int]:
        by_index = {r.index: r for r in self.people}
        goals: dict[str, int] = {}
        for row in ("practitioner", "leader"):
            v = scalar(self.published, "text-5.13", f"informal_{row}_over_5")
            size = sum(
                1
                for i, _ in cells
                if by_index[i].answers.get("role") == row
                and by_index[i].answers.get("tenure") == "over_5"
            )
            goals[f"group:{row}"] = solve_counts({"x": v.pct or 0}, size)["x"]
        pairs = self._ratio_pairs(ratio_t) | quoted
        for p, (f, i, c) in pairs.items():
            goals[f"formal:{p}"], goals[f"informal:{p}"], goals[f"combination:{p}"] = f, i, c
        return goals

    def _ratio_pairs(self, ratio_t: Target) -> dict[str, tuple[int, int, int]]:
        """(formal, informal, combination) per purpose: f/i giving the printed ratio to 2 dp
        (the nearest ratio when no counts within n give it), and combinations summing as close
        as possible to 5.15's share of all n (a small dynamic programme over purposes)."""
        comb = scalar(self.published, "text-5.15", "combination").pct or 0
        ns = {p: v.base or 0 for p, v in ratio_t.ratios().items()}
        want_c = solve_counts({"c": comb}, sum(ns.values()))["c"]
        options = {
            p: _ratio_options(ns[p], Fraction(str(v.ratio))) for p, v in ratio_t.ratios().items()
        }
        best: dict[int, list[tuple[int, int, int]]] = {0: []}
        for p in options:  # reachable combination totals -> first choices reaching them
            nxt: dict[int, list[tuple[int, int, int]]] = {}
            for tot, chosen in best.items():
                for o in options[p]:
                    nxt.setdefault(tot + o[2], [*chosen, o])
            best = nxt
        total = min(best, key=lambda t: (abs(t - want_c), t))
        return dict(zip(options, best[total], strict=True))

    def _swap_search(
        self, cells: list[tuple[int, str]], value: dict[tuple[int, str], str], goals: dict[str, int]
    ) -> None:
        """Swap arrangements between interactions with the same sector until every goal is met.

        Swaps keep each sector's 5-2 counts; the score counts how far the group shares (5.13) and
        the single-purpose formal/informal/combination counts (5-3, 5.15) are from their goals.
        """
        by_index = {r.index: r for r in self.people}

        def tags(cell: tuple[int, str], code: str) -> list[str]:
            out = []
            r = by_index[cell[0]]
            if code == "informal" and r.answers.get("tenure") == "over_5":
                role = r.answers.get("role")
                if role in ("practitioner", "leader"):
                    out.append(f"group:{role}")
            p = self.singles.get(cell)
            if p is not None and code in ("formal", "informal", "combination"):
                out.append(f"{code}:{p}")
            return out

        have: Counter[str] = Counter()
        for cell in cells:
            have.update(tags(cell, value[cell]))

        def score() -> int:
            return sum(abs(have[k] - v) for k, v in goals.items())

        by_item: dict[str, list[tuple[int, str]]] = {}
        for cell in cells:
            by_item.setdefault(cell[1], []).append(cell)
        items = sorted(by_item)
        current = score()
        for _ in range(self.model.swap_iterations):
            if current == 0:
                return
            group = by_item[self.rng.choice(items)]
            a, b = self.rng.choice(group), self.rng.choice(group)
            va, vb = value[a], value[b]
            if va == vb:
                continue
            have.subtract(tags(a, va) + tags(b, vb))
            have.update(tags(a, vb) + tags(b, va))
            new = score()
            if new <= current:
                value[a], value[b], current = vb, va, new
            else:
                have.subtract(tags(a, vb) + tags(b, va))
                have.update(tags(a, va) + tags(b, vb))
        raise Infeasible(f"formality search stopped {current} away from the published values")

    # ------------------------------------------------------------------ youth: general block
    def youth_general(self) -> None:
        youth = [r for r in self.people if r.route == "youth"]
        persistence = self.shuffled(youth)  # who keeps answering: answered sets nest by size

        def answered(base: int) -> list[Respondent]:
            return persistence[:base]

        for qid, cap in (("format", 4), ("effective_format", 4), ("benefits", 3)):
            self._multi(qid, answered, cap)
        self._multi("more_interaction", answered, 8)
        for qid, like in (
            ("disadvantages", None),
            ("barriers", self.model.barriers_base_like),
            ("stopped", self.model.stopped_base_like),
        ):
            t = self.target(qid)
            base = t.base or self.published.figure(like or "").base or len(youth)
            codes = self.option_codes(qid)
            pcts = t.pcts()
            counts = solve_counts(pcts, base, total=base) if len(pcts) == len(codes) else {}
            if not counts:  # one option printed: the other takes the rest
                counts = solve_counts(pcts, base)
                rest = [c for c in codes if c not in counts]
                counts[rest[0]] = base - sum(counts.values())
            self.give_single(answered(base), qid, counts)

    def _multi(self, qid: str, answered, cap: int) -> None:  # type: ignore[no-untyped-def]
        t = self.target(qid)
        base = t.base or 0
        members = answered(base)
        q = self.spec.question(qid)
        exclusive = [o.code for o in self.spec.options(q) if o.exclusive]
        pcts = t.pcts()
        cap = q.max_choices or cap
        substantive = {c: p for c, p in pcts.items() if c not in exclusive}
        excl, counts = self._exclusive_split(pcts, exclusive, substantive, base, cap)
        order = self.shuffled(members)
        k = 0
        for c, n in excl.items():
            for r in order[k : k + n]:
                r.answers[qid] = {c}
            k += n
        picks = self.picks([r.index for r in order[k:]], counts, cap=cap)
        by_index = {r.index: r for r in members}
        for i, s in picks.items():
            by_index[i].answers[qid] = s  # type: ignore[index]

    def _exclusive_split(
        self, pcts: dict[str, int], exclusive: list[str], sub: dict[str, int], base: int, cap: int
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Counts for an exclusive option ('None') and the rest; the exclusive count closest to
        exact that leaves enough respondents to hold the other options' picks."""
        ex = [c for c in exclusive if c in pcts]
        if not ex:
            return {}, solve_counts(sub, base, cap=cap * base)
        lo, hi = count_range(pcts[ex[0]], base)
        exact = Fraction(pcts[ex[0]] * base, 100)
        for k in sorted(range(lo, hi + 1), key=lambda c: (abs(c - exact), c)):
            try:
                return {ex[0]: k}, solve_counts(sub, base, cap=cap * (base - k))
            except Infeasible:
                continue
        raise Infeasible(f"exclusive option {ex[0]}: no split fits")

    # ------------------------------------------------------------------ allied route
    def allied(self) -> None:
        allied = [r for r in self.people if r.route == "allied"]
        follow_base = self.published.figure("figure-F-6").base or len(allied)
        order = self.shuffled(allied)
        yes, no = order[:follow_base], order[follow_base:]
        for r in yes:
            r.answers["allied_interacted"] = "yes"
        for r in no:
            r.answers["allied_interacted"] = "no"
        freq = self.target("allied_frequency", "allied")
        self.give_single(
            yes, "allied_frequency", solve_counts(freq.pcts(), len(yes), total=len(yes))
        )
        met = self.target("allied_met_purposes", "allied", "frequency")
        self.give_single(
            yes, "allied_met_purposes", solve_counts(met.pcts(), len(yes), total=len(yes))
        )
        top3 = self._top3_counts("allied", len(yes), allied=True)
        picks = self.picks([r.index for r in yes], top3, cap=3)
        purposes = self._purpose_counts("allied", len(yes), top3, allied=True)
        self._write_multi(yes, "allied_top3", "allied_purposes", "allied", picks, purposes)  # type: ignore[arg-type]
        barriers = self.target("allied_barriers", "allied")
        base = barriers.base or len(allied)
        answered = yes[:base] if base <= len(yes) else order[:base]
        self._allied_barriers(answered, barriers)

    def _allied_barriers(self, members: list[Respondent], t: Target) -> None:
        q = self.spec.question("allied_barriers")
        exclusive = {o.code for o in self.spec.options(q) if o.exclusive}
        pcts = t.pcts()
        excl = solve_counts({c: p for c, p in pcts.items() if c in exclusive}, len(members))
        sub = solve_counts({c: p for c, p in pcts.items() if c not in exclusive}, len(members))
        order = self.shuffled(members)
        k = sum(excl.values())
        for r, c in zip(order[:k], [c for c, n in excl.items() for _ in range(n)], strict=True):
            r.answers["allied_barriers"] = {c}
        picks = self.picks([r.index for r in order[k:]], sub, cap=len(sub))
        by_index = {r.index: r for r in members}
        for i, s in picks.items():
            by_index[i].answers["allied_barriers"] = s  # type: ignore[index]


def allocate(
    spec: Questionnaire, published: Published, seed: int, model: Model
) -> list[Respondent]:
    """The usable respondents, every closed answer allocated (free text is added later)."""
    a = Allocator(spec, published, seed, model)
    f1 = a.target("sector")
    a.background(f1.counts())
    a.interacted()
    a.loop_followups()
    a.youth_general()
    a.allied()
    return a.people


def _ratio_options(n: int, ratio: Fraction) -> list[tuple[int, int, int]]:
    """(formal, informal, rest) with f + i <= n whose f/i rounds to ``ratio`` (else the nearest)."""
    opts = [(f, i, n - f - i) for i in range(1, n + 1) for f in range(0, n - i + 1)]
    exact = [
        o for o in opts if round_half_up(Fraction(100 * o[0], o[1])) == round_half_up(100 * ratio)
    ]
    if exact:
        return exact
    gap = min(abs(Fraction(o[0], o[1]) - ratio) for o in opts)
    return [o for o in opts if abs(Fraction(o[0], o[1]) - ratio) == gap]

"""Generate the data dictionary (docs/questionnaire.md) from the questionnaire spec."""

from __future__ import annotations

from pipeline.survey.questionnaire import Option, Questionnaire


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _option_notes(o: Option) -> str:
    notes = ["exclusive"] * o.exclusive + ["added in a later wave"] * o.optional
    notes += [f"Qualtrics value {o.recode}"] * (o.recode is not None)
    notes += [f"also '{_cell(a)}'" for a in o.aliases]
    return f" ({'; '.join(notes)})" if notes else ""


def dictionary_markdown(spec: Questionnaire) -> str:
    m = spec.model
    lines = [
        f"# Data dictionary: {m.title}",
        "",
        f"Generated from `{spec.path.relative_to(spec.path.parents[3])}` (version {m.version}, "
        f"sha256 `{spec.sha256[:12]}`) by `make docs`. Do not edit by hand.",
        "",
        f"Source: {m.source}.",
        "",
        "Wording: **published** = question text and options as printed in the report; "
        "**reconstructed** = not printed there, written plausibly for this survey.",
        "",
        "## Routing",
        "",
    ]
    if m.routing is None:
        lines.append("No routing: every usable respondent is on one route, `all`.")
    else:
        lines += [
            f'Respondents are routed by `{m.routing.question}` (after recoding "Other"):',
            "",
        ]
        lines += [
            f"- **{r}** ({route.label}): {', '.join(route.sectors)}"
            for r, route in m.routing.routes.items()
        ]
    lines += [
        "",
        "## Cleaning rules",
        "",
        "- Partial response: nothing answered "
        + (
            f"after block `{m.cleaning.partial_after_block}`."
            if m.cleaning.partial_after_block
            else "at all."
        ),
        f"- Duplicates: same respondent id = {m.cleaning.duplicates.same_respondent_id}; "
        f"identical answers from the same collector = {m.cleaning.duplicates.identical_answers_same_collector}.",
    ]
    if m.cleaning.other_recode:
        lines.append(
            f'- "Other" recoding of `{m.cleaning.other_recode.question}` through '
            f"`{m.cleaning.other_recode.table}` (reviewed free text -> category)."
        )
    for loop_id, loop in m.loops.items():
        lines += ["", f"## Loop `{loop_id}`", "", loop.label + ":", ""]
        lines += [f"- `{i.code}`: {i.label}" for i in loop.items]
    for block in m.blocks:
        lines += ["", f"## Block `{block.id}`: {block.label}", ""]
        for q in (q for q in m.questions if q.block == block.id):
            lines += [
                f"### `{q.id}` ({q.type}{', loop ' + q.loop if q.loop else ''})",
                "",
                f"> {_cell(q.text)}",
                "",
                f"- Wording: {q.wording}" + (f" (source: {q.source})" if q.source else ""),
                f"- Asked: {'route ' + q.route if q.route else 'everyone'}"
                + (
                    f", when `{q.shown_if.question}` in {list(q.shown_if.in_)}"
                    if q.shown_if
                    else ""
                ),
            ]
            lines += [f"- Also accepted as: {_cell(a)}" for a in q.aliases]
            if q.max_choices:
                lines.append(
                    f"- At most {q.max_choices} choices"
                    + (f", a subset of `{q.subset_of}`" if q.subset_of else "")
                )
            cols = [c for c in spec.columns if c.instance.question.id == q.id]
            example = cols[0].name if cols else q.id
            lines.append(f"- Columns: {len(cols)} (e.g. `{example}`)")
            opts = spec.options(q)
            if opts:
                lines += ["", "| code | label |", "| --- | --- |"]
                lines += [f"| `{o.code}` | {_cell(o.label)}{_option_notes(o)} |" for o in opts]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"

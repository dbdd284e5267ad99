"""Write the draft questionnaire spec: every inferred choice as a field or a comment beside it.

The YAML is written by hand (not dumped) so each line can carry the comment that says where it
came from; it is then loaded back through ``load_questionnaire`` before anything is kept, so a
draft is always a valid spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.hashing import file_sha256
from pipeline.core.text import norm
from pipeline.survey.infer.breakoff import BreakOff, find_break_off
from pipeline.survey.infer.columns import Column, Profile, group_columns, profile_export
from pipeline.survey.infer.questions import DraftQuestion, Inferrer
from pipeline.survey.infer.scales import NON_SUBSTANTIVE

BLOCK = "main"
OPENING = "opening"


@dataclass(frozen=True)
class Draft:
    """What ``survey init`` inferred from one export."""

    profile: Profile
    questions: list[DraftQuestion]
    sha256: str
    break_off: BreakOff | None = None

    def column_keys(self) -> dict[str, str]:
        """Mapped column -> export header key, in export order."""
        pairs = [(c.index, name, c.key) for q in self.questions for name, c in q.columns.items()]
        return {name: key for _, name, key in sorted(pairs)}

    def column_index(self) -> dict[str, int]:
        """Mapped column -> 0-based export column."""
        return {name: c.index for q in self.questions for name, c in q.columns.items()}


def infer_draft(path: Path, sheet: str | None = None) -> Draft:
    prof = profile_export(path, sheet)
    questions = Inferrer(prof).questions(group_columns(prof))
    for q in questions:
        _assign_columns(q)
    bo = find_break_off(prof, questions)
    if bo:
        for q in questions[: bo.last_opening + 1]:
            q.block = OPENING
    return Draft(prof, questions, file_sha256(Path(path)), bo)


def _assign_columns(q: DraftQuestion) -> None:
    """Mapped column names exactly as ``questionnaire._instance_columns`` builds them."""
    if q.type == "multi":
        q.columns = {
            f"{q.id}__{o.code}": c for o, c in zip(q.options, q.value_columns, strict=True)
        }
    else:
        q.columns = {q.id: q.value_columns[0]}
    if q.other is not None:
        q.columns[f"{q.id}__other_text"] = q.other


def s(value: object) -> str:
    """A YAML scalar: JSON strings are valid double-quoted YAML."""
    return json.dumps(value, ensure_ascii=False)


def questionnaire_yaml(d: Draft, survey: str) -> str:
    p = d.profile
    meta = {
        c.role: c
        for c in p.columns
        if c.role in ("respondent_id", "collector_id", "started", "ended")
    }
    ident = [c for c in p.columns if c.role == "identifying"]
    ignored = [c for c in p.columns if c.role == "ignored"]
    out = [
        f"# DRAFT questionnaire spec written by `joinedup survey init` from {p.path.name}",
        f"# (sha256 {d.sha256[:16]}, {p.rows} response rows, {len(p.columns)} columns).",
        "# Every choice below was inferred from the export alone. Read each `inferred:` line and",
        "# comment, correct what is wrong (types, option order and labels, nets), then change",
        "# `status: draft` to `status: reviewed`. `survey run` refuses a draft unless --allow-draft.",
        f"survey: {s(survey)}",
        f"title: {s(_title(p.path))}  # from the file name: write the survey's real title",
        'version: "0.1.0"',
        f"source: {s('Inferred by joinedup survey init from ' + p.path.name)}",
        "status: draft",
        "",
        "export:",
        f"  layout: {s(_layout(p.layout))}  # detected: {p.layout}, {p.header_rows} header row(s), "
        f"encoding {p.grid.encoding}",
    ]
    for role in ("respondent_id", "collector_id", "started", "ended"):
        if role in meta:
            out.append(f"  {role}: {s(meta[role].key)}  # {_where(meta[role])}")
    if "respondent_id" not in meta:
        out.append("  # no respondent id column found: the row number stands in for it")
    if ident:
        out.append("  identifying:  # recognised from the header: dropped at ingest, never read")
        out += [f"    - {s(c.key)}  # {_where(c)}" for c in ident]
        names = [c for c in ident if c.name_column]
        if names:
            out.append(
                "  name_columns:  # their cells seed the quote-redaction deny-list (memory only)"
            )
            out += [f"    - {s(c.key)}" for c in names]
    if ignored:
        out.append("  ignored:  # read by nobody: export metadata, not answers")
        out += [f"    - {s(c.key)}  # {_where(c)}: {c.reason}" for c in ignored]
    out.append("  columns:  # mapped column: export header key (matched by key, not question text)")
    out += [f"    {name}: {s(key)}" for name, key in d.column_keys().items()]
    has_id = "respondent_id" in meta
    bo = d.break_off
    out += ["", "cleaning:"]
    if bo:
        last, nxt = d.questions[bo.last_opening], d.questions[bo.next_stop]
        out += [
            f"  partial_after_block: {OPENING}  # {bo.rows} response(s) stop at or before "
            f"'{last.id}'",
            f"  # and no response stops between it and '{nxt.id}': nothing answered after the",
            "  # opening block = a partial response (removed). Set null to keep them.",
        ]
    else:
        out.append(
            "  partial_after_block: null  # a response with no answer at all is removed as partial"
        )
    has_collector = "collector_id" in meta
    out += [
        "  duplicates:",
        f"    same_respondent_id: {str(has_id).lower()}"
        + ("  # the earliest of two rows with one id is kept" if has_id else "  # no id column"),
        f"    identical_answers_same_collector: {str(has_collector).lower()}"
        + (
            "  # every answer identical, same collector: a double submission"
            if has_collector
            else "  # no collector column: identical answer sets may be different people"
        ),
        "",
        "blocks:",
    ]
    if bo:
        out.append(
            f'  - {{id: {OPENING}, label: "Opening questions (inferred from where partial '
            'responses stop)"}'
        )
    out.append(f'  - {{id: {BLOCK}, label: "All other questions (write the real sections)"}}')
    out += _option_sets(d.questions)
    out += ["", "questions:"]
    for q in d.questions:
        out += _question_lines(q)
    return "\n".join(out) + "\n"


def _where(c: Column) -> str:
    """'column 3' plus the header text when the key is an id ('V3' is 'Name')."""
    text = c.header.display
    return f"column {c.number}" + (f" ({text[:60]})" if text and text != c.key else "")


def _title(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() + " (draft)"


def _layout(layout: str) -> str:
    return "qualtrics" if layout.startswith("qualtrics") else layout


def _option_sets(questions: list[DraftQuestion]) -> list[str]:
    sets: dict[str, DraftQuestion] = {}
    for q in questions:
        if q.option_set and q.option_set not in sets:
            sets[q.option_set] = q
    if not sets:
        return []
    out = ["", "option_sets:  # answer scales shared by several questions"]
    nets: list[str] = []
    for name, q in sets.items():
        how = f"known '{q.scale.scale.name}' scale, in scale order" if q.scale else "shared scale"
        out.append(f"  {name}:  # {how}")
        out += [_option_line(o, "    ") for o in q.options]
        if q.scale:
            lines = []
            for net_id, label, points in q.scale.scale.nets:
                codes = [o.code for o in q.options if q.scale.positions.get(o.label, -1) in points]
                if codes:
                    lines.append(f"    {net_id}: {{label: {s(label)}, codes: {s(codes)}}}")
            dk = [o.code for o in q.options if NON_SUBSTANTIVE.match(norm(o.label))]
            if lines:
                nets.append(f"  {name}:" + (f"  # not in any net: {', '.join(dk)}" if dk else ""))
                nets += lines
    if nets:
        out += ["", "likert_nets:  # the nets each Likert table reports", *nets]
    return out


def _option_line(o, indent: str) -> str:
    alias = f", aliases: {s(list(o.aliases))}" if o.aliases else ""
    return f"{indent}- {{code: {s(o.code)}, label: {s(o.label)}{alias}}}"


def _question_lines(q: DraftQuestion) -> list[str]:
    cols = ", ".join(str(c.number) for c in q.columns.values())
    out = [
        f"  - id: {q.id}  # export column(s) {cols}",
        f"    block: {q.block}",
        f"    type: {q.type}",
        f"    text: {s(q.text)}",
        "    wording: export",
        f"    inferred: {s(q.inferred)}",
    ]
    if q.other is not None:
        out.append("    other_text: true")
    if q.max_choices:
        out.append(f"    max_choices: {q.max_choices}")
    if q.option_set:
        out.append(f"    options: {q.option_set}")
    elif q.type in ("single", "multi", "likert"):
        out.append("    options:")
        out += [_option_line(o, "      ") for o in q.options]
    return out

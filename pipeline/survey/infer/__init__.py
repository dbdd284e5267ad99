"""`survey init`: draft a questionnaire spec and default tables from an export alone.

``columns`` profiles and groups the export's columns, ``questions`` infers each question's type
and options, ``scales`` knows the ordered answer scales, ``draft`` writes the YAML with every
inferred choice beside it, ``diff`` compares a later wave with a spec already written. The
default tables come from ``pipeline.survey.tables.defaults``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.core.errors import InputError
from pipeline.core.paths import SCHEMAS
from pipeline.core.safety.atomic import atomic_write_text
from pipeline.survey.infer.diff import WaveDiff, wave_diff
from pipeline.survey.infer.draft import Draft, infer_draft, questionnaire_yaml
from pipeline.survey.questionnaire import CHOICE_TYPES, Questionnaire, load_questionnaire
from pipeline.survey.tables.defaults import default_tables
from pipeline.survey.tables.definitions import load_tables

SURVEY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class InitResult:
    directory: Path
    draft: Draft
    written: bool  # False: a spec was already there and ``diff`` says what differs
    diff: WaveDiff | None = None
    spec: Questionnaire | None = None

    def summary(self) -> list[str]:
        d = self.draft
        kinds: dict[str, int] = {}
        for q in d.questions:
            kinds[q.type] = kinds.get(q.type, 0) + 1
        roles: dict[str, int] = {}
        for c in d.profile.columns:
            roles[c.role] = roles.get(c.role, 0) + 1
        counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        dropped = roles.get("identifying", 0)
        ignored = roles.get("ignored", 0)
        return [
            f"{d.profile.path.name}: layout {d.profile.layout} ({d.profile.header_rows} header "
            f"rows), encoding {d.profile.grid.encoding}, {d.profile.rows} response rows",
            f"{len(d.questions)} questions inferred ({counts}); {dropped} identifying column(s) "
            f"dropped, {ignored} metadata column(s) ignored",
        ]


def init_survey(
    export: Path,
    survey: str,
    *,
    into: Path | None = None,
    banner: str | None = None,
    sheet: str | None = None,
) -> InitResult:
    """Write ``<into>/questionnaire.yaml`` and ``tables.yaml`` (status: draft); when a spec is
    already there, write nothing and return what differs between it and this export."""
    if not SURVEY_NAME.match(survey):
        raise InputError(
            f"survey name '{survey}' must be snake_case (letters, digits, _)",
            fix="choose a name like youth_census_2026",
        )
    directory = Path(into) if into else SCHEMAS / "surveys" / survey
    draft = infer_draft(Path(export), sheet)
    _respondent_level(draft, Path(export))
    existing = directory / "questionnaire.yaml"
    if existing.exists():
        spec = load_questionnaire(existing)
        return InitResult(directory, draft, False, wave_diff(spec, draft), spec)
    q_text = questionnaire_yaml(draft, survey)
    with tempfile.TemporaryDirectory() as tmp:  # load both back before anything is kept
        q_path = Path(tmp) / "questionnaire.yaml"
        q_path.write_text(q_text, encoding="utf-8")
        spec = load_questionnaire(q_path)
        _check_banner(spec, banner)
        tables = default_tables(spec, banner=banner, source=f"Draft table, {Path(export).name}.")
        t_text = _tables_yaml(tables, Path(export).name, banner)
        (Path(tmp) / "tables.yaml").write_text(t_text, encoding="utf-8")
        load_tables(Path(tmp) / "tables.yaml", spec)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / "tables.yaml", t_text)
    atomic_write_text(existing, q_text)
    return InitResult(directory, draft, True, None, load_questionnaire(existing))


def _respondent_level(draft: Draft, path: Path) -> None:
    """Refuse, with the reason, a file that is not one row per respondent."""
    if draft.profile.rows == 0:
        raise InputError(
            "not a respondent-level export: header row(s) but no response rows",
            file=path,
            fix="export the responses (one row per respondent), not the questionnaire",
        )
    if not draft.questions:
        raise InputError(
            "not a respondent-level export: no column holds answers to a question "
            "(only metadata or identifying columns)",
            file=path,
            fix="export all responses with their answer columns",
        )


def _check_banner(spec: Questionnaire, banner: str | None) -> None:
    if banner is None:
        return
    closed = [q.id for q in spec.model.questions if q.type in CHOICE_TYPES and q.type != "multi"]
    if banner not in closed:
        raise InputError(
            f"--banner '{banner}' is not a single-choice question of the draft",
            fix="choose one of: " + ", ".join(closed[:20]) + (" ..." if len(closed) > 20 else ""),
        )


def _tables_yaml(tables: dict, export_name: str, banner: str | None) -> str:
    head = [
        f"# DRAFT tables written by `joinedup survey init` from {export_name}: one table per closed",
        "# question (frequency; multi_response for multi-select), Likert nets where the scale is",
        "# known, base = respondents who answered the question"
        + (f", and a crosstab of each by '{banner}'." if banner else "."),
        "# Edit titles, populations and bases; delete the tables you do not need.",
    ]
    body = yaml.safe_dump(tables, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body

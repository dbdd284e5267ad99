"""A second wave against the spec already written: what differs, so nothing is overwritten.

Compares a freshly inferred draft of the new export with the existing spec: columns the spec maps
that the export lacks, export columns the spec does not know, answers outside a closed question's
options, and questions whose inferred type changed. The analyst edits the spec; init never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.core.text import norm
from pipeline.survey.infer.draft import Draft
from pipeline.survey.questionnaire import Questionnaire


@dataclass
class WaveDiff:
    removed: list[str] = field(default_factory=list)  # spec columns not in the export
    added: list[str] = field(default_factory=list)  # export columns not in the spec
    new_options: list[str] = field(default_factory=list)
    changed_type: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.removed or self.added or self.new_options or self.changed_type)

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("columns in the spec but not in this export", self.removed),
            ("columns in this export but not in the spec", self.added),
            ("answers that are not options of their question", self.new_options),
            ("questions whose answers now look like another type", self.changed_type),
        ):
            if items:
                out.append(f"{title} ({len(items)}):")
                out += [f"  - {i}" for i in items]
        return out or ["no differences: the export matches the spec's columns and options"]


def wave_diff(spec: Questionnaire, draft: Draft) -> WaveDiff:
    d = WaveDiff()
    e = spec.model.export
    declared = dict(e.columns) if e.columns else {}
    known = set(declared.values()) | set(e.ignored) | set(e.identifying)
    known |= {k for k in (e.respondent_id, e.collector_id, e.started, e.ended) if k}
    export_keys = {c.key: c for c in draft.profile.columns}
    for name, key in declared.items():
        if key not in export_keys:
            d.removed.append(f"{name} (header '{key}')")
    for c in draft.profile.columns:
        if c.key not in known and c.role not in ("identifying",):
            d.added.append(f"column {c.number}: '{c.key}'")
    by_key = {key: name for name, key in declared.items()}
    cols = {c.name: c for c in spec.columns}
    for q in draft.questions:
        for col in q.columns.values():
            spec_name = by_key.get(col.key)
            if spec_name is None or spec_name not in cols:
                continue
            sc = cols[spec_name]
            if sc.kind == "value" and sc.instance.options:
                accepted = set()
                for o in sc.instance.options:
                    accepted |= {norm(o.label), norm(o.code), *(norm(a) for a in o.aliases)}
                for v in col.values:
                    if norm(v) not in accepted:
                        d.new_options.append(
                            f"question '{sc.instance.id}': '{v[:60]}' ({col.counts[v]} rows)"
                        )
            spec_type = sc.instance.question.type
            if sc.kind == "value" and _family(q.type) != _family(spec_type):
                d.changed_type.append(
                    f"question '{sc.instance.id}': spec says {spec_type}, answers look {q.type}"
                )
    return d


def _family(kind: str) -> str:
    return "closed" if kind in ("single", "likert") else kind

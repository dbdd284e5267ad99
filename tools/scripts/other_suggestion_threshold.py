"""Print each reviewed "Other" text's best suggestion and similarity, to choose ``min_similarity``.

Development data only: the reviewed entries of ``recodes.yaml`` (synthetic reference texts) plus the
reference export's unreviewed texts, which the generator writes as kept-as-Other. Run:
``.venv/bin/python -m tools.scripts.other_suggestion_threshold``
"""

from __future__ import annotations

from pipeline.survey.clean import load_recodes, suggestion_targets
from pipeline.survey.flow import embedding_suggester
from pipeline.survey.questionnaire import load_questionnaire
from tools.reference.survey_text import UNREVIEWED_OTHER


def main() -> None:
    spec = load_questionnaire("interactions_2025")
    recodes = load_recodes(spec)
    options = suggestion_targets(spec, recodes)
    texts = [e.text for e in recodes.entries] + list(UNREVIEWED_OTHER)
    truth = [e.category for e in recodes.entries] + ["other"] * len(UNREVIEWED_OTHER)
    rows = sorted(
        zip(texts, truth, embedding_suggester()(texts, options), strict=True),
        key=lambda r: -r[2][1],
    )
    for floor in (0.35, 0.40, 0.45, 0.50):
        shown = [(t, c) for _, t, (c, v) in rows if v >= floor]
        right = sum(t == c for t, c in shown)
        wanted = sum(t != "other" for t in truth)
        print(
            f"min_similarity {floor:.2f}: {len(shown)} suggested, {right} right, recall {right}/{wanted}"
        )
    for text, want, (code, sim) in rows:
        print(f"{sim:.3f}  {code:<14} reviewed as {want:<14} {text}")


if __name__ == "__main__":
    main()

"""The nine real exports in ../shared/external/ (never copied here) run through `survey init` +
`survey run --allow-draft`, and every table count is a plain pandas count of the same columns.

Skipped where ../shared/external/ is absent; `make test` also covers the same shapes with the
generated fixtures in tests/generic_exports.py.
"""

from __future__ import annotations

import pytest
from report_counts import pandas_matches_report

from pipeline.core.paths import ROOT

EXTERNAL = ROOT.parent / "shared" / "external"
FILES = [
    "surveymonkey/StarWars.csv",
    "surveymonkey/sleeping-alone-data.csv",
    "surveymonkey/thanksgiving-2015-poll-data.csv",
    "qualtrics/Many_Different_Question_Types_Sample_Survey.csv",
    "qualtrics/Many_Different_Question_Types_Sample_Survey_(Insights).csv",
    "qualtrics/Multiple_Answer_Multiple_Choices_Questions_Multiple_Answer_MC_Questions_(Insights).csv",
    "qualtrics/Text_Entry_Components_Questions_with_Text_Entry_Components.csv",
    "qualtrics/ropensci_sample.csv",
    "qualtrics/ropensci_sample_legacy.csv",
]


@pytest.mark.parametrize("name", FILES)
def test_a_real_export_reports_counts_pandas_agrees_with(tmp_path, name):
    path = EXTERNAL / name
    if not path.exists():
        pytest.skip(f"{path} not present (shared data is outside the repository)")
    assert pandas_matches_report(path, tmp_path) >= 1

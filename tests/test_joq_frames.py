"""Frames and taxonomy fail loudly, naming the file and the field."""

import pytest
import yaml

from pipeline.core.errors import SpecError
from pipeline.joq.frames import load_frame, load_taxonomy

TAXONOMY = {
    "version": 1,
    "themes": [
        {"id": "communication", "label": "Communication", "description": "talking", "sources": []},
        {"id": "funding_resources", "label": "Funding", "description": "money", "sources": []},
        {"id": "other", "label": "Other", "description": "", "sources": []},
    ],
}


def frame_dict(**over):
    base = {
        "month": "2025-01",
        "version": 1,
        "status": "reviewed",
        "question": "Q?",
        "sectors": [{"code": "education", "label": "Education"}],
        "sample": {"size": 4, "seed": 1, "stratify_by": None},
        "codes": [
            {
                "id": "talk",
                "label": "Talk",
                "definition": "d",
                "theme": "communication",
                "include": ["Talk"],
                "exclude": [],
                "exemplars": [],
                "version": 1,
            },
            {
                "id": "other",
                "label": "Other",
                "definition": "",
                "theme": "other",
                "include": [],
                "exclude": [],
                "exemplars": [],
                "version": 1,
            },
        ],
    }
    base.update(over)
    return base


def write(tmp_path, frame):
    (tmp_path / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (tmp_path / "joq").mkdir(exist_ok=True)
    (tmp_path / "joq" / "2025-01.yaml").write_text(yaml.safe_dump(frame))
    return tmp_path / "joq"


def test_valid_frame_loads_and_lowercases_phrases(tmp_path):
    f = load_frame("2025-01", write(tmp_path, frame_dict()))
    assert f.code("talk").include == ["talk"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"colour": "red"}, "colour"),
        ({"status": "final"}, "status"),
        ({"month": "2025-13"}, "month"),
    ],
)
def test_structural_errors_name_file_and_field(tmp_path, change, needle):
    with pytest.raises(SpecError) as err:
        load_frame("2025-01", write(tmp_path, frame_dict(**change)))
    assert "2025-01.yaml" in str(err.value) and needle in str(err.value)


def test_duplicate_codes_unknown_theme_and_repeated_exemplar_are_all_reported(tmp_path):
    d = frame_dict()
    bad = dict(
        d["codes"][0],
        theme="nope",
        exemplars=[{"response_id": "A", "text": "x"}, {"response_id": "A", "text": "x"}],
    )
    d["codes"] = [d["codes"][0], bad, d["codes"][1]]
    with pytest.raises(SpecError) as err:
        load_frame("2025-01", write(tmp_path, d))
    msg = str(err.value)
    assert "'talk' is used 2 times" in msg and "theme 'nope'" in msg and "exemplar 'A'" in msg


def test_missing_other_code_and_taxonomy_other(tmp_path):
    d = frame_dict()
    d["codes"] = d["codes"][:1]
    with pytest.raises(SpecError, match="'other' code"):
        load_frame("2025-01", write(tmp_path, d))
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"version": 1, "themes": []}))
    with pytest.raises(SpecError, match="'other' theme"):
        load_taxonomy(tmp_path / "t.yaml")

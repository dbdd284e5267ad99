"""Commands that never embed never build an embedder: `joq import`, `review`, `agreement` and
`trends` succeed with sentence-transformers unimportable and the model embedder unbuildable, and
without `--dry-run`. The shared options are declared once and typed."""

import sys

import pytest
import yaml
from test_joq_workflow import ANSWERS, FRAME, TAXONOMY
from typer.testing import CliRunner

from cli import app
from commands import joq as joq_cli
from pipeline.core import embed
from pipeline.core.embed import HashingEmbedder
from pipeline.joq import flow, store

runner = CliRunner()


@pytest.fixture
def month_files(tmp_path):
    (tmp_path / "frames" / "joq").mkdir(parents=True)
    (tmp_path / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (tmp_path / "frames" / "joq" / "2025-01.yaml").write_text(yaml.safe_dump(FRAME))
    lines = ["Response ID,Submitted,Sector,Answer,Region"]
    for i, a in enumerate(ANSWERS, start=1):
        lines.append(f'R{i:02d},2025-02-01,Education,"{a}",North')
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "gold.csv").write_text(
        "response_id,code_id\nR02,money\nR04,talk\nR09,money\nR10,talk\n"
    )
    return tmp_path


@pytest.fixture
def no_model(monkeypatch):
    """Importing sentence_transformers fails, and so does building the model embedder."""

    def refuse(*args, **kwargs):
        raise AssertionError("a non-embedding command built the model embedder")

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setattr(embed.SentenceTransformerEmbedder, "__init__", refuse)


def joq(tmp, *args: str) -> str:
    common = ["--db", str(tmp / "db.duckdb"), "--frames", str(tmp / "frames" / "joq")]
    out = [] if args[0] == "import" else ["--out", str(tmp / "out")]
    res = runner.invoke(app, ["joq", *args, *common, *out])
    assert res.exit_code == 0, res.output
    return res.output


def test_import_review_agreement_trends_never_load_the_model(month_files, no_model):
    tmp = month_files
    assert "2025-01" in joq(tmp, "import", str(tmp / "export.csv"), "--month", "2025-01")
    joq(tmp, "code", "2025-01", "--dry-run")  # the hashing embedder: no model either
    assert "review.xlsx" in joq(tmp, "review", "2025-01")
    assert "macro-F1" in joq(tmp, "agreement", "2025-01", "--gold", str(tmp / "gold.csv"))
    assert "trends.html" in joq(tmp, "trends")


def test_a_session_builds_its_embedder_on_first_embed_only(tmp_path):
    made = []

    def factory():
        made.append(1)
        return HashingEmbedder()

    s = flow.Session(store.connect(tmp_path / "db.duckdb"), factory, tmp_path / "out")
    assert not s.embedder_built and made == []
    s.embed(["talk more"])
    s.embed(["fund more"])
    assert s.embedder_built and made == [1]


def test_open_session_makes_no_embedder_until_asked(tmp_path, no_model):
    s = flow.open_session(tmp_path / "db.duckdb", tmp_path / "out")
    assert not s.embedder_built
    with pytest.raises(AssertionError, match="built the model embedder"):
        s.embed(["talk more"])


def test_device_is_a_typed_choice(tmp_path):
    res = runner.invoke(app, ["joq", "code", "2025-01", "--device", "gpu"])
    assert res.exit_code == 2
    assert "gpu" in res.output and "Traceback" not in res.output
    assert [d.value for d in joq_cli.Device] == ["cpu", "cuda", "auto"]


SHARED_BY = {
    "import": {"db", "frames", "taxonomy"},
    "review": {"db", "frames", "taxonomy", "out"},
    "agreement": {"db", "frames", "taxonomy", "out"},
    "trends": {"db", "frames", "taxonomy", "out"},
    "discover": {"db", "frames", "taxonomy", "out", "dry_run", "device"},
    "code": {"db", "frames", "taxonomy", "out", "dry_run", "device"},
    "report": {"db", "frames", "taxonomy", "out", "dry_run", "device"},
    "tune": {"db", "frames", "taxonomy", "out", "dry_run", "device"},
    "export": {"db", "frames", "taxonomy", "out"},
    "import-qdpx": {"db", "frames", "taxonomy", "out"},
    "frame-from-qdc": {"db", "frames", "taxonomy"},
}


@pytest.mark.parametrize("name", sorted(SHARED_BY))
def test_each_command_takes_the_shared_options_it_needs_after_the_subcommand(name):
    from typer.main import get_command

    cmd = get_command(app).commands["joq"].commands[name]  # type: ignore[attr-defined]
    shared = {p.name for p in cmd.params} & set(joq_cli.SHARED)
    assert shared == SHARED_BY[name]

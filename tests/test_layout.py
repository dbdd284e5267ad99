"""The layout keeps its promises: the library never imports the tools or the CLI, the wheel holds
only the library and the commands, and every JOQ table is declared in the store."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = sorted((ROOT / "pipeline").rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level package of every import in a module (relative imports stay inside pipeline)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", PIPELINE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pipeline_module_imports_tools_typer_or_the_commands(path):
    assert imported_roots(path) & {"tools", "typer", "commands", "cli"} == set()


@pytest.mark.parametrize(
    "path", sorted((ROOT / "pipeline" / "core").rglob("*.py")), ids=lambda p: p.name
)
def test_core_imports_neither_pipeline(path):
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
    assert not {m for m in modules if m.startswith(("pipeline.survey", "pipeline.joq"))}


def test_the_wheel_packages_only_the_library_and_the_commands():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    packages = find_packages(str(ROOT), include=setuptools["packages"]["find"]["include"])
    assert {p.split(".")[0] for p in packages} == {"pipeline", "commands"}
    assert "pipeline.joq" in packages and "pipeline.core.reader" in packages
    assert setuptools["py-modules"] == ["cli"]


def test_every_joq_table_is_declared_in_the_store():
    ddl = {
        p.relative_to(ROOT).as_posix()
        for p in PIPELINE
        if re.search(r"CREATE\s+TABLE", p.read_text(encoding="utf-8"), re.I)
    }
    # the embedding cache is shared by both pipelines and owns its one table
    assert ddl == {"pipeline/joq/store.py", "pipeline/core/embed.py"}

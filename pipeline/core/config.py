"""The one way declared configuration is read: a YAML file becomes a validated pydantic model.

Why one loader: every YAML file (questionnaire, tables, recodes, published figures, quote
exclusions, lookups, JOQ frames and taxonomy) fails the same ways (missing, not UTF-8, bad
syntax, duplicate keys, wrong fields), and a user fixing one should get the same message: the
file, the line, the field path and the fix. Lines come from YAML's own node marks: the document
is composed into a node tree (the data is built from it), and pydantic's ``loc`` path is walked
down that tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.core.errors import Problem, SpecError
from pipeline.core.paths import SCHEMAS, check_month, check_survey_name

M = TypeVar("M", bound=BaseModel)

FORMAT_DOC = "see docs/architecture.md for the format"


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its bytes (for hashing), data, and node tree (for line numbers)."""

    path: Path
    raw: bytes
    data: object
    node: yaml.Node | None


SURVEYS = SCHEMAS / "surveys"


def resolve(name: str | Path, folder: Path = SURVEYS, file: str | None = None) -> Path:
    """Where a named config file lives: a .yaml/.yml path is used as is (any file can be tried
    from anywhere); a name is ``folder/<name>/<file>`` (a survey's questionnaire, tables,
    published figures) or, without ``file``, ``folder/<name>.yaml`` (a month's coding frame)."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        return p
    # a name becomes a path: a survey is [a-z0-9_]+, a frame's name is its month (YYYY-MM)
    if file:
        return folder / check_survey_name(str(name)) / file
    return folder / f"{check_month(str(name))}.yaml"


def read(path: str | Path, what: str = "file") -> Document:
    """Read and parse one YAML file; every failure is a ``SpecError`` naming the file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{what} not found", file=path, fix="check the name or path") from None
    except OSError as err:
        raise SpecError(f"{what} cannot be read ({err.strerror})", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SpecError(
            f"line {line}: not UTF-8 (byte 0x{raw[err.start]:02x})",
            file=path,
            fix="save the file as UTF-8",
        ) from None
    try:
        node, data = _parse(text)
    except yaml.YAMLError as err:
        raise _syntax_error(path, err) from None
    dupes = list(_duplicate_keys(node))
    if dupes:
        raise SpecError(
            f"invalid {what}: duplicate key{'s' if len(dupes) > 1 else ''}",
            file=path,
            fix="keep one of each key (YAML would silently use the last)",
            problems=[Problem(f"line {line}: key '{key}' appears twice") for key, line in dupes],
        )
    return Document(path, raw, data, node)


def validate(model: type[M], doc: Document, what: str = "file", fix: str = FORMAT_DOC) -> M:
    """``model.model_validate(doc.data)``; errors name each field path and its line."""
    try:
        return model.model_validate({} if doc.data is None else doc.data)
    except ValidationError as err:
        raise validation_error(doc, err, what, fix) from None


def load(model: type[M], path: str | Path, what: str = "file", fix: str = FORMAT_DOC) -> M:
    """Read, parse and validate one YAML file into ``model``."""
    return validate(model, read(path, what), what, fix)


def line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node ``loc`` reaches (a missing field: its parent mapping)."""
    if node is None:
        return None
    for part in loc:
        child = _child(node, part)
        if child is not None:
            node = child
    return node.start_mark.line + 1


def validation_error(doc: Document, err: ValidationError, what: str, fix: str) -> SpecError:
    problems = []
    for e in err.errors():
        loc = [p for p in e["loc"] if isinstance(p, str | int)]
        field = ".".join(str(p) for p in _field_path(doc.node, loc)) or "(top level)"
        line = line_of(doc.node, loc)
        where = f"line {line}, " if line else ""
        problems.append(Problem(f"{where}field '{field}': {e['msg']}"))
    n = len(problems)
    return SpecError(
        f"invalid {what} ({n} problem{'s' if n != 1 else ''})",
        file=doc.path,
        fix=f"edit the named fields; {fix}",
        problems=problems,
    )


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: same YAML


def _parse(text: str) -> tuple[yaml.Node | None, object]:
    """The project's only YAML parse: what yaml.safe_load does, but composing the node tree once
    and building the data from it, so line numbers cost no second parse; with libyaml (in the
    PyYAML wheels) it is faster than yaml.safe_load's pure-Python parse."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


def _field_path(node: yaml.Node | None, loc: Sequence[str | int]) -> list[str | int]:
    """The loc without pydantic's own steps (union tags, validator names) the YAML does not have;
    kept whole when the tree cannot tell (no document)."""
    if node is None:
        return list(loc)
    out: list[str | int] = []
    for i, part in enumerate(loc):
        child = _child(node, part) if node is not None else None
        if child is not None:
            out.append(part)
            node = child
        elif i == len(loc) - 1 or isinstance(part, int):
            out.append(part)  # a missing field, or an index past the end
            node = None
        # else: a tag such as 'single' in a tagged union, not in the file
    return out


def _duplicate_keys(node: yaml.Node | None):
    """(key, line) of every repeated scalar key in every mapping."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key.value, key.start_mark.line + 1
                seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _syntax_error(path: Path, err: yaml.YAMLError) -> SpecError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    if "mapping values are not allowed" in str(problem):
        fix = 'a value containing ": " needs quotes, e.g. label: "Funding: youth clubs"'
    elif "found character '\\t'" in str(problem) or "tab" in str(problem):
        fix = "indent with spaces, not tabs"
    else:
        fix = "correct the YAML syntax at that line (values with ': ', '#', or a leading quote, '-', '[' or '{' need quotes)"
    return SpecError(f"{where}not valid YAML: {problem}", file=path, fix=fix)

"""Markdown rendering for every ``.md`` output (survey and JOQ reports).

The HTML environment's autoescape writes ``&#39;`` and ``&#123;`` into Markdown, where they are
noise, and it does not stop Markdown itself: a respondent who types ``![x](//host/p.png)`` gets a
remote image in any viewer that renders report.md. Here every printed value is Markdown-escaped
instead (``finalize``), so a template cannot forget it: emphasis, code, tables, raw HTML, entities,
autolinks, links and images in respondent text come out as the literal characters.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from pipeline.core.safety.html import pct_filter, thousands_filter

_INLINE = re.compile(r"([\\`*_<>|~&{}#])")
_LINK = re.compile(r"(!?)\[|\]\(")  # "[" opening an image, "](" closing a link text
_LEADING = ("=", "+", "-", "@")  # list markers, headings, spreadsheet-formula starts
_LEFTOVERS = ("{{", "}}", "{%", "%}")


class MdText(str):
    """Text already escaped for Markdown: ``finalize`` leaves it alone (like markupsafe.Markup)."""


def md_escape(value: object) -> MdText:
    """One value as inline Markdown text: newlines flattened (a value never starts a block),
    Markdown punctuation and raw HTML backslash-escaped, link and image syntax broken, a leading
    ``= + - @`` escaped. ``[email]``-style placeholders stay readable."""
    if isinstance(value, MdText):
        return value
    text = " ".join(str("" if value is None else value).split())
    text = _INLINE.sub(r"\\\1", text)
    text = _LINK.sub(
        lambda m: "\\](" if m.group(0) == "](" else (m.group(1) and "\\![") or "[", text
    )
    return MdText("\\" + text if text.startswith(_LEADING) else text)


def _finalize(value: object) -> object:
    """Numbers print as they are; every string is escaped unless a filter already did it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return md_escape(value)


def make_markdown_environment(template_dir: Path) -> jinja2.Environment:
    """The only way the project builds a Markdown jinja2 environment (module docstring: why)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(
        md=md_escape,
        pct=lambda v: md_escape(pct_filter(v)),
        thousands=lambda v: md_escape(thousands_filter(v)),
    )
    return env


def assert_markdown_clean(md: str) -> None:
    """Fail if template syntax, an unescaped image or a raw ``<script`` survives rendering."""
    bare = md.replace("\\{", "").replace("\\}", "")  # escaped braces print as braces
    leftovers = [m for m in _LEFTOVERS if m in bare]
    if leftovers:
        raise AssertionError(f"unrendered template syntax in Markdown: {', '.join(leftovers)}")
    if re.search(r"(?<!\\)!\[[^\]]*(?<!\\)\]\(", md):
        raise AssertionError("an image reference appears in the rendered Markdown")
    if re.search(r"(?<!\\)<script", md, re.IGNORECASE):
        raise AssertionError("a <script> element appears in the rendered Markdown")

"""HTML rendering that cannot be talked into running code: the jinja2 environment and its checks.

Reports quote respondents, so every value is hostile until escaped. Autoescape is on for every
template whatever its extension, undefined variables fail loudly, and a Content-Security-Policy
allows nothing but the report's own hashed inline styles and data: images.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from pipeline.core.safety.disclosure import round_half_up

_SAFE_HREF = re.compile(r"^(?:#|https?://)", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_UNSAFE_TEMPLATE = re.compile(
    r"\|\s*safe\b|\bMarkup\s*\(|\{%-?\s*autoescape\s+false\b|\{%-?\s*filter\s+safe\b",
    re.IGNORECASE,
)
_LEFTOVERS = ("{{", "}}", "{%", "%}")


def _always(_name: str | None) -> bool:
    return True


def _finalize(value: object) -> Markup:
    """Escape, then also neutralise braces so no ``{{`` reaches a client-side template engine."""
    return Markup(str(escape(value)).replace("{", "&#123;").replace("}", "&#125;"))


def pct_filter(value: float | int | str | None) -> str:
    """Whole-number percentage, rounded half up; text (e.g. ``[c]``) passes through; None -> ''."""
    if isinstance(value, str):
        return value
    rounded = round_half_up(value)
    return "" if rounded is None else str(rounded)


def thousands_filter(value: float | int | str | None) -> str:
    """``1234567`` -> ``1,234,567`` (floats rounded half up); text passes through; None -> ''."""
    if isinstance(value, str):
        return value
    rounded = round_half_up(value)
    return "" if rounded is None else f"{rounded:,}"


def safe_href(value: object) -> str:
    """The value if it is a ``#fragment`` or ``http(s)://`` URL, else ``#`` (no ``javascript:``)."""
    text = str(value).strip()
    if _SAFE_HREF.match(text) and not any(ord(ch) < 32 for ch in text):
        return text
    return "#"


def make_environment(template_dir: Path) -> jinja2.Environment:
    """The only way the project builds a jinja2 environment (see module docstring for why)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=_always,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(pct=pct_filter, thousands=thousands_filter, safe_href=safe_href)
    return env


def style_hash(css: str) -> str:
    """The CSP source for one inline ``<style>`` block: ``'sha256-<base64>'`` of its exact text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def style_blocks(html: str) -> list[str]:
    """The exact contents of each ``<style>`` block in rendered HTML (what the CSP must hash)."""
    return _STYLE_BLOCK.findall(html)


def csp_meta(inline_styles: Sequence[str]) -> Markup:
    """A CSP ``<meta>`` allowing only these inline styles (by hash) and ``data:`` images."""
    styles = " ".join(dict.fromkeys(style_hash(css) for css in inline_styles)) or "'none'"
    policy = (
        f"default-src 'none'; style-src {styles}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    # The policy holds only fixed text and base64 hashes (no quote, '<' or '&'), so it is
    # inserted literally: browsers need to see the single quotes as written.
    return Markup(f'<meta http-equiv="Content-Security-Policy" content="{policy}">')


def scan_templates(template_dir: Path) -> list[str]:
    """``path:line: text`` for each template line that bypasses autoescape (``|safe`` etc.)."""
    root = Path(template_dir)
    if not root.is_dir():
        return []
    offending: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            if _UNSAFE_TEMPLATE.search(line):
                offending.append(f"{path}:{number}: {line.strip()}")
    return offending


def assert_rendered_clean(html: str) -> None:
    """Fail if template syntax or a ``<script`` survives rendering.

    ``<style>`` contents are skipped for the brace checks, since CSS legitimately ends nested
    rules with ``}}``.
    """
    outside_styles = _STYLE_BLOCK.sub("<style></style>", html)
    leftovers = [marker for marker in _LEFTOVERS if marker in outside_styles]
    if leftovers:
        raise AssertionError(f"unrendered template syntax in output: {', '.join(leftovers)}")
    if re.search(r"<script", html, re.IGNORECASE):
        raise AssertionError("a <script> element appears in the rendered output")

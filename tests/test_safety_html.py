"""Reports render with autoescape always on, a hashed CSP, and no template syntax left over."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import jinja2
import pytest

from pipeline.core.paths import TEMPLATES
from pipeline.core.safety.html import (
    assert_rendered_clean,
    csp_meta,
    make_environment,
    safe_href,
    scan_templates,
    style_blocks,
)

HOSTILE = [
    "<script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "javascript:alert(1)",
    "{{ 7*7 }}",
]
CSS = "body { font-family: sans-serif; }\n@media print { a { color: black }}"
TEMPLATE = (
    "<html><head>{{ csp }}<style>" + CSS + "</style></head><body>\n"
    '<p title="{{ value }}">{{ value }}</p>\n'
    '<a href="{{ value|safe_href }}">link</a>\n'
    "{% for row in rows %}\n"
    "<td>{{ row.pct|pct }}</td><td>{{ row.n|thousands }}</td>\n"
    "{% endfor %}\n"
    "</body></html>\n"
)


@pytest.fixture
def env(tmp_path: Path) -> jinja2.Environment:
    (tmp_path / "report.txt").write_text(TEMPLATE)  # not .html: autoescape must still apply
    return make_environment(tmp_path)


def render(env: jinja2.Environment, value: str) -> str:
    rows = [{"pct": 12.5, "n": 1234567}, {"pct": "[c]", "n": "[c]"}]
    return env.get_template("report.txt").render(value=value, rows=rows, csp=csp_meta([CSS]))


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_come_out_escaped_and_literal(env: jinja2.Environment, value: str) -> None:
    html = render(env, value)
    assert "<script>" not in html and 'onmouseover="' not in html
    assert 'href="javascript' not in html
    assert "49" not in html
    assert_rendered_clean(html)


def test_template_expression_in_a_value_is_not_evaluated(env: jinja2.Environment) -> None:
    html = render(env, "{{ 7*7 }}")
    assert "&#123;&#123; 7*7 &#125;&#125;" in html


def test_pct_and_thousands_filters_round_half_up_and_pass_suppression_through(
    env: jinja2.Environment,
) -> None:
    html = render(env, "x")
    assert "<td>13</td><td>1,234,567</td>" in html
    assert "<td>[c]</td><td>[c]</td>" in html


def test_undefined_variables_fail_loudly(env: jinja2.Environment) -> None:
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("report.txt").render(value="x")


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("#table-1", "#table-1"),
        ("https://example.org/a", "https://example.org/a"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("javascript:alert(1)", "#"),
        (" JavaScript:alert(1)", "#"),
        ("data:text/html,<script>", "#"),
        ("//evil.example", "#"),
        ("https://x\n.org", "#"),
    ],
)
def test_safe_href_allows_only_fragments_and_http_urls(href: str, expected: str) -> None:
    assert safe_href(href) == expected


def test_csp_meta_hashes_each_exact_inline_style(env: jinja2.Environment) -> None:
    html = render(env, "x")
    blocks = style_blocks(html)
    assert blocks == [CSS]
    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    assert (
        f"content=\"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
        "base-uri 'none'; form-action 'none'\"" in html
    )


def test_csp_without_inline_styles_allows_no_styles() -> None:
    assert "style-src 'none';" in csp_meta([])


def test_project_templates_do_not_bypass_autoescape() -> None:
    assert scan_templates(TEMPLATES) == []


def test_scan_templates_catches_a_planted_bad_template(tmp_path: Path) -> None:
    (tmp_path / "ok.html").write_text("<p>{{ value }}</p>\n")
    (tmp_path / "bad.html").write_text(
        "<p>{{ value|safe }}</p>\n{% autoescape false %}x{% endautoescape %}\n"
        "{{ Markup(value) }}\n<p>{{ value | safe }}</p>\n"
    )
    found = scan_templates(tmp_path)
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4"]
    assert all(line.startswith(str(tmp_path / "bad.html")) for line in found)


@pytest.mark.parametrize("leftover", ["{{ x }}", "{% if %}", "<SCRIPT src=x>", "a }} b"])
def test_assert_rendered_clean_rejects_leftovers(leftover: str) -> None:
    with pytest.raises(AssertionError):
        assert_rendered_clean(f"<p>{leftover}</p>")


def test_assert_rendered_clean_allows_nested_css_braces() -> None:
    assert_rendered_clean(f"<style>{CSS}</style><p>ok</p>")

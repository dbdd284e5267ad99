"""Markdown outputs escape for Markdown (issue 11 item 10): respondent text cannot become an
image, a link, emphasis, raw HTML or a table break, and no HTML entity appears."""

from __future__ import annotations

import pytest

from pipeline.core.safety.markdown import (
    assert_markdown_clean,
    make_markdown_environment,
    md_escape,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("![x](//host/p.png)", "\\![x\\](//host/p.png)"),
        ("see [here](https://x.example)", "see [here\\](https://x.example)"),
        ("[email] wrote", "[email] wrote"),  # redaction placeholders stay readable
        ("it's <b>bold</b> & *loud*", "it's \\<b\\>bold\\</b\\> \\& \\*loud\\*"),
        ("a|b", "a\\|b"),
        ("=1+1", "\\=1+1"),
        ("# heading", "\\# heading"),
        ("two\nlines", "two lines"),
        ("{{ 7*7 }}", "\\{\\{ 7\\*7 \\}\\}"),
    ],
)
def test_values_are_markdown_escaped(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_every_printed_value_is_escaped_once(tmp_path) -> None:
    (tmp_path / "t.md.j2").write_text(
        "> {{ quote }} | {{ quote|md }} | {{ n }} | {{ n|thousands }}\n"
    )
    env = make_markdown_environment(tmp_path)
    out = env.get_template("t.md.j2").render(quote="![x](//h/p.png) it's", n=1234)
    assert out == "> \\![x\\](//h/p.png) it's | \\![x\\](//h/p.png) it's | 1234 | 1,234\n"
    assert_markdown_clean(out)


def test_an_image_that_survives_is_caught() -> None:
    with pytest.raises(AssertionError, match="image"):
        assert_markdown_clean("text ![x](//host/p.png)")

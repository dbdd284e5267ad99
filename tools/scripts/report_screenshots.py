"""Screenshots of the survey report and tables.xlsx for docs/img (what a reader sees).

``.venv/bin/python -m tools.scripts.report_screenshots OUT_DIR``: runs the reference export in the
analysis and publication profiles into OUT_DIR, screenshots chosen report sections in headless
Chromium, and converts tables.xlsx to PDF with LibreOffice, then pages to PNG with pdftoppm.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pipeline.core.paths import REFERENCE_DATA, ROOT
from pipeline.survey.flow import run_survey

IMG = ROOT / "docs" / "img"
SECTIONS = {  # image -> (report part, window height)
    "survey-chart-bars": ('<section id="figure-5-1">', 900),
    "survey-chart-stacked": ('<section id="figure-F-7">', 560),
    "survey-unreviewed-other": ('<h3 id="others">', 560),
}
PAGES = {"tables-xlsx-contents": ("analysis", 1), "tables-xlsx-grouped": ("analysis", 3)}
PAGES["tables-xlsx-publication"] = ("publication", 9)


def _part(html: str, start: str) -> str:
    """From ``start`` to the end of its section, or to the next heading."""
    i = html.index(start)
    end = "</section>" if start.startswith("<section") else None
    if end:
        return html[i : html.index(end, i) + len(end)]
    nxt = re.search(r"<h[23] ", html[i + len(start) :])
    return html[i : i + len(start) + (nxt.start() if nxt else 0)]


def shoot(report: Path, out: Path) -> None:
    html = report.read_text(encoding="utf-8")
    head = html[: html.index("<body>") + len("<body>")]
    for name, (start, height) in SECTIONS.items():
        page = out / f"{name}.html"
        page.write_text(head + _part(html, start) + "</body></html>", encoding="utf-8")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", f"--screenshot={IMG / name}.png",
             f"--window-size=1280,{height}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def main(out: Path) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    dirs = {}
    for profile in ("analysis", "publication"):
        dirs[profile] = run_survey(
            REFERENCE_DATA / "interactions_2025_export.csv", "interactions_2025",
            out / profile, suggest=False, profile=profile,
        )  # fmt: skip
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out / profile),
             str(dirs[profile] / "tables.xlsx")],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    shoot(dirs["analysis"] / "report.html", out)
    for name, (profile, page) in PAGES.items():
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-singlefile", "-f", str(page), "-l", str(page),
             str(out / profile / "tables.pdf"), str(IMG / name)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))

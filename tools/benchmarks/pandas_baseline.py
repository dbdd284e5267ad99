"""The same published tables computed the way an analyst would in pandas: read the CSV, map
labels to codes, drop duplicates and partials, recode "Other", then group and count.

Column names and option codes come from the questionnaire spec (an analyst would type them);
everything else is plain pandas. ``tables(path)`` returns {table id: {(group, row): (n, base)}}
for Table F-1, Figure F-3, Table F-3, Figure 4-1, Table 3-1 (youth groups) and Figure F-7.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import yaml

from pipeline.survey.questionnaire import load_questionnaire

SM_DATE = "%m/%d/%Y %I:%M:%S %p"
ITEMS = [
    "education",
    "social_care",
    "health_care",
    "youth_justice",
    "youth_sector",
    "other_sectors",
]


def load(path: Path, spec) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        row1, row2 = next(reader), next(reader)
    names, current = {}, ""
    by_header = {}
    for text, sub, name in spec.surveymonkey_headers():
        current = text or current
        by_header[(current.strip(), sub.strip())] = name
    current = ""
    for j, (q, sub) in enumerate(zip(row1, row2, strict=True)):
        current = q.strip() or current
        names[j] = by_header.get((current, sub.strip()), q.strip() or f"col{j}")
    df = pd.read_csv(
        path, encoding="utf-8-sig", skiprows=2, header=None, dtype=str, keep_default_na=False
    )
    df.columns = [names[j] for j in range(df.shape[1])]
    for col in spec.columns:
        s = df[col.name].str.strip()
        if col.kind == "option":
            df[col.name] = s != ""
        elif col.kind == "value" and col.instance.options:
            df[col.name] = s.map({o.label: o.code for o in col.instance.options})
        else:
            df[col.name] = s.replace("", None)
    return df.copy()  # de-fragment after replacing every column


def clean(df: pd.DataFrame, spec) -> pd.DataFrame:
    answers = [c.name for c in spec.columns]
    df = df.assign(_start=pd.to_datetime(df["Start Date"], format=SM_DATE, errors="coerce"))
    df = df.sort_values(["_start"], kind="stable", na_position="last")
    df = df.drop_duplicates("Respondent ID", keep="first")
    after = [c for b in spec.blocks_after("background") for c in spec.block_columns(b)]
    answered_after = pd.concat(
        [df[c] if df[c].dtype == bool else df[c].notna() for c in after], axis=1
    ).any(axis=1)
    df = df[answered_after]
    df = df.drop_duplicates(["Collector ID", *answers], keep="first")
    recodes = yaml.safe_load((spec.directory / "recodes.yaml").read_text())["entries"]
    lookup = {e["text"].strip(): e["category"] for e in recodes}
    other = df["sector"] == "other"
    recoded = df.loc[other, "sector__other_text"].map(lookup)
    df.loc[other & recoded.reindex(df.index).notna(), "sector"] = recoded.dropna()
    return df.assign(_route=df["sector"].map(spec.route_of_sector()))


def _multi_answered(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    return df[cols].any(axis=1)


def tables(path: Path) -> dict[str, dict[tuple[str | None, str], tuple[int, int]]]:
    spec = load_questionnaire("interactions_2025")
    df = clean(load(path, spec), spec)
    youth = df[df["_route"] == "youth"]
    out: dict[str, dict] = {}
    counts = df["sector"].value_counts()
    out["table-F-1"] = {(None, k): (int(v), len(df)) for k, v in counts.items()}
    area = df["area"].dropna()
    out["figure-F-3"] = {(None, k): (int(v), len(area)) for k, v in area.value_counts().items()}
    f3, t31, f7 = {}, {}, {}
    nets = spec.nets(spec.question("met_purposes"))
    for item in ITEMS:
        inter = youth[f"interacted_{item}"].dropna()
        for k, v in inter.value_counts().items():
            f3[(item, k)] = (int(v), len(inter))
        shown = youth[youth[f"interacted_{item}"] == "yes"]
        for code, col in spec.option_columns(f"purposes_{item}").items():
            t31[(item, code)] = (int(shown[col].sum()), len(shown))
        met = shown[f"met_purposes_{item}"].dropna()
        for net, n in nets.items():
            f7[(item, net)] = (int(met.isin(n.codes).sum()), len(met))
    out["table-F-3"], out["table-3-1"], out["figure-F-7"] = f3, t31, f7
    opts = spec.option_columns("benefits")
    answered = youth[_multi_answered(youth, list(opts.values()))]
    out["figure-4-1"] = {
        (None, c): (int(answered[col].sum()), len(answered)) for c, col in opts.items()
    }
    return out


def compare(ours: dict, theirs: dict) -> dict[str, str]:
    """Per table: 'same' when every (group, row) n and base agree, else the first difference."""
    result = {}
    for tid, cells in theirs.items():
        frame = ours[tid]
        mine = {
            (g, r): (n, b) for g, r, n, b in frame.select("group", "row", "n", "base").iter_rows()
        }
        diff = [(k, v, mine.get(k)) for k, v in cells.items() if v[0] and mine.get(k) != v]
        result[tid] = "same" if not diff else f"differs: {diff[0]}"
    return result

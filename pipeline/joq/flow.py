"""Wires the JOQ stages for the CLI: open the store, load the frame, embed through the cache, run
one stage, write its outputs atomically. Stage modules stay pure; all file I/O is here."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import polars as pl

from pipeline.core.embed import (
    Embedder,
    EmbeddingCache,
    HashingEmbedder,
    SentenceTransformerEmbedder,
)
from pipeline.core.errors import InputError
from pipeline.core.paths import CODING_FRAMES, DEFAULT_OUT
from pipeline.core.reader.grid import read_grid
from pipeline.core.safety.atomic import atomic_write_text
from pipeline.core.safety.export import write_csv, write_xlsx
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import agreement as agr
from pipeline.joq import decide, importer, review, sampling, scorers, store
from pipeline.joq import discover as disc
from pipeline.joq import nonanswers as nonans
from pipeline.joq.frames import OTHER, Frame, Taxonomy, Thresholds, load_frame, load_taxonomy

EmbedderFactory = Callable[[], Embedder]


class Session:
    """One open store, the frames and the output folder; ``frames_dir`` holds <month>.yaml.

    The embedder is a capability made on first use: ``embedder`` may be an embedder or a
    zero-argument factory, and the factory runs only when a stage embeds (or asks for the model
    id). Commands that never embed (import, review, agreement, trends) so never load a model.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        embedder: Embedder | EmbedderFactory,
        out: Path = DEFAULT_OUT,
        frames_dir: Path = CODING_FRAMES / "joq",
        taxonomy_path: Path | None = None,
    ) -> None:
        self.con = con
        self.out = Path(out)
        self.frames_dir = Path(frames_dir)
        self.taxonomy_path = taxonomy_path
        self._embedder: Embedder | None = None
        self._factory: EmbedderFactory | None = None
        self.embedder = embedder  # type: ignore[assignment]
        self._cache: EmbeddingCache | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            assert self._factory is not None
            self._embedder = self._factory()
        return self._embedder

    @embedder.setter
    def embedder(self, value: Embedder | EmbedderFactory) -> None:
        if isinstance(value, Embedder):
            self._embedder, self._factory = value, None
        else:
            self._embedder, self._factory = None, value

    @property
    def embedder_built(self) -> bool:
        return self._embedder is not None

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(self.con)
        return self._cache

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.cache.embed(texts, self.embedder)

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_path or self.frames_dir.parent / "taxonomy.yaml")

    def frame(self, month: str) -> Frame:
        return load_frame(month, self.frames_dir, self.taxonomy())

    def month_dir(self, month: str) -> Path:
        return self.out / f"joq_{month}"


def open_session(
    db: Path,
    out: Path = DEFAULT_OUT,
    frames_dir: Path | None = None,
    embedder: Embedder | None = None,
    dry_run: bool = False,
    device: Literal["cpu", "cuda", "auto"] = "cpu",
) -> Session:
    """Open the store; the embedder (hashing with ``dry_run``, else the model) is made lazily."""
    factory: EmbedderFactory = (
        HashingEmbedder
        if dry_run
        else functools.partial(SentenceTransformerEmbedder, device=device)
    )
    return Session(store.connect(db), embedder or factory, out, frames_dir or CODING_FRAMES / "joq")


def _require_month(s: Session, month: str) -> pl.DataFrame:
    df = store.responses(s.con, month)
    if df.height == 0:
        raise InputError(
            f"month {month} has not been imported",
            fix=f"run `joinedup joq import FILE --month {month}` first",
        )
    return df


# --- import -------------------------------------------------------------------------------------


def nonanswer_list(
    frame: Frame | None, extra: Sequence[str] = (), keep: Sequence[str] = ()
) -> frozenset[str]:
    """The month's non-answers: the default list, the frame's ``nonanswers`` block and the
    command's options; a reply a code carries (include phrase, exemplar) is kept."""
    if frame is None:
        return nonans.listed(extra=extra, keep=keep)
    carried = nonans.carried_by_codes(
        [c.include for c in frame.codes], [e.text for c in frame.codes for e in c.exemplars]
    )
    return nonans.listed(frame.nonanswers, carried, extra, keep)


def run_import(
    s: Session,
    path: Path,
    month: str,
    replace: bool = False,
    extra_nonanswers: Sequence[str] = (),
    keep_answers: Sequence[str] = (),
) -> importer.ImportResult:
    frame_file = s.frames_dir / f"{month}.yaml"
    frame = s.frame(month) if frame_file.is_file() else None
    listed = nonanswer_list(frame, extra_nonanswers, keep_answers)
    res = importer.import_export(
        s.con, Path(path), month, frame.sectors if frame else [], replace, nonanswers=listed
    )
    # the same file again with a changed list: re-flag the stored answers (a new list applies)
    flips = nonans.reflag(store.responses(s.con, month), listed)
    if flips.height:
        store.set_nonanswers(s.con, month, flips)
        res.n_usable = int(store.responses(s.con, month)["usable"].sum())
    res.reflagged = flips.height
    write_csv(
        nonans.summary_table(store.responses(s.con, month)), s.month_dir(month) / "nonanswers.csv"
    )
    return res


# --- discover -----------------------------------------------------------------------------------


def run_discover(
    s: Session, month: str, size: int, seed: int, stratify_by: str | None = None
) -> disc.Discovery:
    usable = _require_month(s, month).filter(pl.col("usable"))
    ids = sampling.draw_sample(usable, size, seed, stratify_by)
    sample = usable.filter(pl.col("response_id").is_in(ids)).sort("response_id")
    tax = s.taxonomy()
    frame = s.frame(month) if (s.frames_dir / f"{month}.yaml").is_file() else None
    d = disc.discover(
        sample,
        s.embed(sample["text"].to_list()),
        s.embed(disc.theme_texts(tax)),
        tax,
        month,
        seed,
        stratify_by,
        frame,
    )
    s.con.execute("DELETE FROM joq_samples WHERE month = ?", [month])
    store.insert(
        s.con,
        "joq_samples",
        pl.DataFrame(
            {
                "month": month,
                "seed": seed,
                "size": size,
                "stratify_by": stratify_by or "",
                "response_id": ids,
            }
        ),
    )
    out = s.month_dir(month)
    atomic_write_text(out / "draft_frame.yaml", disc.draft_yaml(d))
    write_csv(d.saturation, out / "saturation.csv")
    write_csv(d.sample.with_columns(pl.lit(seed).alias("seed")), out / "sample.csv")
    write_csv(d.groups, out / "groups.csv")
    return d


# --- code ---------------------------------------------------------------------------------------


@dataclass
class CodeRun:
    run_id: str
    machine: pl.DataFrame
    other: pl.DataFrame
    n_training: int
    thresholds: Thresholds
    computed: int
    reused: int


def thresholds_for(frame: Frame, overrides: dict | None) -> Thresholds:
    from pydantic import ValidationError

    from pipeline.core.errors import SpecError

    merged = {**frame.thresholds.model_dump(), **(overrides or {})}
    try:
        return Thresholds.model_validate(merged)
    except ValidationError as err:
        e = err.errors()[0]
        raise SpecError(
            f"threshold '{'.'.join(map(str, e['loc']))}': {e['msg']}",
            fix=f"use one of: {', '.join(Thresholds.model_fields)}",
        ) from None


def training_codes(s: Session, month: str) -> dict[str, frozenset[str]]:
    dec = store.latest_decisions(s.con, month).filter(pl.col("codes").is_not_null())
    return {r: frozenset(c) for r, c in zip(dec["response_id"], dec["codes"], strict=True)}


def run_code(s: Session, month: str, overrides: dict | None = None) -> CodeRun:
    frame = s.frame(month)
    th = thresholds_for(frame, overrides)
    seed = frame.sample.seed
    usable = _require_month(s, month).filter(pl.col("usable"))
    ids, texts = usable["response_id"].to_list(), usable["text"].to_list()
    before = (s.cache.computed, s.cache.reused)
    emb = s.embed(texts)
    training = training_codes(s, month)
    inp = scorers.code_inputs(frame, ids, texts, emb, s.embed, training, th)
    scores = scorers.score(inp, th, seed)
    machine = decide.decide(scores, inp.codes, ids, th)
    themes = {c.id: c.theme for c in frame.codes}
    key = json.dumps(
        [
            month,
            frame.version,
            s.embedder.model_id,
            th.model_dump(),
            sorted((k, sorted(v)) for k, v in training.items()),
        ],
        sort_keys=True,
    )
    run_id = hashlib.sha256(key.encode()).hexdigest()[:12]
    machine = machine.with_columns(
        pl.lit(month).alias("month"),
        pl.col("code_id").replace_strict(themes, default=OTHER).alias("theme"),
        pl.lit(run_id).alias("run_id"),
    )
    # leftover 'other' answers nobody has decided yet: propose new codes or reassignment
    left = [
        i
        for i in machine.filter(pl.col("code_id") == OTHER)["response_id"].to_list()
        if i not in training
    ]
    pos = {r: k for k, r in enumerate(ids)}
    rows = [pos[i] for i in left]
    other = decide.other_proposals(
        left, [texts[k] for k in rows], emb[rows], decide.code_centroids(inp), inp.codes, seed
    )
    s.con.execute("BEGIN")
    s.con.execute("DELETE FROM joq_machine_codes WHERE month = ?", [month])
    store.insert(s.con, "joq_machine_codes", machine)
    s.con.execute("DELETE FROM joq_code_themes WHERE month = ?", [month])
    store.insert(
        s.con,
        "joq_code_themes",
        pl.DataFrame(
            {
                "month": month,
                "code_id": [c.id for c in frame.codes],
                "label": [c.label for c in frame.codes],
                "theme": [c.theme for c in frame.codes],
            }
        ),
    )
    store.insert(
        s.con,
        "joq_runs",
        pl.DataFrame(
            {
                "month": [month],
                "run_id": [run_id],
                "frame_version": [frame.version],
                "model_id": [s.embedder.model_id],
                "thresholds": [json.dumps(th.model_dump())],
                "seeds": [
                    json.dumps(
                        {
                            "fewshot_random_state": seed,
                            "other_grouping": seed,
                            "sample": frame.sample.seed,
                        }
                    )
                ],
                "n_training": [len(training)],
                "created_at": [generation_stamp()],
            }
        ),
    )
    s.con.execute("COMMIT")
    write_csv(other, s.month_dir(month) / "other_review.csv")
    write_csv(
        machine.select("response_id", "code_id", "theme", "score", "method", "run_id"),
        s.month_dir(month) / "machine_codes.csv",
    )
    return CodeRun(
        run_id,
        machine,
        other,
        len(training),
        th,
        s.cache.computed - before[0],
        s.cache.reused - before[1],
    )


# --- review -------------------------------------------------------------------------------------


def run_review_write(s: Session, month: str) -> Path:
    frame = s.frame(month)
    responses = _require_month(s, month)
    machine = store.query(s.con, "SELECT * FROM joq_machine_codes WHERE month = ?", [month])
    if machine.height == 0:
        raise InputError(
            f"month {month} has not been coded", fix=f"run `joinedup joq code {month}` first"
        )
    sheet = review.review_sheet(responses, machine, store.latest_decisions(s.con, month), frame)
    path = s.month_dir(month) / "review.xlsx"
    write_xlsx({"review": sheet, "codes": review.codes_sheet(frame)}, path)
    return path


def run_review_apply(s: Session, month: str, path: Path, coder_name: str) -> int:
    frame = s.frame(month)
    known = set(_require_month(s, month)["response_id"].to_list())
    decisions = review.read_review(Path(path), frame, known)
    return review.store_decisions(s.con, month, decisions, coder_name)


# --- agreement ----------------------------------------------------------------------------------


def read_long(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """The named columns (header matched ignoring case and spaces) of a long CSV/XLSX such as a
    gold or split file, read by the core export reader: the same encodings and refusals as ingest."""
    grid = read_grid(Path(path))
    headers = [h.strip().lower() for h in grid.rows[0]]
    missing = [c for c in columns if c not in headers]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            file=path,
            row=grid.number(0),
            fix=f"the file needs columns {', '.join(columns)}",
        )
    return pl.DataFrame({c: grid.column(headers.index(c), 1).str.strip_chars() for c in columns})


def load_gold_decisions(
    s: Session,
    month: str,
    gold: Path,
    split: Path,
    splits: tuple[str, ...] = ("sample", "exemplar"),
    coder_name: str = "reference-gold",
) -> int:
    """Gold codes of the training splits become human decisions (never the eval split)."""
    g = read_long(gold, ("response_id", "code_id"))
    sp = read_long(split, ("response_id", "split"))
    train = set(sp.filter(pl.col("split").is_in(list(splits)))["response_id"].to_list())
    dec = (
        g.filter(pl.col("response_id").is_in(list(train)))
        .group_by("response_id")
        .agg(pl.col("code_id").unique().sort().alias("codes"))
        .sort("response_id")
        .with_columns(
            pl.lit(None, pl.Boolean).alias("exclude_quote"), pl.lit(None, pl.String).alias("note")
        )
    )
    return review.store_decisions(s.con, month, dec, coder_name)


def eval_ids(
    s: Session, month: str, frame: Frame, gold: pl.DataFrame, split: pl.DataFrame | None
) -> list[str]:
    """Answers to measure on: the eval split (or all gold answers), never training or exemplars."""
    usable = set(store.responses(s.con, month, usable_only=True)["response_id"].to_list())
    ids = (
        set(gold["response_id"].to_list())
        if split is None
        else set(split.filter(pl.col("split") == "eval")["response_id"].to_list())
    )
    used = set(training_codes(s, month)) | {e.response_id for c in frame.codes for e in c.exemplars}
    return sorted((ids & usable) - used)


def run_agreement(
    s: Session,
    month: str,
    gold: Path,
    split: Path | None = None,
    resamples: int = 1000,
    seed: int = 20250131,
) -> pl.DataFrame:
    frame = s.frame(month)
    g = read_long(gold, ("response_id", "code_id"))
    sp = read_long(split, ("response_id", "split")) if split else None
    ids = eval_ids(s, month, frame, g, sp)
    if not ids:
        raise InputError("no gold answers left to measure on (all used for training?)", file=gold)
    machine = store.query(
        s.con, "SELECT response_id, code_id FROM joq_machine_codes WHERE month = ?", [month]
    )
    if machine.height == 0:
        raise InputError(
            f"month {month} has not been coded", fix=f"run `joinedup joq code {month}` first"
        )
    table = agr.agreement_table(g, machine, ids, frame.code_ids(), resamples, seed)
    store.save_agreement(s.con, month, Path(gold).name, table, generation_stamp())
    write_csv(table, s.month_dir(month) / "agreement.csv")
    return table


def stored_agreement(s: Session, month: str) -> pl.DataFrame | None:
    return store.agreement(s.con, month)


def cross_validate_month(s: Session, month: str, folds: int = 5) -> pl.DataFrame:
    """Threshold grid scored by cross-validation on the month's human-coded answers only."""
    from pipeline.joq import tune

    frame = s.frame(month)
    usable = _require_month(s, month).filter(pl.col("usable"))
    training = training_codes(s, month)
    if len(training) < 10:
        raise InputError(
            f"only {len(training)} human-coded answers in {month}",
            fix="review at least 10 answers before tuning",
        )
    ids, texts = usable["response_id"].to_list(), usable["text"].to_list()
    inp = scorers.code_inputs(frame, ids, texts, s.embed(texts), s.embed, training)
    # phrases off at decision time: they were written from these answers (see docs/joq.md)
    base = frame.thresholds.model_copy(update={"phrase_score": 0.0})
    return tune.cross_validate(inp, base, frame.sample.seed, folds)

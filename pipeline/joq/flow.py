"""Wires the JOQ stages for the CLI: open the store, load the frame, embed through the cache, run
one stage, write its outputs atomically. Stage modules stay pure; all file I/O is here."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
from pipeline.core.paths import CODING_FRAMES, DEFAULT_OUT, check_month, output_dir
from pipeline.core.reader.grid import read_grid
from pipeline.core.safety.atomic import atomic_write_text, guarded
from pipeline.core.safety.export import write_csv
from pipeline.core.safety.redact import redact_columns
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import importer, review, sampling, store
from pipeline.joq import nonanswers as nonans
from pipeline.joq.frames import OTHER, Frame, Taxonomy, Thresholds, load_frame, load_taxonomy

if (
    TYPE_CHECKING
):  # the stage modules import scikit-learn: loaded only by the commands that run them
    from pipeline.joq import discover as disc

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
        return load_taxonomy(taxonomy_file(self.frames_dir, self.taxonomy_path))

    def frame(self, month: str) -> Frame:
        return load_frame(check_month(month), self.frames_dir, self.taxonomy())

    def month_dir(self, month: str) -> Path:
        return output_dir(self.out, f"joq_{check_month(month)}")


def taxonomy_file(frames_dir: Path, explicit: Path | None = None) -> Path:
    """The taxonomy for a frames folder: ``--taxonomy``, else ``taxonomy.yaml`` inside the folder,
    else (the project's own folder only) ``coding_frames/taxonomy.yaml``; never a guess."""
    if explicit is not None:
        return explicit
    inside = Path(frames_dir) / "taxonomy.yaml"
    if inside.is_file():
        return inside
    if Path(frames_dir).resolve() == (CODING_FRAMES / "joq").resolve():
        return CODING_FRAMES / "taxonomy.yaml"
    raise InputError(
        f"no taxonomy.yaml in the frames folder {frames_dir}",
        fix="pass --taxonomy FILE, or put the cross-month taxonomy.yaml inside that folder",
    )


def open_session(
    db: Path,
    out: Path = DEFAULT_OUT,
    frames_dir: Path | None = None,
    embedder: Embedder | None = None,
    dry_run: bool = False,
    device: Literal["cpu", "cuda", "auto"] = "cpu",
    taxonomy: Path | None = None,
) -> Session:
    """Open the store; the embedder (hashing with ``dry_run``, else the model) is made lazily."""
    factory: EmbedderFactory = (
        HashingEmbedder
        if dry_run
        else functools.partial(SentenceTransformerEmbedder, device=device)
    )
    return Session(
        store.connect(db), embedder or factory, out, frames_dir or CODING_FRAMES / "joq", taxonomy
    )


def _require_month(s: Session, month: str) -> pl.DataFrame:
    df = store.responses(s.con, month)
    if df.height == 0:
        raise InputError(
            f"month {month} has not been imported",
            fix=f"run `joinedup joq import FILE --month {month}` first",
        )
    return df


# --- import -------------------------------------------------------------------------------------


def mapping_file(s: Session, mapping: str) -> Path:
    """``--mapping``: a file path, or a name saved under ``<frames>/mappings/<name>.yaml``."""
    p = Path(mapping)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    if not re.fullmatch(r"[A-Za-z0-9_-]+", mapping):
        raise InputError(
            f"no mapping file '{mapping[:60]}', and it is not a saved name (letters, digits, - "
            "and _)",
            fix="give the path of a .yaml mapping file, or a name saved with --save-mapping NAME",
        )
    saved = s.frames_dir / "mappings" / f"{mapping}.yaml"
    if saved.is_file():
        return saved
    raise InputError(
        f"no mapping file '{mapping}' (looked for it as a path and as {saved})",
        fix="save one with --save-mapping NAME on an import that names its columns",
    )


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
    columns: dict[str, str] | None = None,
    mapping: str | None = None,
    save_mapping: str | None = None,
    extra_nonanswers: Sequence[str] = (),
    keep_answers: Sequence[str] = (),
) -> importer.ImportResult:
    """Import with columns chosen by ``columns`` (role -> header), over a saved ``mapping``; the
    non-answer list is the default, the frame's ``nonanswers`` block and the options."""
    check_month(month)
    frame_file = s.frames_dir / f"{month}.yaml"
    frame = s.frame(month) if frame_file.is_file() else None
    chosen = importer.load_mapping(mapping_file(s, mapping)) if mapping else {}
    chosen.update(columns or {})
    listed = nonanswer_list(frame, extra_nonanswers, keep_answers)
    res = importer.import_export(
        s.con,
        Path(path),
        month,
        frame.sectors if frame else [],
        replace,
        chosen=chosen,
        question=frame.question if frame else "",
        nonanswers=listed,
    )
    if save_mapping:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", save_mapping):
            raise InputError(
                f"mapping name '{save_mapping[:40]}' must be letters, digits, - and _",
                fix="e.g. --save-mapping youth_joq",
            )
        target = s.frames_dir / "mappings" / f"{save_mapping}.yaml"
        atomic_write_text(target, importer.mapping_yaml(res.columns or chosen))
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
    from pipeline.joq import discover as disc

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
    with guarded(s.month_dir(month)) as out:
        atomic_write_text(out / "draft_frame.yaml", disc.draft_yaml(d))
        write_csv(d.saturation, out / "saturation.csv")
        write_csv(d.sample.with_columns(pl.lit(seed).alias("seed")), out / "sample.csv")
        write_csv(d.groups, out / "groups.csv")
    return d


# --- code ---------------------------------------------------------------------------------------


# respondent words in other_review.csv: the answer and what was drafted from it
OTHER_TEXT = ("text", "proposed_label", "proposed_definition", "group_terms")


@dataclass
class CodeRun:
    run_id: str
    machine: pl.DataFrame
    other: pl.DataFrame
    n_training: int
    thresholds: Thresholds
    computed: int
    reused: int
    cached: bool = False  # nothing had changed: the stored result was written again
    n_history: int = 0  # earlier months' human-coded answers learnt from


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
    """Latest live human decision per answer, with merged or renamed code ids mapped."""
    dec = store.latest_decisions(s.con, month).filter(pl.col("codes").is_not_null())
    frame_file = s.frames_dir / f"{month}.yaml"
    aliases = s.frame(month).aliases() if frame_file.is_file() else {}
    return {
        r: frozenset(aliases.get(x, x) for x in c)
        for r, c in zip(dec["response_id"], dec["codes"], strict=True)
    }


@dataclass
class History:
    """Earlier months' human-coded answers under this frame's codes (``history_weight``)."""

    texts: list[str]
    codes: list[frozenset[str]]
    months: dict[str, int]  # month -> answers used

    def record(self, weight: float) -> dict:
        return {"months": self.months, "answers": len(self.texts), "weight": weight}


def training_history(s: Session, month: str, frame: Frame) -> History:
    """Human-coded answers of every earlier month whose codes map, through the taxonomy theme each
    code carried in that month (``joq_code_themes``), to a code of this frame. A theme that two of
    this frame's codes share is ambiguous and is not used; an answer with no mapped code is left
    out (it would only teach 'none of these')."""
    by_theme: dict[str, list[str]] = {}
    for c in frame.codes:
        if c.id != OTHER:
            by_theme.setdefault(c.theme, []).append(c.id)
    target = {t: ids[0] for t, ids in by_theme.items() if len(ids) == 1 and t != OTHER}
    texts: list[str] = []
    codes: list[frozenset[str]] = []
    used: dict[str, int] = {}
    for earlier in (m for m in store.months(s.con) if m < month):
        themes = store.query(
            s.con, "SELECT code_id, theme FROM joq_code_themes WHERE month = ?", [earlier]
        )
        to_code = {
            c: target[t]
            for c, t in zip(themes["code_id"], themes["theme"], strict=True)
            if t in target
        }
        dec = store.latest_decisions(s.con, earlier).filter(pl.col("codes").is_not_null())
        if not to_code or dec.height == 0:
            continue
        text = dict(
            store.responses(s.con, earlier, usable_only=True)
            .select("response_id", "text")
            .iter_rows()
        )
        for rid, cs in zip(dec["response_id"], dec["codes"], strict=True):
            mapped = frozenset(to_code[c] for c in cs if c in to_code)
            if mapped and rid in text:
                texts.append(text[rid])
                codes.append(mapped)
                used[earlier] = used.get(earlier, 0) + 1
    return History(texts, codes, used)


def require_reviewed(frame: Frame, allow_draft: bool, path: Path) -> None:
    if frame.status == "draft" and not allow_draft:
        from pipeline.core.errors import SpecError

        raise SpecError(
            f"the frame for {frame.month} is a draft (status: draft): its codes have not been "
            "reviewed",
            file=path,
            column="status",
            fix="review the codes, set `status: reviewed` in the frame, or pass --allow-draft to "
            "code with it anyway",
        )


def _score_month(
    s: Session,
    frame: Frame,
    month: str,
    ids: list[str],
    texts: list[str],
    training: dict[str, frozenset[str]],
    th: Thresholds,
    seed: int,
    run_id: str,
    history: History,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Embed (through the cache), score and decide: the machine codes and the other queue."""
    from pipeline.joq import decide, scorers

    emb = s.embed(texts)
    inp = scorers.code_inputs(frame, ids, texts, emb, s.embed, training, th)
    if th.history_weight > 0 and history.texts:
        inp.history_emb, inp.history = s.embed(history.texts), history.codes
    scores = scorers.score(inp, th, seed)
    machine = decide.decide(scores, inp.codes, ids, th)
    themes = {c.id: c.theme for c in frame.codes}
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
    return machine, other


def history_key(history: History | None) -> list:
    """The earlier months' training rows, order-free, for the result cache and the run id."""
    if history is None:
        return []
    return sorted(zip(history.texts, (sorted(c) for c in history.codes), strict=True))


def code_key(
    s: Session,
    month: str,
    ids: list[str],
    texts: list[str],
    th: Thresholds,
    training: dict[str, frozenset[str]],
    seed: int,
    history: History | None = None,
) -> str:
    """The hash of everything that decides a month's machine codes: the answers (ids and texts),
    the embedding model, the frame and taxonomy files' bytes, thresholds, human decisions (this
    month's and the earlier months' it learns from), seed, and the code (joinedup's own source
    and the numeric libraries' versions)."""
    from importlib.metadata import version

    from pipeline.core.hashing import source_digest

    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in (
        "joq-code-cache/1",
        month,
        source_digest(package / "joq", package / "core"),
        json.dumps({p: version(p) for p in ("numpy", "scikit-learn", "polars", "scipy")}),
        s.embedder.model_id,
        json.dumps(th.model_dump(), sort_keys=True),
        str(seed),
        json.dumps(sorted((k, sorted(v)) for k, v in training.items())),
        json.dumps([ids, texts]),
        json.dumps(history_key(history)),
    ):
        h.update(part.encode() + b"\0")
    for path in (
        s.frames_dir / f"{month}.yaml",
        taxonomy_file(s.frames_dir, s.taxonomy_path),
    ):
        h.update(Path(path).read_bytes() + b"\0")
    return h.hexdigest()


def run_code(
    s: Session, month: str, overrides: dict | None = None, allow_draft: bool = False
) -> CodeRun:
    """Score and decide every usable answer. Nothing is recomputed that has not changed: when
    :func:`code_key` matches the month's stored result (and no re-import is pending), the stored
    codes are written again as they were, without embedding, scoring or importing scikit-learn."""
    frame = s.frame(month)
    require_reviewed(frame, allow_draft, s.frames_dir / f"{month}.yaml")
    th = thresholds_for(frame, overrides)
    seed = frame.sample.seed
    usable = _require_month(s, month).filter(pl.col("usable"))
    ids, texts = usable["response_id"].to_list(), usable["text"].to_list()
    training = training_codes(s, month)
    # earlier months' decisions (queries only; embedded only when the month is scored)
    history = training_history(s, month, frame) if th.history_weight > 0 else History([], [], {})
    key = code_key(s, month, ids, texts, th, training, seed, history)
    run_id = hashlib.sha256(
        json.dumps(
            [
                month,
                frame.version,
                s.embedder.model_id,
                th.model_dump(),
                sorted((k, sorted(v)) for k, v in training.items()),
                *([history_key(history)] if history.texts else []),
            ],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:12]
    before = (s.cache.computed, s.cache.reused)
    hit = None if store.needs_recode(s.con, month) else store.code_cache(s.con, month, key)
    if hit is not None:
        machine, other = hit[2], hit[3]
    else:
        machine, other = _score_month(
            s, frame, month, ids, texts, training, th, seed, run_id, history
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
    s.con.execute("DELETE FROM joq_code_aliases WHERE month = ?", [month])
    aliases = frame.aliases()
    store.insert(
        s.con,
        "joq_code_aliases",
        pl.DataFrame(
            {
                "month": [month] * len(aliases),
                "old_id": list(aliases),
                "new_id": list(aliases.values()),
            },
            schema={"month": pl.String, "old_id": pl.String, "new_id": pl.String},
        ),
    )
    store.clear_needs_recode(s.con, month)
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
                "history": [json.dumps(history.record(th.history_weight), sort_keys=True)],
            }
        ),
    )
    store.save_code_cache(s.con, month, key, run_id, len(training), machine, other)
    s.con.execute("COMMIT")
    with guarded(s.month_dir(month)) as out:
        write_csv(redact_columns(other, OTHER_TEXT), out / "other_review.csv")
        write_csv(
            machine.select("response_id", "code_id", "theme", "score", "method", "run_id"),
            out / "machine_codes.csv",
        )
    return CodeRun(
        run_id,
        machine,
        other,
        len(training),
        th,
        s.cache.computed - before[0],
        s.cache.reused - before[1],
        hit is not None,
        len(history.texts),
    )


# --- review -------------------------------------------------------------------------------------


def _coder_name(coder: str | None) -> str:
    if coder and not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", coder):
        raise InputError(
            f"coder '{coder[:30]}' must be 1-20 letters, digits, - or _", fix="e.g. --coder AB"
        )
    return coder or ""


def review_path(s: Session, month: str, coder: str | None) -> Path:
    """One sheet per coder: review_<coder>.xlsx (review.xlsx when no coder is named)."""
    name = f"review_{coder}.xlsx" if coder else "review.xlsx"
    return s.month_dir(month) / name


def _numbers(responses: pl.DataFrame) -> dict[str, int]:
    return dict(zip(responses["response_id"], responses["row_number"], strict=True))


def _write_sheet(
    s: Session,
    path: Path,
    state: review.SheetState,
    answers: dict[str, pl.DataFrame],
    frame: Frame,
    responses: pl.DataFrame,
) -> None:
    from pipeline.joq import codebook, workbook

    workbook.write_workbook(
        path,
        state,
        review.instructions(state, frame.thresholds.max_codes),
        answers,
        codebook.codebook_frame(frame, _numbers(responses)),
        s.taxonomy().ids(),
        frame.thresholds.max_codes,
    )
    store.insert(
        s.con,
        "joq_sheets",
        pl.DataFrame(
            {
                "sheet_id": [state.sheet_id],
                "month": [state.month],
                "coder": [state.coder],
                "kind": [state.kind],
                "event": ["written"],
                "seed": [state.seed],
                "n_rows": [sum(df.height for df in answers.values())],
                "recorded_at": [generation_stamp()],
            },
            schema_overrides={"seed": pl.Int64},
        ),
    )


def _unapplied(s: Session, path: Path, month: str) -> int | None:
    """Edited rows (and codebook changes) in an existing sheet that were never applied: a row
    is applied when this sheet's own decision for it matches, or storing it would change nothing.
    None when the file cannot be read back as a review sheet."""
    from pipeline.core.errors import JoinedupError
    from pipeline.joq import workbook

    try:
        ret = workbook.read_workbook(path)
        sid = ret.state.sheet_id
        applied = s.con.execute(
            "SELECT coder FROM joq_sheets WHERE sheet_id = ? AND event = 'applied' "
            "ORDER BY recorded_at DESC LIMIT 1",
            [sid],
        ).fetchall()
        coder = ret.state.coder or (applied[0][0] if applied else "?")
        prep = prepare_apply(s, month, ret, coder, add_codes=True)
    except JoinedupError:
        return None
    mine = store.query(
        s.con,
        """SELECT response_id, codes, exclude_quote, note FROM (
             SELECT *, row_number() OVER (PARTITION BY response_id ORDER BY seq DESC) AS rn
             FROM joq_decisions WHERE month = ? AND sheet_id = ?) WHERE rn = 1""",
        [month, sid],
    )
    done = {r["response_id"]: r for r in mine.iter_rows(named=True)}
    would = set(review.to_append(s.con, month, prep.decisions, coder)["response_id"].to_list())
    pending = 0
    for r in prep.decisions.iter_rows(named=True):
        d = done.get(r["response_id"])
        same = d is not None and all(
            r[k] is None or (set(r[k]) == set(d[k] or []) if k == "codes" else r[k] == d[k])
            for k in ("codes", "exclude_quote", "note")
        )
        pending += not same and r["response_id"] in would
    return pending + (0 if applied else len(prep.frame_changes))


def run_review_write(
    s: Session,
    month: str,
    coder: str | None = None,
    double_code: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the coder's review workbook. Never replaces a sheet with unapplied edits unless
    ``overwrite``. ``double_code`` N: a blind sheet of N answers (seeded) already decided by
    another coder, for measuring agreement."""
    from pipeline.core.safety.redact import Redactor

    coder = _coder_name(coder)
    frame = s.frame(month)
    responses = _require_month(s, month)
    # before `code` has run the sheet has no machine codes: coders may start on the codebook
    machine = store.query(s.con, "SELECT * FROM joq_machine_codes WHERE month = ?", [month])
    path = review_path(s, month, coder)
    if path.exists() and not overwrite:
        pending = _unapplied(s, path, month)
        if pending is None or pending > 0:
            what = (
                f"{pending} edited row(s) or codebook change(s) not yet applied"
                if pending
                else "edits that cannot be read back"
            )
            raise InputError(
                f"{path.name} has {what}; writing a new sheet would lose them",
                file=path,
                fix=f"apply it first: `joinedup joq review {month} --apply {path} --coder "
                f"{coder or 'YOUR_INITIALS'}`, or pass --overwrite to discard the edits",
            )
    redact = Redactor().redact
    if double_code:
        if not coder:
            raise InputError("--double-code needs --coder (the second coder)", fix="add --coder CD")
        from pipeline.joq import coders

        seed = frame.sample.seed if seed is None else seed
        ids = coders.double_code_sample(
            store.latest_decisions(s.con, month), responses, coder, double_code, seed
        )
        if not ids:
            raise InputError(
                f"no answers in {month} have been decided by a coder other than {coder}",
                fix="apply a first coder's sheet before sampling for a second coder",
            )
        state = review.make_state(s.con, month, coder, "double", frame, ids, seed)
        answers = {"review": review.blind_sheet(responses, ids, frame, redact)}
    else:
        answers = review.review_sheets(
            responses,
            machine,
            store.latest_decisions(s.con, month),
            store.stale_ids(s.con, month),
            frame,
            redact,
        )
        ids = [r for df in answers.values() for r in df["response_id"].to_list()]
        state = review.make_state(s.con, month, coder, "review", frame, ids)
    with guarded(s.month_dir(month)):  # a month report swapping the folder cannot drop it
        _write_sheet(s, path, state, answers, frame, responses)
    return path


@dataclass
class Prepared:
    """A returned sheet, checked: the frame after its codebook edits, the decisions, and counts."""

    state: review.SheetState
    frame: Frame
    frame_changes: list[str]
    decisions: pl.DataFrame
    conflicts: list[str]
    new_codes: dict[str, str]
    pending: int  # decisions that would be stored + frame changes


def prepare_apply(
    s: Session, month: str, ret: object, coder: str, add_codes: bool = False, force: bool = False
) -> Prepared:
    """Everything ``--apply`` would do, checked, without writing anything."""
    from pipeline.core.errors import ReviewError
    from pipeline.joq import codebook

    state = ret.state  # type: ignore[attr-defined]
    if state.month != month:
        raise ReviewError(
            f"this sheet is for month {state.month}, not {month}",
            file=ret.path,  # type: ignore[attr-defined]
            fix=f"run `joinedup joq review {state.month} --apply ...`",
        )
    frame = s.frame(month)
    responses = _require_month(s, month)
    changes: list[str] = []
    if ret.codebook is not None:  # type: ignore[attr-defined]
        texts = dict(zip(responses["response_id"], responses["text"], strict=True))
        by_no = {int(n): r for r, n in _numbers(responses).items()}
        frame, changes = codebook.apply_codebook(
            frame,
            ret.codebook,  # type: ignore[attr-defined]
            s.taxonomy(),
            texts,
            by_no,
            ret.path,  # type: ignore[attr-defined]
            state.codebook,
            _numbers(responses),
            force,
        )
    decisions, new, probs = review.parse_decisions(
        ret,  # type: ignore[arg-type]
        frame.code_ids(),
        frame.aliases(),
        set(responses["response_id"].to_list()),
        frame.thresholds.max_codes,
        {c.label.lower(): c.id for c in frame.codes},
    )
    probs.raise_if_any(
        ReviewError,
        "the review sheet has problems; nothing was applied",
        file=ret.path,  # type: ignore[attr-defined]
    )
    if new:
        frame, added = codebook.add_codes(frame, new)
        changes += added
    append = review.to_append(s.con, month, decisions, coder)
    return Prepared(
        state,
        frame,
        changes,
        decisions,
        review.conflicts(state, store.last_seqs(s.con, month), decisions),
        new,
        append.height + len(changes),
    )


@dataclass
class Applied:
    stored: int
    frame_changes: list[str]
    forced: list[str]
    sheet_id: str


def run_review_apply(
    s: Session,
    month: str,
    path: Path,
    coder_name: str | None,
    force: bool = False,
    add_codes: bool = False,
    mark_reviewed: bool = False,
) -> Applied:
    """Apply a returned sheet: codebook edits to the frame YAML, then the decisions. Refuses a
    stale sheet (listing the answers decided since it was written) unless ``force``, and new codes
    typed in ``new_code`` unless ``add_codes``. Applying the same sheet again stores nothing.
    ``mark_reviewed``: the coders call the codebook final, so the frame's status becomes
    reviewed (``code`` refuses a draft)."""
    from pipeline.core.errors import ReviewError
    from pipeline.joq import codebook, workbook

    ret = workbook.read_workbook(Path(path))
    coder = _coder_name(coder_name) or ret.state.coder
    if not coder:
        raise InputError("--coder is required with --apply", fix="add --coder YOUR_INITIALS")
    if ret.state.coder and coder != ret.state.coder:
        raise ReviewError(
            f"this sheet was written for coder {ret.state.coder}, not {coder}",
            file=path,
            fix=f"apply it with --coder {ret.state.coder}, or write your own sheet with "
            f"`joinedup joq review {month} --coder {coder}`",
        )
    prep = prepare_apply(s, month, ret, coder, add_codes, force)
    if mark_reviewed and prep.frame.status == "draft":
        bump = 0 if prep.frame_changes else 1
        prep.frame = prep.frame.model_copy(
            update={"status": "reviewed", "version": prep.frame.version + bump}
        )
        prep.frame_changes.append("status: draft -> reviewed")
    if prep.new_codes and not add_codes:
        listed = ", ".join(f"{k} ({v[:40]})" for k, v in sorted(prep.new_codes.items()))
        raise ReviewError(
            f"the sheet types {len(prep.new_codes)} new code(s) in new_code: {listed}; "
            "nothing was applied",
            file=path,
            fix="check them, then re-run with --add-codes to add them to the frame",
        )
    if prep.conflicts and not force:
        ids = prep.conflicts
        raise ReviewError(
            f"this sheet is stale: {len(ids)} of its answers were decided after it was written "
            f"({', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}); nothing was applied",
            file=path,
            fix=f"write a fresh sheet (`joinedup joq review {month} --coder {coder}`) and copy "
            "your edits for those answers into it, or pass --force to overwrite their decisions",
        )
    if prep.frame_changes:
        atomic_write_text(s.frames_dir / f"{month}.yaml", codebook.frame_yaml(prep.frame))
    s.con.execute("BEGIN")
    try:
        n = review.store_decisions(s.con, month, prep.decisions, coder, ret.state.sheet_id)
        store.insert(
            s.con,
            "joq_sheets",
            pl.DataFrame(
                {
                    "sheet_id": [ret.state.sheet_id],
                    "month": [month],
                    "coder": [coder],
                    "kind": [ret.state.kind],
                    "event": ["applied"],
                    "seed": [ret.state.seed],
                    "n_rows": [n],
                    "recorded_at": [generation_stamp()],
                },
                schema_overrides={"seed": pl.Int64},
            ),
        )
        s.con.execute("COMMIT")
    except Exception:
        s.con.execute("ROLLBACK")
        raise
    return Applied(n, prep.frame_changes, prep.conflicts if force else [], ret.state.sheet_id)


def run_between(s: Session, month: str, a: str, b: str) -> tuple[pl.DataFrame, Path, Path]:
    """Agreement between two coders on the answers both decided: per-code kappa (CSV) and a
    resolution sheet of the disagreements (apply it as a third coder)."""
    from pipeline.core.safety.redact import Redactor
    from pipeline.joq import coders

    a, b = _coder_name(a), _coder_name(b)
    frame = s.frame(month)
    responses = _require_month(s, month)
    da, db = store.decisions_by(s.con, month, a), store.decisions_by(s.con, month, b)
    aliases = frame.aliases()
    table, dis = coders.between(da, db, frame.code_ids(), aliases, a, b)
    if table.height == 0:
        raise InputError(
            f"coders {a} and {b} have no decided answers in common in {month}",
            fix=f"write a double-coding sheet: `joinedup joq review {month} --coder {b} "
            "--double-code 30`",
        )
    out = s.month_dir(month)
    csv_path = out / f"agreement_{a}_{b}.csv"
    write_csv(table, csv_path)
    write_csv(dis, out / f"disagreements_{a}_{b}.csv")  # ids and codes only; texts in the sheet
    ids = dis["response_id"].to_list()
    sheet = review.answer_columns(
        responses.filter(pl.col("response_id").is_in(ids)).sort("row_number"),
        frame,
        Redactor().redact,
    ).join(dis, on="response_id", how="left")
    state = review.make_state(s.con, month, "", "resolve", frame, ids)
    xlsx = out / f"disagreements_{a}_{b}.xlsx"
    _write_sheet(s, xlsx, state, {"disagreements": sheet}, frame, responses)
    return table, csv_path, xlsx


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
    from pipeline.joq import agreement as agr

    table = agr.agreement_table(g, machine, ids, frame.code_ids(), resamples, seed)
    store.save_agreement(s.con, month, Path(gold).name, table, generation_stamp())
    with guarded(s.month_dir(month)) as out:
        write_csv(table, out / "agreement.csv")
    return table


def stored_agreement(s: Session, month: str) -> pl.DataFrame | None:
    return store.agreement(s.con, month)


def cross_validate_month(s: Session, month: str, folds: int = 5) -> pl.DataFrame:
    """Threshold grid scored by cross-validation on the month's human-coded answers only."""
    from pipeline.joq import scorers, tune

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

"""The monthly job: the same functions a notebook calls, in pipeline order, writing outputs.

load (validate, redact) -> embed (cached) -> policy area per record -> themes per period, matched
to the registry's stable ids -> trends over every period stored so far -> root causes of the
flagged and largest themes -> output tables.

Periods are processed in order, as if the job had run once a month: a period's trends see only
that period and the ones before it (earlier runs' periods come from the state database).
Processing a period first forgets what the state holds for it and for every later period, so a
re-run, or a run resumed after a crash, gives what one run in month order gives.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__, schema
from ._io import write_csv_safe, write_json, write_parquet
from ._period_cache import (chain_digest, context_digest, forget_results_from, frame_digest,
                            load_period_results, save_period_results, stored_digests)
from ._pipeline_state import forget_from, load_assignments, save_period_assignments
from .config import PipelineConfig
from .errors import ConfigError, InputError, StateError
from .flags import build_flags, read_flags_sql, write_flags, write_flags_sql
from .load import LoadResult, load_records
from .outputs import RunTables
from .report import ThemeReport
from .store import StateStore

__all__ = ["RunResult", "run", "OUTPUT_FILES"]

logger = logging.getLogger(__name__)

#: Output file names: a contract other tools rely on (documented in README).
OUTPUT_FILES = {
    "assignments": "assignments.parquet",
    "themes": "themes.parquet",
    "root_causes": "root_causes.parquet",
    "flags_jsonl": "flags.jsonl",
    "flags_csv": "flags.csv",
    "flags_parquet": "flags.parquet",
    "report_html": "report.html",
    "report_md": "report.md",
    "summary": "summary.csv",
    "quarantine": "quarantine.csv",
    "manifest": "manifest.json",
}
STATE_FILE = "state.db"

#: Per theme and period, besides its candidates: what the theme table shows of its root causes.
_EXTRA_COLUMNS = ("theme_id", "period", "root_cause_category", "root_cause_category_confidence",
                  "impact_fail_rate")
#: Root causes are ranked for every theme with a signal and for this many largest themes.
_TOP_THEMES_FOR_CAUSES = 5


@dataclass
class RunResult:
    """What a run produced: the loaded data, the output tables and where the files went."""

    load: LoadResult
    summary: pd.DataFrame
    assignments: pd.DataFrame
    themes: pd.DataFrame
    root_causes: pd.DataFrame
    phrases: pd.DataFrame
    flags: pd.DataFrame
    report: Any
    periods: list[str]
    out_dir: Path
    files: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)

    def emerging(self, period: str | None = None) -> pd.DataFrame:
        """Themes with a signal (strong first) in ``period`` (default: the last one processed)."""
        period = period or self.periods[-1]
        rows = self.themes[(self.themes["period"] == period) & (self.themes["signal"] != "none")]
        order = rows["signal"].map({"strong": 0, "weak": 1})
        return rows.assign(_o=order).sort_values(["_o", "score"], ascending=[True, False]) \
                   .drop(columns="_o").reset_index(drop=True)

    def _repr_html_(self) -> str:
        return self.report._repr_html_()


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        started = time.perf_counter()
        logger.info("stage %s ...", name)
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.timings[name] = round(self.timings.get(name, 0.0) + spent, 3)
            logger.info("stage %s done in %.1f s", name, spent)


def run(source: Any, out_dir: str | os.PathLike, config: PipelineConfig | None = None, *,
        period: str | None = None, state: str | os.PathLike | None = None,
        verbose: bool = False, client: Any = None) -> RunResult:
    """Run the monthly job on ``source`` and write its outputs to ``out_dir``.

    Parameters
    ----------
    source : path or DataFrame
        Assessments in the data contract (CSV, Parquet, JSON Lines or a DataFrame).
    out_dir : path
        Folder for the outputs; created if missing. Files in it are replaced atomically.
    config : PipelineConfig, optional
        Defaults to ``PipelineConfig()``.
    period : str, optional
        Process only this reporting period (e.g. ``"2026-10"``); earlier periods come from the
        state database if an earlier run stored them.
    state : path or SQLAlchemy URL, optional
        The state database (theme registry, stored assignments, embedding cache); default
        ``out_dir/state.db``.
    verbose : bool
        Progress bars on the long steps.
    client : distributed.Client or str, optional
        Run on a dask cluster (a client, or a scheduler address such as ``tcp://host:8786``):
        see :func:`qa_insights.distributed.run_distributed`. A dask DataFrame ``source`` runs
        there too, on the current client. Needs the ``dask`` extra.

    Returns
    -------
    RunResult
    """
    if client is not None or _is_dask_frame(source):
        try:
            from .distributed import run_distributed
        except ImportError as exc:
            raise ConfigError(f"running on a dask cluster needs the 'dask' extra "
                              f"(pip install 'qa-insights[dask]'): {exc}") from None
        return run_distributed(source, out_dir, config, client=client, period=period,
                               state=state, verbose=verbose)
    config = config or PipelineConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timer = _Timer()

    with timer.stage("load"):
        loaded = load_records(source, config.load, clean=config.clean)
    records = loaded.records
    periods = sorted(records[schema.PERIOD].dropna().unique().tolist())
    if period is not None:
        if period not in periods:
            raise InputError(f"period {period!r} is not in the input; it holds {periods}",
                             source=loaded.source)
        periods = [period]
    records = records[records[schema.PERIOD].isin(periods)].reset_index(drop=True)

    summary = loaded.summary()
    with StateStore(state if state is not None else out / STATE_FILE) as store:
        tables = _analyse(records, periods, loaded, config, store, timer, verbose)
        with timer.stage("flags_report"):
            flags, report = _flags_and_report(tables, summary, records, periods, config, store)
    summary = summary[summary["period"].isin(periods)].reset_index(drop=True)
    files = write_outputs(out, tables, flags, report, loaded, summary)
    manifest = run_manifest(loaded, periods, len(records), config, tables, timer, files)
    files["manifest"] = write_json(out / OUTPUT_FILES["manifest"], manifest)
    logger.info("run finished: %d records used, %d set aside, %d periods; outputs in %s",
                loaded.counts["rows_used"], loaded.counts["rows_set_aside"], len(periods), out)
    return RunResult(load=loaded, summary=summary, assignments=tables["assignments"],
                     themes=tables["themes"], root_causes=tables["root_causes"],
                     phrases=tables["phrases"], flags=flags, report=report, periods=periods,
                     out_dir=out, files=files, timings=timer.timings)


def _is_dask_frame(source: Any) -> bool:
    return type(source).__module__.split(".")[0] == "dask"


def write_outputs(out: Path, tables: dict, flags: pd.DataFrame, report: ThemeReport,
                  loaded: LoadResult, summary: pd.DataFrame) -> dict[str, Path]:
    """Write a run's output files (the names of :data:`OUTPUT_FILES`, manifest aside)."""
    return {
        "assignments": write_parquet(out / OUTPUT_FILES["assignments"], tables["assignments"]),
        "themes": write_parquet(out / OUTPUT_FILES["themes"], tables["themes"]),
        "root_causes": write_parquet(out / OUTPUT_FILES["root_causes"],
                                     _portable_causes(tables["root_causes"])),
        **{f"flags_{kind}": path for kind, path in write_flags(flags, out).items()},
        "report_html": Path(report.write_html(out / OUTPUT_FILES["report_html"])),
        "report_md": Path(report.write_markdown(out / OUTPUT_FILES["report_md"])),
        "quarantine": write_csv_safe(out / OUTPUT_FILES["quarantine"], loaded.quarantine),
        "summary": write_csv_safe(out / OUTPUT_FILES["summary"], summary),
    }


def run_manifest(loaded: LoadResult, periods: list[str], records_in_run: int,
                 config: PipelineConfig, tables: dict, timer: _Timer,
                 files: dict[str, Path], **input_extra: Any) -> dict[str, Any]:
    """What ``manifest.json`` says of a run: input, counts, config, versions, seed, timings."""
    return {
        "qa_insights_version": __version__,
        "python": platform.python_version(),
        "input": {"source": loaded.source, "sha256": loaded.source_sha256, **input_extra},
        "periods": periods,
        "counts": loaded.counts,
        "records_in_run": int(records_in_run),
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "embedding_model": tables["model_fingerprint"],
        "timings_s": timer.timings,
        "outputs": sorted([p.name for p in files.values()] + [OUTPUT_FILES["manifest"]]),
    }


def _portable_causes(causes: pd.DataFrame) -> pd.DataFrame:
    """Root causes for Parquet: ``attributes`` as a JSON object string, the same in every row."""
    if "attributes_json" not in causes.columns:
        return causes
    return causes.drop(columns="attributes").rename(columns={"attributes_json": "attributes"})


# ---------------------------------------------------------------------------------------------
#: What a processed period keeps in the state database (see ``qa_insights._period_cache``).
_PERIOD_KINDS = ("assignments", "theme_info", "causes", "phrases", "extras")
_ASSIGNMENT_COLUMNS = ["record_id", "theme_id", "is_outlier", "in_theme_scope", "policy_area",
                       "policy_confidence", "policy_source"]


def _build_encoder(config: PipelineConfig, store: StateStore, verbose: bool):
    """The run's text encoder (English, or routed by language), caching in the state database."""
    from .embed import EmbeddingCache, build_encoder

    emb = config.embed
    return build_encoder(emb, cache=EmbeddingCache(store) if emb.cache else None,
                         verbose=verbose)


def _load_taxonomy(config: PipelineConfig):
    from .policy import PolicyTaxonomy

    path = config.policy.taxonomy_path
    return PolicyTaxonomy.from_yaml(path) if path else PolicyTaxonomy.default()


def _period_digests(records: pd.DataFrame, periods: list[str], config: PipelineConfig,
                    store: StateStore, registry, encoder, taxonomy,
                    labelled: np.ndarray, stored: dict[str, str]) -> dict[str, str]:
    """Each period's digest: what its results depend on, chained from the period before
    (``stored``: the digests the state holds)."""
    edits = registry.themes()
    edits = edits[edits["pinned"].astype(bool) | edits["merged_into"].notna()]
    context = context_digest({
        "qa_insights": __version__,
        "config": config.model_dump(mode="json"),
        "model": encoder.fingerprint,
        "taxonomy": taxonomy.sha256,
        "registry_edits": [[str(t), bool(p), None if pd.isna(m) else str(m)] for t, p, m in
                           zip(edits["theme_id"], edits["pinned"], edits["merged_into"])],
        # a supervised policy model learns from every labelled record of the run
        "policy_training": (frame_digest(records[labelled])
                            if config.policy.mode == "supervised" else None),
    })
    earlier = sorted(p for p in stored if p < periods[0])
    previous = stored[earlier[-1]] if earlier else ""
    digests = {}
    period_of = records[schema.PERIOD].to_numpy()
    for p in periods:
        previous = digests[p] = chain_digest(previous, context, records[period_of == p])
    return digests


def _analyse(records: pd.DataFrame, periods: list[str], loaded: LoadResult,
             config: PipelineConfig, store: StateStore, timer: _Timer,
             verbose: bool) -> dict[str, Any]:
    from .embed import combine_embeddings
    from .themes import ThemeModel, ThemeRegistry

    emb = config.embed
    encoder = _build_encoder(config, store, verbose)
    registry = ThemeRegistry(store, config.themes)
    taxonomy = _load_taxonomy(config)
    comments = records[schema.REVIEWER_COMMENT].fillna("").astype(str)
    tickets = records[schema.TICKET_TEXT].fillna("").astype(str)
    has_comment = (comments.str.strip() != "").to_numpy()
    has_ticket = (tickets.str.strip() != "").to_numpy()
    human = pd.Series(_lenient_labels(taxonomy, records[schema.POLICY_AREA]),
                      index=records.index, dtype=object)
    labelled = human.notna().to_numpy()
    period_of = records[schema.PERIOD].to_numpy()

    with timer.stage("reuse_check"):
        stored = stored_digests(store)
        digests = _period_digests(records, periods, config, store, registry, encoder, taxonomy,
                                  labelled, stored)
        n_reused = 0
        while n_reused < len(periods) and stored.get(periods[n_reused]) == digests[periods[n_reused]]:
            n_reused += 1
    reused, todo = periods[:n_reused], periods[n_reused:]
    if reused:
        logger.info("periods %s are unchanged since an earlier run: their stored results are "
                    "used", reused)
    if todo:
        # Processing a period redoes it and everything after it, so a re-run (or a run resumed
        # after a crash) gives exactly what one run in month order gives.
        later = [p for p in registry.rewind(todo[0]) if p not in periods]
        forget_from(store, todo[0])
        forget_results_from(store, todo[0])
        if later:
            logger.warning("re-processing %s discarded the stored results of later periods %s; "
                           "run them again", todo[0], later)
    todo_mask = np.isin(period_of, todo)
    last_mask = period_of == periods[-1]

    # Themes are found in the failed assessments (and those without a result).
    failed_or_unknown = (records[schema.QA_RESULT].astype("string").str.lower() != "pass") \
        .fillna(True).to_numpy()
    in_scope = failed_or_unknown & (has_comment | has_ticket)
    with timer.stage("embed"):
        # only what is computed needs vectors: the themes of the periods to process and the
        # last period's theme map (comment and ticket), the policy area of the records no
        # reviewer labelled in the periods to process, and the labelled records a supervised
        # policy model learns from (their ticket, or the comment where there is none)
        themed = (todo_mask | last_mask) & in_scope
        classified = (todo_mask & ~labelled) | (
            labelled if config.policy.mode == "supervised" else False)
        (comment_vecs, ticket_vecs), (comment_native, ticket_native) = _encode_rows(
            encoder, [comments, tickets],
            [np.flatnonzero(themed | (classified & ~has_ticket)),
             np.flatnonzero(themed | classified)])
        theme_vecs = combine_embeddings(comment_vecs, ticket_vecs, has_comment, has_ticket,
                                        mode=emb.combine, comment_weight=emb.comment_weight)

    with timer.stage("policy"):
        policy = _policy_areas(records, ticket_vecs, comment_vecs, has_ticket, config, encoder,
                               taxonomy, human, predict=todo_mask,
                               native=_policy_native(has_ticket, ticket_native, comment_native))

    # The theme's displayed text: the reviewer comment, or the ticket where there is none.
    docs = comments.where(has_comment, tickets)
    theme_ids = pd.Series(pd.NA, index=records.index, dtype="string")
    is_outlier = pd.Series(False, index=records.index)
    theme_info: dict[str, pd.DataFrame] = {}
    with timer.stage("themes"):
        for p in todo:
            rows = np.flatnonzero((period_of == p) & in_scope)
            model = ThemeModel.from_config(config.themes, random_state=config.seed)
            # a large month is fitted on a sample picked by a seeded hash of the record id, so
            # the sample does not depend on the records' order or partitioning
            model.fit(docs.iloc[rows].tolist(), theme_vecs[rows],
                      sample_keys=records[schema.RECORD_ID].iloc[rows].astype(str).tolist())
            mapping = registry.update(p, model)
            local_to_id = dict(zip(mapping["theme"], mapping["theme_id"]))
            labels = np.asarray(model.labels_)
            theme_ids.iloc[rows] = [local_to_id.get(int(t), pd.NA) if t >= 0 else pd.NA
                                    for t in labels]
            is_outlier.iloc[rows] = labels < 0
            theme_info[p] = model.themes_.assign(
                period=p, theme_id=[local_to_id[int(t)] for t in model.themes_["theme"]])
            # every record of the period is stored (passes with no theme): all of them are
            # the period's volume for trends
            in_p = np.flatnonzero(period_of == p)
            frame = pd.DataFrame({
                "record_id": records[schema.RECORD_ID].iloc[in_p].to_numpy(), "period": p,
                "theme_id": theme_ids.iloc[in_p].to_numpy(),
                "qa_result": records[schema.QA_RESULT].iloc[in_p].to_numpy(),
                "policy_area": policy["policy_area"].iloc[in_p].to_numpy(),
            })
            save_period_assignments(store, p, frame)

    assignments = pd.DataFrame({
        "record_id": records[schema.RECORD_ID],
        "period": records[schema.PERIOD],
        "theme_id": theme_ids,
        "is_outlier": is_outlier.astype(bool),
        "in_theme_scope": in_scope,
        "policy_area": policy["policy_area"],
        "policy_confidence": policy["policy_confidence"],
        "policy_source": policy["policy_source"],
    })
    with timer.stage("trends"):
        from .trends import theme_trends

        trends = theme_trends(load_assignments(store, up_to=periods[-1]), config.trends)

    with timer.stage("root_causes"):
        causes, phrases, extras = _root_causes(records, assignments, trends, todo, comment_vecs,
                                               loaded, config, encoder)

    for p in todo:
        save_period_results(store, p, digests[p], {
            "assignments": assignments.loc[period_of == p, _ASSIGNMENT_COLUMNS],
            "theme_info": theme_info[p][["theme_id", "period", "keywords",
                                         "representative_docs"]],
            "causes": _portable_causes(causes[causes["period"] == p]),
            "phrases": phrases[phrases["period"] == p],
            "extras": extras[extras["period"] == p]})
    # Every period's tables are read back from the state, computed or reused alike, so a run
    # that reuses a period gives exactly the outputs of the run that computed it.
    by_period = {p: load_period_results(store, p, _PERIOD_KINDS) for p in periods}
    for p in reused:
        _restore_assignments(assignments, np.flatnonzero(period_of == p),
                             by_period[p]["assignments"])
    parts = {kind: [by_period[p][kind] for p in periods] for kind in _PERIOD_KINDS}
    causes = _restore_causes(pd.concat(parts["causes"], ignore_index=True))
    phrases = pd.concat(parts["phrases"], ignore_index=True)
    extras = pd.concat(parts["extras"], ignore_index=True)

    labels_now = registry.themes().set_index("theme_id")["label"]
    assignments.insert(3, "theme_label", assignments["theme_id"].map(labels_now).astype("string"))
    themes = _theme_table(trends, pd.concat(parts["theme_info"], ignore_index=True), labels_now,
                          extras, assignments)
    theme_map = _theme_map(theme_vecs[last_mask],
                           assignments["theme_id"][last_mask].reset_index(drop=True),
                           labels_now, config.seed)
    return {"assignments": assignments, "themes": themes, "root_causes": causes,
            "phrases": phrases, "theme_map": theme_map, "model_fingerprint": encoder.fingerprint}


def _encode_rows(encoder, columns: list[pd.Series],
                 rows: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Vectors of the texts at ``rows[i]`` of ``columns[i]``; other rows stay zero (never read).

    Also, per column, the raw multilingual vectors a routed encoder produced on the way (NaN
    rows for English texts and rows not encoded; ``None`` from an English-only encoder).
    """
    from .embed import last_native

    out, natives = [], []
    for texts, rows in zip(columns, rows):
        vecs = encoder.encode(texts.iloc[rows].tolist())
        full = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        full[rows] = vecs
        out.append(full)
        raw = last_native(encoder, len(rows))
        native = None
        if raw is not None:
            native = np.full((len(texts), raw.shape[1]), np.nan, dtype=np.float32)
            native[rows] = raw
        natives.append(native)
    return out, natives


def _policy_native(has_ticket: np.ndarray, ticket_native: np.ndarray | None,
                   comment_native: np.ndarray | None) -> np.ndarray | None:
    """Raw multilingual vectors of the text each record's policy area is read from."""
    if ticket_native is None and comment_native is None:
        return None
    dim = (ticket_native if ticket_native is not None else comment_native).shape[1]
    nan = np.full((len(has_ticket), dim), np.nan, dtype=np.float32)
    return np.where(has_ticket[:, None],
                    ticket_native if ticket_native is not None else nan,
                    comment_native if comment_native is not None else nan)


def _restore_assignments(assignments: pd.DataFrame, rows: np.ndarray,
                         stored: pd.DataFrame) -> None:
    """Put a reused period's stored per-record results at ``rows`` (same records, same order)."""
    if not np.array_equal(assignments["record_id"].iloc[rows].astype(str).to_numpy(),
                          stored["record_id"].astype(str).to_numpy()):
        raise StateError("stored results of a period do not line up with its records although "
                         "their digests match; delete the state database and run again")
    for col in _ASSIGNMENT_COLUMNS[1:]:
        assignments.iloc[rows, assignments.columns.get_loc(col)] = stored[col].to_numpy()


def _restore_causes(causes: pd.DataFrame) -> pd.DataFrame:
    """Stored (portable) root causes back to the in-memory form: ``attributes`` as a dict."""
    from .root_causes import CANDIDATE_COLUMNS

    out = causes.rename(columns={"attributes": "attributes_json"})
    out["attributes"] = [json.loads(v) for v in out["attributes_json"]]
    return out[["theme_id", "period", *CANDIDATE_COLUMNS]].reset_index(drop=True)


def _flags_and_report(tables: dict[str, Any], summary: pd.DataFrame, records: pd.DataFrame,
                      periods: list[str], config: PipelineConfig, store: StateStore):
    """Flags for every processed period (in order, each against the flags before it) and the
    stakeholder report of the last one."""
    # flags of the periods being redone are forgotten, like their themes
    stored = read_flags_sql(store)
    if len(stored) and (stored["period"] >= periods[0]).any():
        keep = stored[stored["period"] < periods[0]]
        _replace_flags(store, keep)
    themes = tables["themes"]
    known = sorted(themes["period"].unique().tolist()) or periods
    assignments = tables["assignments"].join(
        records[["qa_result", "market", "queue", "reviewer_comment"]])
    all_flags, run_tables = [], None
    for p in periods:
        previous = read_flags_sql(store)
        previous = previous[previous["period"] < p]
        run_tables = RunTables(
            period=p, periods=[q for q in known if q <= p], summary=summary,
            assignments=assignments[assignments["period"] <= p],
            themes=themes[themes["period"] <= p], root_causes=tables["root_causes"],
            phrases=tables["phrases"],
            theme_map=tables["theme_map"] if p == periods[-1] else None)
        flags = build_flags(run_tables, config.flags, previous if len(previous) else None)
        write_flags_sql(flags, store)
        all_flags.append(flags)
    flags = pd.concat(all_flags, ignore_index=True) if all_flags else pd.DataFrame()
    return flags, ThemeReport(run_tables)


def _replace_flags(store: StateStore, keep: pd.DataFrame) -> None:
    import sqlalchemy as sa

    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM qa_flags"))
    if len(keep):
        write_flags_sql(keep, store)


def _theme_map(vectors: np.ndarray, theme_ids: pd.Series, labels: pd.Series,
               seed: int) -> pd.DataFrame | None:
    """2-D positions of the period's theme centroids (PCA), bubble size = records."""
    from sklearn.decomposition import PCA

    ids = theme_ids.dropna()
    names = sorted(ids.unique().tolist())
    if len(names) < 3:
        return None
    cents = np.stack([vectors[ids.index[ids == t]].mean(axis=0) for t in names])
    xy = PCA(n_components=2, svd_solver="full", random_state=seed).fit_transform(cents)
    return pd.DataFrame({"theme_id": names, "x": xy[:, 0], "y": xy[:, 1],
                         "count": [int((ids == t).sum()) for t in names],
                         "label": [labels.get(t, t) for t in names]})


def _policy_areas(records: pd.DataFrame, ticket_vecs: np.ndarray, comment_vecs: np.ndarray,
                  has_ticket: np.ndarray, config: PipelineConfig, encoder, taxonomy,
                  human: pd.Series, predict: np.ndarray | None = None,
                  native: np.ndarray | None = None) -> pd.DataFrame:
    """Policy area of every record: the reviewer's label where set, else the classifier's.

    ``human`` holds the reviewers' labels mapped to ``taxonomy``'s area ids (None where unset or
    unknown). Only rows where ``predict`` is true are classified (all by default); the others
    are NA. A supervised model learns from every labelled record, predicted or not. ``native``:
    raw multilingual vectors of the non-English texts (see :class:`~qa_insights.policy.
    PolicyClassifier`).
    """
    from .policy import PolicyClassifier

    pcfg = config.policy
    predict = np.ones(len(records), dtype=bool) if predict is None else np.asarray(predict)
    # the ticket says what the content is; the comment stands in where there is no ticket
    vecs = np.where(has_ticket[:, None], ticket_vecs, comment_vecs)
    texts = policy_texts(records, has_ticket)
    params = pcfg.classifier_params()
    params["random_state"] = config.seed
    clf = PolicyClassifier(taxonomy, encoder=encoder, **params)
    labelled = human.notna().to_numpy()
    rows = np.flatnonzero(predict)
    area = pd.Series(pd.NA, index=records.index, dtype="string")
    confidence = pd.Series(np.nan, index=records.index, dtype=float)
    source = pd.Series(pd.NA, index=records.index, dtype=object)
    # a reviewer's label is the record's area; the model classifies only the other records
    mine = rows[labelled[rows]]
    area.iloc[mine] = human.iloc[mine].to_numpy(dtype=object)
    confidence.iloc[mine] = 1.0
    source.iloc[mine] = "reviewer"
    rows = rows[~labelled[rows]]
    if len(rows):
        if pcfg.mode == "supervised":
            clf.fit(texts[labelled].tolist(), y=human[labelled].tolist(),
                    embeddings=vecs[labelled],
                    native=None if native is None else native[labelled])
        else:
            clf.fit()
        # one period at a time: a matrix product's last bits depend on how many rows it holds,
        # so this keeps a period's results the same whichever other periods a run includes
        period_of = records[schema.PERIOD].to_numpy()
        for p in pd.unique(period_of[rows]):
            at = rows[period_of[rows] == p]
            predicted = clf.predict_frame(texts[at].tolist(), embeddings=vecs[at],
                                          native=None if native is None else native[at])
            area.iloc[at] = predicted["policy_area"].to_numpy(dtype=object)
            confidence.iloc[at] = predicted["policy_confidence"].to_numpy()
            source.iloc[at] = "model"
    return pd.DataFrame({"policy_area": area, "policy_confidence": confidence,
                         "policy_source": source})


def policy_texts(records: pd.DataFrame, has_ticket: np.ndarray) -> np.ndarray:
    """Per record, the text its policy area is read from: the ticket, else the comment."""
    return records[schema.TICKET_TEXT].fillna("").astype(str).where(
        has_ticket, records[schema.REVIEWER_COMMENT].fillna("").astype(str)).to_numpy(object)


def _lenient_labels(taxonomy, labels: pd.Series) -> list[str | None]:
    """Human labels mapped to area ids; a label no area claims counts as unlabelled."""
    return taxonomy.canonical_labels(labels.tolist(), strict=False)


def _root_causes(records: pd.DataFrame, assignments: pd.DataFrame, trends: pd.DataFrame,
                 periods: list[str], comment_vecs: np.ndarray, loaded: LoadResult,
                 config: PipelineConfig, encoder):
    """Root causes of every theme with a signal and of the largest themes, per period, and each
    such theme's root-cause category and impact (``extras``)."""
    from .root_causes import RootCauseCategorizer, root_causes_for_theme

    categorizer = (RootCauseCategorizer(encoder=encoder, config=config.root_causes.category).fit()
                   if periods else None)
    frame = records.assign(theme_id=assignments["theme_id"])
    dims = [c for c in loaded.categorical_columns if c in frame.columns
            and frame[c].notna().any()]
    results = []
    for p in periods:
        in_p = trends[(trends["period"] == p) & (trends["count"] > 0)]
        chosen = set(in_p.loc[in_p["signal"] != "none", "theme_id"])
        chosen |= set(in_p.nlargest(_TOP_THEMES_FOR_CAUSES, "count")["theme_id"])
        for theme_id in sorted(chosen):
            mask = ((frame["period"] == p) & (frame["theme_id"] == theme_id)).fillna(False)
            idx = np.flatnonzero(mask.to_numpy())
            order = np.argsort(frame[schema.RECORD_ID].to_numpy()[idx], kind="stable")
            result = root_causes_for_theme(
                frame, frame[["record_id", "theme_id"]], theme_id, p, dimensions=dims,
                config=config.root_causes, embeddings=comment_vecs[idx[order]],
                categorizer=categorizer)
            results.append(result)
    return cause_tables(results)


def cause_tables(results: list) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Candidates, phrases and extras (category, impact) of each theme's
    :class:`~qa_insights.root_causes.ThemeRootCauses`, keyed by ``theme_id`` and ``period``."""
    from .outputs import PHRASE_COLUMNS
    from .root_causes import CANDIDATE_COLUMNS

    cause_rows, phrase_rows, extra_rows = [], [], []
    for result in results:
        key = {"theme_id": result.theme_id, "period": result.period}
        cause_rows.append(result.candidates.assign(**key))
        phrase_rows.append(result.phrases.assign(**key))
        tag = result.category
        extra_rows.append({
            **key,
            "root_cause_category": tag.category if tag is not None else None,
            "root_cause_category_confidence": (float(tag.confidence) if tag is not None
                                               else np.nan),
            "impact_fail_rate": float(result.impact.get("impact", np.nan))})
    causes = pd.concat(cause_rows, ignore_index=True) if cause_rows else pd.DataFrame(
        columns=["theme_id", "period", *CANDIDATE_COLUMNS])
    phrases = pd.concat(phrase_rows, ignore_index=True) if phrase_rows else pd.DataFrame(
        columns=list(PHRASE_COLUMNS))
    front = ["theme_id", "period"]
    causes = causes[front + [c for c in causes.columns if c not in front]]
    phrases = phrases[front + [c for c in phrases.columns if c not in front]]
    extras = pd.DataFrame(extra_rows, columns=list(_EXTRA_COLUMNS)).astype(
        {"theme_id": "string", "period": "string", "root_cause_category": "string",
         "root_cause_category_confidence": float, "impact_fail_rate": float})
    return causes, phrases, extras


def _theme_table(trends: pd.DataFrame, info: pd.DataFrame, labels_now: pd.Series,
                 extras: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """One row per theme and period: the trend statistics with labels, keywords and causes."""
    info = info.drop_duplicates(["theme_id", "period"])[
        ["theme_id", "period", "keywords", "representative_docs"]]
    # an empty month has no themes: keep the keys' types so the merge still lines up
    info = info.astype({"theme_id": "string", "period": "string"})
    trends = trends.astype({"theme_id": "string", "period": "string"})
    table = trends.merge(info, on=["theme_id", "period"], how="left")
    table.insert(2, "label", table["theme_id"].map(labels_now).astype("string"))
    table = table.rename(columns={"representative_docs": "representative_comments",
                                  "rate_ratio_ci_low": "rr_ci_low",
                                  "rate_ratio_ci_high": "rr_ci_high"})
    majority = (assignments.dropna(subset=["theme_id"])
                .groupby(["theme_id", "period"])["policy_area"]
                .agg(lambda s: s.value_counts().index[0]))
    table["policy_area"] = [majority.get((t, p), pd.NA) for t, p in
                            zip(table["theme_id"], table["period"])]
    extras = extras.astype({"theme_id": "string", "period": "string"})
    table = table.merge(extras, on=["theme_id", "period"], how="left")
    table["root_cause_category"] = table["root_cause_category"].astype("string")
    for col in ("keywords", "representative_comments"):
        table[col] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else []
                      for v in table[col]]
    return table.sort_values(["period", "count"], ascending=[True, False],
                             kind="stable").reset_index(drop=True)

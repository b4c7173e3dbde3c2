"""DataFrame API of root-cause ranking: ranked candidates, per-theme bundle, impact, table."""

from __future__ import annotations

import json
import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputError
from ._category import CategoryTag, RootCauseCategorizer
from ._config import RootCauseConfig
from ._search import (CodedTable, Key, fisher_greater, child_lift_pvalues, combination_statistics,
                      search_combinations)
from ._textual import distinctive_phrases_from_counts, phrase_counts

__all__ = ["rank_root_causes", "rank_root_causes_from_counts", "root_causes_for_theme",
           "root_causes_from_counts", "count_combinations", "theme_impact", "ThemeRootCauses",
           "format_root_cause_table", "CANDIDATE_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns of the table returned by :func:`rank_root_causes`, in order.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "rank", "attributes", "attributes_json", "n_dims", "support", "theme_count", "expected_count",
    "rate_in", "rate_in_shrunk", "rate_out", "risk_ratio", "rr_ci_low", "rr_ci_high",
    "explanatory_power", "surprise", "p_value", "q_value", "score", "collapsed_into",
    "evidence_record_ids", "example_comments",
)


def _as_mask(values, records: pd.DataFrame, what: str) -> np.ndarray:
    if isinstance(values, str):
        if values not in records.columns:
            raise InputError(f"{what}: no column {values!r} in the records", source="<DataFrame>")
        values = records[values]
    if isinstance(values, pd.Series):
        if not values.index.equals(records.index):
            # align on the index when it covers the records, else take the values in order
            if values.index.is_unique and records.index.isin(values.index).all():
                values = values.reindex(records.index)
            elif len(values) != len(records):
                raise InputError(f"{what}: index does not match the records", source="<DataFrame>")
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.shape != (len(records),):
        raise InputError(f"{what}: expected {len(records)} values, got shape {arr.shape}",
                         source="<DataFrame>")
    if arr.dtype != bool:
        if pd.isna(arr).any():
            raise InputError(f"{what}: missing values in a boolean mask", source="<DataFrame>")
        arr = arr.astype(bool)
    return arr


def _resolve_dimensions(records: pd.DataFrame, dimensions: Sequence[str] | None,
                        config: RootCauseConfig) -> list[str]:
    explicit = dimensions if dimensions is not None else config.dimensions
    if explicit is None:
        dims = [c for c in schema.CATEGORICAL_COLUMNS if c in records.columns]
    else:
        dims = list(explicit)
    dims += [c for c in config.extra_dimensions if c not in dims]
    missing = [c for c in dims if c not in records.columns]
    if missing and (explicit is not None or config.extra_dimensions):
        raise InputError(f"dimensions not in the records: {missing}", source="<DataFrame>")
    return [c for c in dims if c in records.columns]


def _code_table(records: pd.DataFrame, dims: list[str], in_theme: np.ndarray,
                current: np.ndarray, baseline: np.ndarray | None,
                weights: np.ndarray | None = None) -> CodedTable:
    codes, labels, kept = [], [], []
    for dim in dims:
        col = records[dim]
        values = col.astype("string")
        code, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        if len(uniques) < 2:
            logger.debug("dimension %r has fewer than two values; not searched", dim)
            continue
        codes.append(code.astype(np.int64))
        labels.append(np.asarray(uniques.astype(object)))
        kept.append(dim)
    # column-major: the search reads one dimension at a time
    matrix = (np.asfortranarray(np.column_stack(codes)) if codes
              else np.empty((len(records), 0), dtype=np.int64))
    return CodedTable(tuple(kept), matrix, tuple(labels), in_theme, current, baseline, weights)


#: Columns a counts table gets besides the dimensions (see :func:`count_combinations`).
_IN_THEME, _BASELINE, _COUNT = "in_theme", "baseline", "count"


def count_combinations(records: pd.DataFrame, dimensions: Sequence[str], in_theme,
                       baseline=None) -> pd.DataFrame:
    """Records per distinct combination of dimension values and theme (and baseline) membership.

    The table :func:`rank_root_causes_from_counts` searches. Counts of disjoint parts of the
    data (partitions) can be concatenated (and summed per combination, or not: the search
    adds rows up either way).

    Returns
    -------
    DataFrame
        The dimensions (as strings, missing kept as ``<NA>``), ``in_theme``, ``baseline`` when
        given, and ``count``.
    """
    dims = list(dimensions)
    frame = pd.DataFrame({d: records[d].astype("string") for d in dims}, index=records.index)
    frame[_IN_THEME] = _as_mask(in_theme, records, "in_theme")
    if baseline is not None:
        frame[_BASELINE] = _as_mask(baseline, records, "baseline")
    keys = list(frame.columns)
    if not len(frame):
        return frame.assign(**{_COUNT: pd.Series(dtype="int64")})
    counts = frame.groupby(keys, dropna=False, sort=True, observed=True).size()
    return counts.rename(_COUNT).reset_index()


def _examples(comments: list[str], n: int) -> list[str]:
    """Up to ``n`` distinct non-empty comments, spread evenly over the (record-id ordered) list."""
    distinct = list(dict.fromkeys(c.strip() for c in comments if isinstance(c, str) and c.strip()))
    if len(distinct) <= n:
        return distinct
    idx = np.linspace(0, len(distinct) - 1, n).round().astype(int)
    return [distinct[i] for i in idx]


def rank_root_causes(records: pd.DataFrame, in_theme, *, dimensions: Sequence[str] | None = None,
                     config: RootCauseConfig | None = None, baseline=None) -> pd.DataFrame:
    """Rank attribute combinations that are over-represented among a theme's records.

    Parameters
    ----------
    records : DataFrame
        Records of the data contract (``record_id``, the categorical dimensions, optionally the
        redacted ``reviewer_comment`` for examples), usually one period's.
    in_theme : array-like of bool, Series or str
        Which records belong to the theme (a column name of ``records`` is accepted).
    dimensions : sequence of str, optional
        Columns to search; default ``config.dimensions`` or the contract's categorical columns
        present, plus ``config.extra_dimensions``.
    config : RootCauseConfig, optional
    baseline : array-like of bool, optional
        Marks baseline rows (e.g. earlier periods); the other rows are the current ones. Then
        ``rate_out`` is the theme's rate inside the same combination in the baseline rows and
        explanatory power is the share of the theme's growth explained (Adtributor). Without it,
        ``rate_out`` is the theme's rate in all records outside the combination.

    Returns
    -------
    DataFrame
        One row per reported candidate (columns :data:`CANDIDATE_COLUMNS`), best first:
        ``q_value <= alpha`` (BH or Holm across all tested combinations, per
        ``config.correction``), over-represented, not redundant. Redundant candidates are
        dropped, or kept with ``rank`` empty and ``collapsed_into`` (the ``attributes_json`` of
        the candidate that absorbs them) when ``config.keep_collapsed``:

        * a child not significantly above the rest of one of its parents (``child_alpha``);
        * an alias, selecting exactly the same records as a simpler candidate (a queue served
          by a single agent): the one with fewer attributes, then coarser ones, is kept;
        * a candidate whose theme records lie ``overlap_threshold`` inside a better-ranked one,
          or that is no longer over-represented once better-ranked candidates' records are
          set aside.

        Ranking: ``score`` is an F-beta (``score_beta``) of the shrunk explanatory power and
        the shrunk theme rate inside the combination, so a parent that explains as much as its
        child ranks above it; ties go to fewer attributes, then coarser ones.

    Examples
    --------
    >>> import pandas as pd
    >>> records = pd.DataFrame({"record_id": [f"r{i}" for i in range(200)],
    ...                         "market": ["MY"] * 50 + ["ID"] * 150})
    >>> in_theme = [i < 20 for i in range(50)] + [i < 5 for i in range(150)]
    >>> top = rank_root_causes(records, in_theme).iloc[0]
    >>> top["attributes"], int(top["support"]), int(top["theme_count"]), float(top["risk_ratio"])
    ({'market': 'MY'}, 50, 20, 12.0)
    """
    config = config or RootCauseConfig()
    if schema.RECORD_ID not in records.columns:
        raise InputError(f"missing column {schema.RECORD_ID!r}", source="<DataFrame>")
    theme = _as_mask(in_theme, records, "in_theme")
    base = _as_mask(baseline, records, "baseline") if baseline is not None else None
    current = ~base if base is not None else np.ones(len(records), dtype=bool)
    dims = _resolve_dimensions(records, dimensions, config)
    counts = count_combinations(records, dims, theme, base)
    return rank_root_causes_from_counts(
        counts, _IN_THEME, theme_records=records.loc[theme & current], dimensions=dims,
        config=config, baseline=_BASELINE if base is not None else None)


def rank_root_causes_from_counts(counts: pd.DataFrame, in_theme, *, weights=_COUNT,
                                 theme_records: pd.DataFrame | None = None,
                                 dimensions: Sequence[str] | None = None,
                                 config: RootCauseConfig | None = None,
                                 baseline=None) -> pd.DataFrame:
    """:func:`rank_root_causes` on a counts table instead of the records.

    Parameters
    ----------
    counts : DataFrame
        One row per combination of dimension values (and theme / baseline membership) with its
        number of records (:func:`count_combinations`, possibly concatenated over partitions).
    in_theme : array-like of bool, Series or str
        Which rows count theme records (a column name is accepted).
    weights : str or array-like
        Records per row (a column name is accepted).
    theme_records : DataFrame, optional
        The theme's current records (``record_id``, the dimensions, optionally
        ``reviewer_comment``), for the evidence ids and example comments; without it those
        are empty.
    dimensions, config, baseline
        As in :func:`rank_root_causes`.

    Returns
    -------
    DataFrame
        Exactly what :func:`rank_root_causes` returns for the records the counts describe.
    """
    config = config or RootCauseConfig()
    theme = _as_mask(in_theme, counts, "in_theme")
    base = _as_mask(baseline, counts, "baseline") if baseline is not None else None
    current = ~base if base is not None else np.ones(len(counts), dtype=bool)
    w = counts[weights] if isinstance(weights, str) else weights
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (len(counts),) or (w < 0).any():
        raise InputError("weights: expected a non-negative count per row", source="<DataFrame>")
    dims = _resolve_dimensions(counts, dimensions, config)
    table = _code_table(counts, dims, theme, current, base, w)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})
    if not table.dimensions or not table.total(theme & current):
        logger.info("nothing to rank: %d dimensions, %d theme records", len(table.dimensions),
                    int(table.total(theme & current)))
        return empty

    result = search_combinations(table, config)
    st = combination_statistics(result, config)
    eligible = np.flatnonzero(
        (result.theme_count >= config.min_theme_count) & (st["q_value"] <= config.alpha)
        & (st["rate_in"] > np.nan_to_num(st["rate_out"], nan=np.inf)))
    # aliases only matter near the top; checking them costs a pass over the rows each
    top = sorted(eligible.tolist(), key=lambda i: -st["score"][i])[: 5 * config.max_candidates]
    aliases = _merge_aliases(table, result, np.asarray(top, dtype=int))
    score = st["score"]
    order = sorted((i for i in eligible if i not in aliases),
                   key=lambda i: (-round(float(score[i]), 12), len(result.keys[i]),
                                  _description_length(table, result.keys[i]), result.keys[i]))
    rows = _collapse(table, result, order, config, aliases)
    if not rows:
        return empty

    members_of = _EvidenceIndex(theme_records, table)
    out = []
    for rank, (i, collapsed_into) in enumerate(rows, start=1):
        key = result.keys[i]
        record_ids, comments = members_of(key)
        attrs = {k: str(v) for k, v in table.attributes(key).items()}
        row = {
            "rank": rank if collapsed_into is None else None,
            "attributes": attrs,
            "attributes_json": json.dumps(attrs, ensure_ascii=False),
            "n_dims": len(key),
            "support": int(result.support[i]),
            "theme_count": int(result.theme_count[i]),
            "collapsed_into": collapsed_into,
            "evidence_record_ids": record_ids[: config.max_evidence_ids].tolist(),
            "example_comments": (_examples(list(comments), config.n_examples)
                                 if comments is not None else []),
        }
        for name, values in st.items():
            row[name] = float(values[i])
        out.append(row)
    frame = pd.DataFrame(out)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame.loc[:, list(CANDIDATE_COLUMNS)]


class _EvidenceIndex:
    """The theme's current records matching a combination, in record-id order."""

    def __init__(self, theme_records: pd.DataFrame | None, table: CodedTable) -> None:
        self.table = table
        if theme_records is None or schema.RECORD_ID not in theme_records.columns:
            self.ids = np.array([], dtype=object)
            self.values: dict[str, np.ndarray] = {}
            self.comments = None
            return
        ids = theme_records[schema.RECORD_ID].astype(str).to_numpy()
        order = np.argsort(ids, kind="stable")
        self.ids = ids[order]
        self.values = {d: theme_records[d].astype("string").to_numpy(dtype=object,
                                                                      na_value=None)[order]
                       for d in table.dimensions if d in theme_records.columns}
        self.comments = (theme_records[schema.REVIEWER_COMMENT].to_numpy()[order]
                         if schema.REVIEWER_COMMENT in theme_records.columns else None)

    def __call__(self, key: Key) -> tuple[np.ndarray, np.ndarray | None]:
        keep = np.ones(len(self.ids), dtype=bool)
        for dim, value in self.table.attributes(key).items():
            if dim not in self.values:
                keep[:] = False
                break
            keep &= self.values[dim] == str(value)
        comments = self.comments[keep] if self.comments is not None else None
        return self.ids[keep], comments


def _description_length(table: CodedTable, key: Key) -> float:
    """Bits needed to name the combination: coarse attributes (a queue) before fine ones (an
    agent) when the data cannot tell them apart."""
    return float(sum(np.log2(len(table.labels[dim])) for dim, _ in key))


def _merge_aliases(table: CodedTable, result, eligible: np.ndarray) -> dict[int, int]:
    """Group candidates that select exactly the same records (e.g. a queue served by one agent).

    The data cannot tell such aliases apart, so each group is represented by its simplest member
    (fewest attributes, then shortest description) with its own score (a longer alias can only
    score higher through shrinkage towards a parent that selects the same records); the others
    are collapsed into it. Returns ``{alias index: representative}``.
    """
    by_counts: dict[tuple[float, float], list[int]] = {}
    for i in eligible.tolist():
        by_counts.setdefault((result.support[i], result.theme_count[i]), []).append(i)
    aliases: dict[int, int] = {}
    for members in by_counts.values():
        if len(members) < 2:
            continue
        groups: dict[bytes, list[int]] = {}
        for i in members:
            mask = table.mask(result.keys[i]) & table.current
            groups.setdefault(np.packbits(mask).tobytes(), []).append(i)
        for group in groups.values():
            if len(group) < 2:
                continue
            rep = min(group, key=lambda i: (len(result.keys[i]),
                                            _description_length(table, result.keys[i]),
                                            result.keys[i]))
            aliases.update({i: rep for i in group if i != rep})
    return aliases


def _collapse(table: CodedTable, result, order: list[int], config: RootCauseConfig,
              aliases: dict[int, int]) -> list[tuple[int, str | None]]:
    """Walk candidates best first; keep or collapse each. Returns ``(index, collapsed_into)``."""
    p_lift, lift_parent = child_lift_pvalues(table, result, order)
    theme_idx = np.flatnonzero(table.in_theme & table.current)
    theme_codes = table.codes[theme_idx]
    theme_w = table.w[theme_idx]
    kept: list[tuple[int, np.ndarray, str]] = []
    covered = np.zeros(len(table.in_theme), dtype=bool)
    collapsed: list[tuple[int, str]] = []

    def name(key: Key) -> str:
        return json.dumps({k: str(v) for k, v in table.attributes(key).items()},
                          ensure_ascii=False)

    position = {i: j for j, i in enumerate(order)}
    index_of = {result.keys[i]: i for i in order}
    queue = deque(order)
    seen: set[int] = set()
    while queue:
        i = queue.popleft()
        if i in seen:
            continue
        seen.add(i)
        # past this many, the rest is noise or more slices of the same causes
        if len(kept) >= config.max_candidates or len(seen) > 10 * config.max_candidates:
            break
        j = position[i]
        key = result.keys[i]
        if p_lift[j] > config.child_alpha:
            collapsed.append((i, name(lift_parent[j])))
            # the simpler combination explains the theme as well as this one: it takes this
            # one's place in the ranking, rather than its own lower place (where a rival that
            # overlaps it could absorb it and leave neither in the list)
            parent = index_of.get(lift_parent[j])
            if parent is not None and parent not in seen:
                queue.appendleft(parent)
            continue
        members = np.ones(len(theme_idx), dtype=bool)
        for dim, code in key:
            members &= theme_codes[:, dim] == code
        n_members = theme_w[members].sum()
        overlaps = [theme_w[members & other].sum() for _, other, _ in kept]
        absorbed = None
        if overlaps:
            best = int(np.argmax(overlaps))
            if overlaps[best] >= config.overlap_threshold * n_members:
                absorbed = kept[best][2]
            elif overlaps[best] > 0 and not _residual_excess(table, key, covered, config):
                absorbed = kept[best][2]
        if absorbed is not None:
            collapsed.append((i, absorbed))
            continue
        kept.append((i, members, name(key)))
        covered |= table.mask(key) & table.current
    rows: list[tuple[int, str | None]] = [(i, None) for i, _, _ in kept]
    if config.keep_collapsed:
        shown = {i for i, _ in rows} | {i for i, _ in collapsed}
        rows += collapsed
        rows += [(i, name(result.keys[rep])) for i, rep in sorted(aliases.items())
                 if rep in shown]
    logger.debug("kept %d candidates, collapsed %d", len(kept), len(collapsed))
    return rows


def _residual_excess(table: CodedTable, key: Key, covered: np.ndarray,
                     config: RootCauseConfig) -> bool:
    """Whether a combination is still over-represented once the records of better-ranked
    candidates are set aside (so a slice of an already-reported cause is not reported again)."""
    rest = table.current & ~covered
    inside = table.mask(key) & rest
    n_r = table.total(inside)
    a_r = table.total(inside & table.in_theme)
    if a_r < config.min_theme_count:
        return False
    m_r = table.total(rest) - n_r
    b_r = table.total(rest & table.in_theme) - a_r
    return bool(fisher_greater(a_r, n_r, b_r, m_r)[0] <= config.child_alpha)


def theme_impact(records: pd.DataFrame, in_theme) -> dict[str, float]:
    """How much the fail rate of ``records`` would change without the theme's failed records.

    Returns
    -------
    dict
        ``fail_rate`` (all records), ``fail_rate_without_theme`` (the theme's failed records
        removed from both the failures and the total), ``impact`` (the difference, in rate
        units: 0.02 = two percentage points), ``theme_failed`` and ``n_records``. Rates are NaN
        when ``qa_result`` is absent.
    """
    theme = _as_mask(in_theme, records, "in_theme")
    n = len(records)
    if schema.QA_RESULT not in records.columns or n == 0:
        return {"fail_rate": float("nan"), "fail_rate_without_theme": float("nan"),
                "impact": float("nan"), "theme_failed": 0, "n_records": n}
    failed = _failed(records)
    return _impact(n, int(failed.sum()), int((failed & theme).sum()))


def _impact(n: int, n_fail: int, theme_fail: int) -> dict[str, float]:
    if n == 0:
        return {"fail_rate": float("nan"), "fail_rate_without_theme": float("nan"),
                "impact": float("nan"), "theme_failed": 0, "n_records": n}
    rate = n_fail / n
    rest = n - theme_fail
    without = (n_fail - theme_fail) / rest if rest else float("nan")
    return {"fail_rate": rate, "fail_rate_without_theme": without, "impact": rate - without,
            "theme_failed": theme_fail, "n_records": n}


@dataclass
class ThemeRootCauses:
    """Everything root-cause analysis says about one theme in one period.

    Attributes
    ----------
    theme_id, period : str
    candidates : DataFrame
        Structural causes from :func:`rank_root_causes`.
    phrases : DataFrame
        Textual causes from :func:`distinctive_phrases` (theme vs the period's other failures).
    category : CategoryTag or None
        Root-cause category (only when an encoder or a categorizer was given).
    impact : dict
        From :func:`theme_impact`.
    """

    theme_id: str
    period: str
    candidates: pd.DataFrame
    phrases: pd.DataFrame
    category: CategoryTag | None
    impact: dict = field(default_factory=dict)

    def to_markdown(self, max_rows: int = 10) -> str:
        """A readable summary for the report: category, impact, causes and phrases."""
        lines = [f"### Root causes of theme {self.theme_id} ({self.period})", ""]
        if self.category is not None:
            lines.append(f"Category: **{self.category.name}** (confidence "
                         f"{self.category.confidence:.2f}, margin {self.category.margin:.3f})")
        if self.impact and not np.isnan(self.impact.get("impact", np.nan)):
            lines.append(f"Impact: fail rate {self.impact['fail_rate']:.1%}, "
                         f"{self.impact['fail_rate_without_theme']:.1%} without this theme")
        lines += ["", format_root_cause_table(self.candidates, max_rows=max_rows), ""]
        if len(self.phrases):
            lines.append("Distinctive phrases: " + ", ".join(
                f"\"{r.phrase}\" ({r.count_in_theme})" for r in self.phrases.itertuples()))
        return "\n".join(lines)


def root_causes_for_theme(records: pd.DataFrame, assignments, theme_id, period: str, *,
                          baseline_periods: Sequence[str] | None = None,
                          dimensions: Sequence[str] | None = None,
                          config: RootCauseConfig | None = None, encoder=None,
                          embeddings: np.ndarray | None = None,
                          categorizer: RootCauseCategorizer | None = None) -> ThemeRootCauses:
    """Structural causes, distinctive phrases, category and impact of one theme in one period.

    Parameters
    ----------
    records : DataFrame
        Records with ``record_id`` and ``period`` (other periods are ignored unless baseline).
    assignments : DataFrame or Series
        Theme of each record: a DataFrame with ``record_id`` and ``theme_id`` columns, or a Series
        of theme ids indexed by record id.
    theme_id
        The theme under study.
    period : str
        The period under study.
    baseline_periods : sequence of str, optional
        Compare with the theme in these periods instead of with the period's other records.
    encoder : object with ``encode(list[str]) -> ndarray``, optional
        For the category tag (e.g. :class:`qa_insights.embed.TextEncoder`).
    embeddings : ndarray, optional
        Precomputed L2-normalised embeddings of the theme's comments in this period, in
        record-id order; used instead of encoding the comments.
    categorizer : RootCauseCategorizer, optional
        A fitted categorizer to reuse across themes (the taxonomy is embedded once); else one
        is built from ``encoder`` and ``config.category`` when ``encoder`` is given.

    Returns
    -------
    ThemeRootCauses
        Candidates, distinctive phrases (vs the period's other failed records), category (None
        without an encoder or categorizer) and impact, all for ``period``.
    """
    config = config or RootCauseConfig()
    for col in (schema.RECORD_ID, schema.PERIOD):
        if col not in records.columns:
            raise InputError(f"missing column {col!r}", source="<DataFrame>")
    if isinstance(assignments, pd.DataFrame):
        theme_of = assignments.set_index(schema.RECORD_ID)["theme_id"]
    else:
        theme_of = pd.Series(assignments)
    periods = records[schema.PERIOD].astype(str)
    wanted = periods == str(period)
    if baseline_periods:
        wanted |= periods.isin([str(p) for p in baseline_periods])
    rows = records.loc[wanted].reset_index(drop=True)
    row_theme = rows[schema.RECORD_ID].map(theme_of)
    in_theme = (row_theme.astype("string") == str(theme_id)).fillna(False).to_numpy(dtype=bool)
    is_current = (rows[schema.PERIOD].astype(str) == str(period)).to_numpy()
    baseline = ~is_current if baseline_periods else None

    dims = _resolve_dimensions(rows, dimensions, config)
    counts = count_combinations(rows, dims, in_theme, baseline)
    cur = rows.loc[is_current].reset_index(drop=True)
    cur_theme = in_theme[is_current]
    comments = (cur[schema.REVIEWER_COMMENT].fillna("").astype(str)
                if schema.REVIEWER_COMMENT in cur.columns else pd.Series([""] * len(cur)))
    has_result = schema.QA_RESULT in cur.columns
    failed = _failed(cur) if has_result else np.zeros(len(cur), dtype=bool)
    other_mask = (failed & ~cur_theme) if has_result else ~cur_theme
    other = phrase_counts(comments[other_mask].tolist(), config.phrases.max_ngram)
    if categorizer is None and encoder is not None:
        categorizer = RootCauseCategorizer(encoder=encoder, config=config.category)
    return root_causes_from_counts(
        counts, cur.loc[cur_theme], theme_id, period, other_phrases=other,
        n_records=len(cur), n_failed=int(failed.sum()) if has_result else None,
        dimensions=dims, config=config, categorizer=categorizer, embeddings=embeddings,
        baseline=_BASELINE if baseline is not None else None)


def root_causes_from_counts(counts: pd.DataFrame, theme_records: pd.DataFrame, theme_id,
                            period: str, *, other_phrases: Counter, n_records: int,
                            n_failed: int | None, dimensions: Sequence[str] | None = None,
                            config: RootCauseConfig | None = None,
                            categorizer: RootCauseCategorizer | None = None,
                            embeddings: np.ndarray | None = None,
                            comment_similarities: np.ndarray | None = None,
                            baseline=None) -> ThemeRootCauses:
    """:func:`root_causes_for_theme` from aggregates and the theme's own records.

    What a partitioned run can gather without collecting a period's records: the counts table,
    the theme's records in the period (small), the document frequencies of phrases in the
    period's other failed comments, and the period's record and failure totals.

    Parameters
    ----------
    counts : DataFrame
        :func:`count_combinations` of the period's records (``in_theme`` marks the theme),
        possibly concatenated over partitions.
    theme_records : DataFrame
        The theme's records in the period: ``record_id``, the dimensions, ``reviewer_comment``
        (redacted) and ``qa_result``.
    other_phrases : Counter
        :func:`~qa_insights.root_causes.phrase_counts` of the comments of the period's failed
        records outside the theme (all records outside it when ``n_failed`` is None).
    n_records, n_failed : int
        Records and failed records of the period (``n_failed`` None: no ``qa_result``).
    embeddings, comment_similarities : ndarray, optional
        The theme comments' embeddings in record-id order, or their
        :meth:`RootCauseCategorizer.comment_similarities` (computed where the embeddings are).

    Returns
    -------
    ThemeRootCauses
        The same as :func:`root_causes_for_theme` on the records behind the aggregates.
    """
    config = config or RootCauseConfig()
    candidates = rank_root_causes_from_counts(counts, _IN_THEME, theme_records=theme_records,
                                              dimensions=dimensions, config=config,
                                              baseline=baseline)
    ids = theme_records[schema.RECORD_ID].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    comments = (theme_records[schema.REVIEWER_COMMENT].fillna("").astype(str).to_numpy()[order]
                if schema.REVIEWER_COMMENT in theme_records.columns else [""] * len(ids))
    theme_comments = list(comments)
    phrases = distinctive_phrases_from_counts(
        phrase_counts(theme_comments, config.phrases.max_ngram), other_phrases,
        config=config.phrases)
    category = None
    if categorizer is not None and comment_similarities is not None:
        if len(comment_similarities):
            category = categorizer.tag_similarities(comment_similarities)
    elif categorizer is not None and (embeddings is not None or theme_comments):
        category = categorizer.tag(theme_comments if embeddings is None else None,
                                   embeddings=embeddings)
    if n_failed is None:
        impact = theme_impact(pd.DataFrame(index=range(n_records)),
                              np.zeros(n_records, dtype=bool))
    else:
        theme_failed = int(_failed(theme_records).sum())
        impact = _impact(n_records, n_failed, theme_failed)
    return ThemeRootCauses(str(theme_id), str(period), candidates, phrases, category, impact)


def _failed(records: pd.DataFrame) -> np.ndarray:
    failed = (records[schema.QA_RESULT].astype("string").str.lower() == "fail").fillna(False)
    return failed.to_numpy(dtype=bool)


def format_root_cause_table(candidates: pd.DataFrame, max_rows: int = 10) -> str:
    """A Markdown table of the ranked candidates for the report (collapsed ones left out)."""
    if candidates is None or candidates.empty:
        return "_No attribute combination is significantly over-represented._"
    shown = candidates[candidates["rank"].notna()].head(max_rows)
    head = ("| # | where | records | theme | rate in | rate out | risk ratio (CI) | explains "
            "| q |\n|---|---|---|---|---|---|---|---|---|")
    body = []
    for r in shown.itertuples():
        where = ", ".join(f"{k} = {v}" for k, v in r.attributes.items()).replace("|", "\\|")
        body.append(f"| {r.rank} | {where} | {r.support} | {r.theme_count} | {r.rate_in:.1%} "
                    f"| {r.rate_out:.1%} | {r.risk_ratio:.1f} ({r.rr_ci_low:.1f}–"
                    f"{r.rr_ci_high:.1f}) | {r.explanatory_power:.0%} | {r.q_value:.2g} |")
    return "\n".join([head, *body])

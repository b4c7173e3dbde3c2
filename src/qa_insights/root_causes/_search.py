"""Search of attribute-value combinations over-represented in a theme, and their statistics.

The search is a beam search in the spirit of RiskLoc / Squeeze: every single attribute value is
scored, and only the ``beam_width`` most promising combinations of size *k* (over-represented, raw
p below ``expand_alpha``) are extended by one more attribute. Counting is done with
``numpy.bincount`` over integer-coded columns, so a level costs a few passes over the rows.

The rows may be single records or a counts table (one row per distinct combination of
attribute values, theme and baseline membership, with its number of records in ``weights``):
every count is a weighted sum, so both give the same numbers, and per-partition counts of a
large dataset can be summed and searched without collecting the records.

Two comparisons are supported:

* population (default): the theme's rate inside a combination against its rate in all other
  records of the same rows (``rate_out``);
* baseline: the theme's rate inside a combination in the current rows against the rate inside
  the same combination in the baseline rows (``rate_out`` is then the baseline rate; for a
  combination absent from the baseline, the theme's overall baseline rate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special, stats

from ._config import RootCauseConfig

__all__ = ["CodedTable", "SearchResult", "search_combinations", "adjust_pvalues", "fisher_greater",
           "child_lift_pvalues", "combination_statistics",
           "count_current", "parent_keys"]

logger = logging.getLogger(__name__)

#: A combination: ((dimension index, value code), ...) sorted by dimension index.
Key = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class CodedTable:
    """The searched columns as integer codes (``-1`` = missing) and the theme / baseline masks.

    ``weights`` is the number of records each row stands for (``None``: one each).
    """

    dimensions: tuple[str, ...]
    codes: np.ndarray          # (n_rows, n_dims) int64
    labels: tuple[np.ndarray, ...]
    in_theme: np.ndarray       # bool (n_rows,)
    current: np.ndarray        # bool (n_rows,): rows of the period under study
    baseline: np.ndarray | None  # bool (n_rows,) or None (population comparison)
    weights: np.ndarray | None = None  # float (n_rows,) records per row, or None (one each)

    @cached_property
    def w(self) -> np.ndarray:
        """Records per row (float, for weighted ``bincount``)."""
        if self.weights is None:
            return np.ones(self.codes.shape[0])
        return np.asarray(self.weights, dtype=np.float64)

    def total(self, mask: np.ndarray) -> float:
        """Number of records in the rows of ``mask``."""
        return float(self.w[mask].sum())

    def mask(self, key: Key) -> np.ndarray:
        """Rows (all of them, current and baseline) that match a combination."""
        out = np.ones(self.codes.shape[0], dtype=bool)
        for dim, code in key:
            out &= self.codes[:, dim] == code
        return out

    @cached_property
    def current_columns(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per dimension, the codes + 1 (0 = missing) of the current rows and of the current
        theme rows, as contiguous arrays."""
        cur = self.codes if self.baseline is None else self.codes[self.current]
        theme = self.codes[self.current & self.in_theme]
        return ([np.ascontiguousarray(cur[:, d]) + 1 for d in range(self.codes.shape[1])],
                [np.ascontiguousarray(theme[:, d]) + 1 for d in range(self.codes.shape[1])])

    @cached_property
    def current_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Records per row of the current rows and of the current theme rows (as in
        :attr:`current_columns`)."""
        cur = self.w if self.baseline is None else self.w[self.current]
        return cur, self.w[self.current & self.in_theme]

    def attributes(self, key: Key) -> dict:
        """``{dimension: value}`` of a combination, in dimension order."""
        return {self.dimensions[dim]: self.labels[dim][code] for dim, code in key}


@dataclass
class SearchResult:
    """All tested combinations with their counts (parallel arrays) and the totals."""

    keys: list[Key]
    support: np.ndarray         # current rows matching
    theme_count: np.ndarray     # current theme rows matching
    ref_size: np.ndarray        # reference rows (outside, or baseline rows matching)
    ref_theme: np.ndarray       # reference theme rows
    parent_rate: np.ndarray     # current theme rate of the parent the row was found under
    n_total: int
    theme_total: int
    baseline_total: int
    baseline_theme_total: int


def _level_counts(table: CodedTable, rows: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """Per value of ``dim`` among ``rows`` (indices): current support, current theme count,
    baseline support and baseline theme count."""
    n_values = len(table.labels[dim])
    shifted = table.codes[rows, dim] + 1  # missing (-1) goes to bin 0, dropped below
    w = table.w[rows]
    cur = table.current[rows] * w
    theme = table.in_theme[rows]
    support = np.bincount(shifted, weights=cur, minlength=n_values + 1)[1:]
    theme_count = np.bincount(shifted, weights=cur * theme, minlength=n_values + 1)[1:]
    if table.baseline is None:
        return support, theme_count, None, None
    base = table.baseline[rows] * w
    base_support = np.bincount(shifted, weights=base, minlength=n_values + 1)[1:]
    base_theme = np.bincount(shifted, weights=base * theme, minlength=n_values + 1)[1:]
    return support, theme_count, base_support, base_theme


def fisher_greater(a, n, b, m) -> np.ndarray:
    """One-sided Fisher exact p-value that ``a/n`` exceeds ``b/m`` (vectorised).

    ``P(X >= a)`` for ``X ~ Hypergeometric(M=n+m, K=a+b, draws=n)``, summed term by term from
    ``a`` with the ratio of consecutive probabilities (upper tail when ``a`` is above the mode,
    one minus the lower tail otherwise, so every sum runs over decreasing terms). Same value as
    ``scipy.stats.hypergeom.sf(a - 1, M, K, n)``, whose per-element cost grows with ``M``.
    """
    a, n, b, m = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a, n, b, m))
    M, K, N = n + m, a + b, n
    bad = M - K
    lo, hi = np.maximum(0.0, N - bad), np.minimum(K, N)
    mode = np.floor((N + 1) * (K + 1) / (M + 2))
    upper = a > mode
    start = np.where(upper, a, a - 1)
    valid = (M > 0) & (start >= lo) & (start <= hi)
    x = np.where(valid, start, lo)
    log_c = (special.gammaln(K + 1) - special.gammaln(x + 1) - special.gammaln(K - x + 1)
             + special.gammaln(bad + 1) - special.gammaln(N - x + 1)
             - special.gammaln(bad - N + x + 1)
             - special.gammaln(M + 1) + special.gammaln(N + 1) + special.gammaln(M - N + 1))
    term = np.where(valid, np.exp(log_c), 0.0)
    total = term.copy()
    active = valid & (term > 0)
    while active.any():
        idx = np.flatnonzero(active)
        xi, Ki, Ni, Bi = x[idx], K[idx], N[idx], bad[idx]
        up = upper[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(up, (Ki - xi) * (Ni - xi) / ((xi + 1) * (Bi - Ni + xi + 1)),
                             xi * (Bi - Ni + xi) / ((Ki - xi + 1) * (Ni - xi + 1)))
        ratio = np.nan_to_num(ratio, nan=0.0, posinf=0.0)
        x[idx] = np.where(up, xi + 1, xi - 1)
        term[idx] *= np.maximum(ratio, 0.0)
        total[idx] += term[idx]
        active[idx] = (term[idx] > 1e-17 * total[idx]) & (x[idx] > lo[idx]) & (x[idx] < hi[idx])
        active[idx] &= np.where(up, x[idx] < hi[idx], x[idx] > lo[idx])
    p = np.where(upper, total, 1.0 - total)
    # a at or below the support's lower end: the event X >= a is certain
    p = np.where(~valid & ~upper, 1.0, p)
    p = np.where(~valid & upper, np.where(a <= lo, 1.0, 0.0), p)
    return np.clip(p, 0.0, 1.0)


def search_combinations(table: CodedTable, config: RootCauseConfig) -> SearchResult:
    """Beam search over combinations of 1 to ``config.max_dims`` attributes.

    Returns every tested combination (support at least ``min_support``) with its counts; the
    statistics are computed by :func:`combination_statistics`.
    """
    cur, theme = table.current, table.in_theme
    n_total = int(table.total(cur))
    theme_total = int(table.total(cur & theme))
    if table.baseline is not None:
        base_total = int(table.total(table.baseline))
        base_theme_total = int(table.total(table.baseline & theme))
    else:
        base_total = base_theme_total = 0
    overall_rate = theme_total / n_total if n_total else 0.0

    keys: list[Key] = []
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in ("n", "a", "m", "b", "pr")}
    seen: set[Key] = set()
    in_scope = cur if table.baseline is None else (cur | table.baseline)
    # beam entries: (key, row indices matching it, its current theme rate)
    parents: list[tuple[Key, np.ndarray, float]] = [((), np.flatnonzero(in_scope), overall_rate)]
    n_dims = table.codes.shape[1]

    for level in range(1, min(config.max_dims, n_dims) + 1):
        level_keys: list[Key] = []
        level_rows: list[tuple[int, int]] = []  # (beam parent, dim) each key was found under
        level_start = len(keys)
        for p_idx, (parent_key, rows, parent_rate) in enumerate(parents):
            used = {dim for dim, _ in parent_key}
            for dim in range(n_dims):
                if dim in used:
                    continue
                n, a, m, b = _level_counts(table, rows, dim)
                codes = np.flatnonzero(n >= config.min_support)
                if codes.size == 0:
                    continue
                pos = sum(1 for d, _ in parent_key if d < dim)
                head, tail = parent_key[:pos], parent_key[pos:]
                new_keys = [(*head, (dim, c), *tail) for c in codes.tolist()]
                fresh = np.fromiter((k not in seen for k in new_keys), dtype=bool,
                                    count=len(new_keys))
                if not fresh.any():
                    continue
                codes = codes[fresh]
                new_keys = [k for k, f in zip(new_keys, fresh) if f]
                seen.update(new_keys)
                level_keys.extend(new_keys)
                level_rows.extend([(p_idx, dim)] * len(new_keys))
                blocks["n"].append(n[codes])
                blocks["a"].append(a[codes])
                if m is None:
                    blocks["m"].append(n_total - n[codes])
                    blocks["b"].append(theme_total - a[codes])
                else:
                    # a value new since the baseline (a new macro) is compared with the
                    # theme's overall baseline rate, not dropped for want of a reference
                    unseen = m[codes] == 0
                    blocks["m"].append(np.where(unseen, base_total, m[codes]))
                    blocks["b"].append(np.where(unseen, base_theme_total, b[codes]))
                blocks["pr"].append(np.full(codes.size, parent_rate))
        keys.extend(level_keys)
        if level == config.max_dims or not level_keys:
            break
        arr = {k: np.concatenate(v) for k, v in blocks.items()}
        parents = _next_beam(table, parents, level_keys, level_rows,
                             {k: v[level_start:] for k, v in arr.items()}, config)
        if not parents:
            break
    logger.debug("tested %d combinations over %d dimensions", len(keys), n_dims)
    arr = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in blocks.items()}
    arr["pr"] = _best_parent_rates(table, keys, arr["pr"])
    return SearchResult(keys, arr["n"], arr["a"], arr["m"], arr["b"], arr["pr"], n_total,
                        theme_total, base_total, base_theme_total)


def _best_parent_rates(table: CodedTable, keys: list[Key], found_under: np.ndarray) -> np.ndarray:
    """Shrinkage target of each combination: the highest current theme rate among its parents,
    so a child must beat its best parent, whichever parent the search found it under."""
    owner, parents = [], []
    for i, key in enumerate(keys):
        if len(key) >= 2:
            for parent in parent_keys(key):
                owner.append(i)
                parents.append(parent)
    rates = found_under.copy()
    if parents:
        n_p, a_p = count_current(table, parents)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(n_p > 0, a_p / np.maximum(n_p, 1), 0.0)
        best = np.full(len(keys), -1.0)
        np.maximum.at(best, np.asarray(owner), r)
        rates = np.where(best >= 0, best, rates)
    return rates


def _next_beam(table: CodedTable, parents: list, level_keys: list[Key],
               level_rows: list[tuple[int, int]], cols: dict[str, np.ndarray],
               config: RootCauseConfig) -> list[tuple[Key, np.ndarray, float]]:
    """The ``beam_width`` most promising combinations of a level, with their rows."""
    n, a, m, b, pr = (cols[k] for k in ("n", "a", "m", "b", "pr"))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_out = np.where(m > 0, b / np.maximum(m, 1), pr)
    shrunk = (a + config.prior_strength * pr) / (n + config.prior_strength)
    candidates = np.flatnonzero((a >= config.min_theme_count) & (shrunk > rate_out))
    if candidates.size == 0:
        return []
    p = fisher_greater(a[candidates], n[candidates], b[candidates], m[candidates])
    candidates = candidates[p < config.expand_alpha]
    # expand by the shrunk excess count: the theme records a combination could still explain
    excess = n * (shrunk - rate_out)
    order = sorted(candidates.tolist(), key=lambda i: (-excess[i], level_keys[i]))
    beam = []
    for i in order[: config.beam_width]:
        key = level_keys[i]
        p_idx, dim = level_rows[i]
        rows = parents[p_idx][1]
        code = dict(key)[dim]
        beam.append((key, rows[table.codes[rows, dim] == code], float(a[i] / n[i])))
    return beam


def adjust_pvalues(p: np.ndarray, method: str) -> np.ndarray:
    """Benjamini-Hochberg (``"bh"``) or Holm (``"holm"``) adjusted p-values, same order as ``p``."""
    p = np.asarray(p, dtype=float)
    k = p.size
    if k == 0:
        return p.copy()
    if method == "bh":
        return stats.false_discovery_control(p, method="bh")
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((k - np.arange(k)) * p[order])
    out = np.empty(k)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def combination_statistics(result: SearchResult, config: RootCauseConfig) -> dict[str, np.ndarray]:
    """Rates, risk ratio with its Katz interval, explanatory power, surprise, p / q-values and
    the ranking score of every tested combination (parallel arrays)."""
    n, a, m, b = result.support, result.theme_count, result.ref_size, result.ref_theme
    T = float(result.theme_total)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_in = np.where(n > 0, a / n, np.nan)
        rate_out = np.where(m > 0, b / m, np.nan)
        # Katz log interval; 0.5 added to every cell of a table with an empty cell
        zero = (a == 0) | (n - a == 0) | (b == 0) | (m - b == 0)
        cc = np.where(zero, 0.5, 0.0)
        a_c, n_c, b_c, m_c = a + cc, n + 2 * cc, b + cc, m + 2 * cc
        rr = (a_c / n_c) / (b_c / m_c)
        se = np.sqrt(1 / a_c - 1 / n_c + 1 / b_c - 1 / m_c)
    z = stats.norm.ppf(0.5 + config.confidence_level / 2)
    rr_low, rr_high = rr * np.exp(-z * se), rr * np.exp(z * se)
    ref_rate = np.where(np.isnan(rate_out), result.parent_rate, rate_out)

    if result.baseline_total:
        # Adtributor: forecast = current size x baseline rate; EP = excess / total excess
        total_excess = T - result.n_total * result.baseline_theme_total / result.baseline_total
        denom = total_excess if total_excess > 0 else T
        expected_share = (b / result.baseline_theme_total if result.baseline_theme_total
                          else m / result.baseline_total)
    else:
        denom = T
        expected_share = n / result.n_total if result.n_total else np.zeros_like(n)
    expected = n * ref_rate
    ep = (a - expected) / denom if denom > 0 else np.zeros_like(a)
    actual_share = a / T if T > 0 else np.zeros_like(a)
    surprise = _js_term(expected_share, actual_share)

    shrunk = (a + config.prior_strength * result.parent_rate) / (n + config.prior_strength)
    ep_shrunk = np.clip(n * (shrunk - ref_rate) / denom, 0, None) if denom > 0 else np.zeros_like(a)
    beta2 = config.score_beta ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (1 + beta2) * ep_shrunk * shrunk / (beta2 * shrunk + ep_shrunk)
    score = np.nan_to_num(score, nan=0.0)

    p = fisher_greater(a, n, b, m)
    return {
        "rate_in": rate_in, "rate_in_shrunk": shrunk, "rate_out": rate_out,
        "risk_ratio": rr, "rr_ci_low": rr_low, "rr_ci_high": rr_high,
        "expected_count": expected, "explanatory_power": ep, "surprise": surprise,
        "p_value": p, "q_value": adjust_pvalues(p, config.correction), "score": score,
    }


def _js_term(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Adtributor's surprise of one element: its term of the Jensen-Shannon divergence."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    mid = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.where(p > 0, p * np.log(p / mid), 0.0)
        tq = np.where(q > 0, q * np.log(q / mid), 0.0)
    return 0.5 * (tp + tq)


def count_current(table: CodedTable, keys: list[Key]) -> tuple[np.ndarray, np.ndarray]:
    """Current support and theme count of many combinations at once.

    Combinations over the same dimensions share one ``bincount`` of their mixed-radix code, so
    the cost is one pass over the rows per set of dimensions, not per combination.
    """
    support = np.zeros(len(keys))
    theme = np.zeros(len(keys))
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(tuple(d for d, _ in key), []).append(i)
    cur_cols, theme_cols = table.current_columns
    cur_w, theme_w = table.current_weights
    for dims, members in groups.items():
        if not dims:
            support[members], theme[members] = cur_w.sum(), theme_w.sum()
            continue
        shape = [len(table.labels[d]) + 1 for d in dims]
        size = int(np.prod(shape, dtype=np.int64))
        if size > 50_000_000:  # too many cells for a bincount: count key by key
            for i in members:
                mask = table.mask(keys[i]) & table.current
                support[i], theme[i] = table.total(mask), table.total(mask & table.in_theme)
            continue
        flat_all = np.zeros(len(cur_w), dtype=np.int64)
        flat_theme = np.zeros(len(theme_w), dtype=np.int64)
        cells = np.zeros(len(members), dtype=np.int64)
        for j, (d, width) in enumerate(zip(dims, shape)):
            flat_all = flat_all * width + cur_cols[d]
            flat_theme = flat_theme * width + theme_cols[d]
            cells = cells * width + np.array([keys[i][j][1] + 1 for i in members])
        support[members] = np.bincount(flat_all, weights=cur_w, minlength=size)[cells]
        theme[members] = np.bincount(flat_theme, weights=theme_w, minlength=size)[cells]
    return support, theme


def parent_keys(key: Key) -> list[Key]:
    """The combination minus one attribute, for each attribute."""
    return [key[:drop] + key[drop + 1:] for drop in range(len(key))]


def child_lift_pvalues(table: CodedTable, result: SearchResult,
                       indices: list[int]) -> tuple[np.ndarray, list[Key | None]]:
    """For each combination (by index into ``result``): the largest one-sided p-value that its
    current theme rate exceeds the rest of one of its parents (the combination minus one
    attribute), and that parent.

    Single attributes have no parent to be redundant with: ``(0.0, None)``.
    """
    owner, parents = [], []
    for j, i in enumerate(indices):
        key = result.keys[i]
        if len(key) >= 2:
            for parent in parent_keys(key):
                owner.append(j)
                parents.append(parent)
    cols = []
    if parents:
        n_p, a_p = count_current(table, parents)
        for j, n, a in zip(owner, n_p, a_p):
            i = indices[j]
            n_c, a_c = result.support[i], result.theme_count[i]
            cols.append((a_c, n_c, a - a_c, n - n_c))
    worst = np.zeros(len(indices))
    worst_parent: list[Key | None] = [None] * len(indices)
    if cols:
        arr = np.asarray(cols, dtype=float)
        pvals = fisher_greater(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
        worst[:] = -1.0
        for j, parent, p in zip(owner, parents, pvals):
            if p > worst[j]:
                worst[j], worst_parent[j] = p, parent
        worst = np.maximum(worst, 0.0)
    return worst, worst_parent

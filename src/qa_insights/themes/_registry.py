"""The theme registry: stable theme ids (``TH-0001``) across periods, with lineage and user edits.

Each period's themes are matched to the registry's live themes by centroid cosine similarity
with a one-to-one assignment (Hungarian algorithm) above ``match_threshold``: a matched theme
keeps its id, an unmatched one gets a new id. A new theme close to an old theme that another new
theme already continues is recorded as a *split*; an old theme absorbed by a new theme that
continues another is recorded as a *merge*. A registry centroid is the size-weighted mean of its
per-period centroids, stored per period, so re-running a period replaces exactly that period's
rows (idempotent) without drift.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.optimize import linear_sum_assignment

from ..errors import StateError
from ..store import StateStore
from ._config import ThemeConfig

__all__ = ["ThemeRegistry"]

logger = logging.getLogger(__name__)

_MD = sa.MetaData()
THEMES = sa.Table(
    "theme_registry", _MD,
    sa.Column("theme_id", sa.String(16), primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("keyword_label", sa.Text, nullable=False),
    sa.Column("keywords", sa.Text, nullable=False),  # JSON list
    sa.Column("user_label", sa.Boolean, nullable=False, default=False),
    sa.Column("pinned", sa.Boolean, nullable=False, default=False),
    sa.Column("merged_into", sa.String(16), nullable=True),
    sa.Column("created_period", sa.String(32), nullable=False),
)
PERIODS = sa.Table(
    "theme_periods", _MD,
    sa.Column("theme_id", sa.String(16), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("local_theme", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("similarity", sa.Float, nullable=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("centroid", sa.LargeBinary, nullable=False),  # float32 bytes
)
LINEAGE = sa.Table(
    "theme_lineage", _MD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("period", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # split | merge | user_merge
    sa.Column("source_id", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(16), nullable=False),
    sa.Column("similarity", sa.Float, nullable=True),
)
#: The last centroid of a user-edited theme (renamed, pinned, merged or merged into) whose
#: creation period was forgotten: when that period is processed again, the new theme closest
#: to it takes its id back, so the edit stays attached to the same failure.
ANCHORS = sa.Table(
    "theme_anchors", _MD,
    sa.Column("theme_id", sa.String(16), primary_key=True),
    sa.Column("period", sa.String(32), nullable=False),
    sa.Column("centroid", sa.LargeBinary, nullable=False),  # float32 bytes
)


class ThemeRegistry:
    """Stable ids for themes across periods, kept in a :class:`~qa_insights.store.StateStore`.

    Parameters
    ----------
    store : StateStore
        The state database; the registry's tables are created if missing.
    config : ThemeConfig, optional
        Uses ``match_threshold``, ``lineage_threshold`` and ``retire_after``.
    """

    def __init__(self, store: StateStore, config: ThemeConfig | None = None) -> None:
        self.store = store
        self.config = config or ThemeConfig()
        store.ensure(THEMES, PERIODS, LINEAGE, ANCHORS)

    # ------------------------------------------------------------------ monthly update
    def update(self, period: str, model) -> pd.DataFrame:
        """Match a fitted :class:`ThemeModel`'s themes for ``period`` to the registry.

        Re-running a period already processed replaces that period's rows.

        Returns
        -------
        DataFrame
            One row per local theme: ``theme, theme_id, status`` (``continued``, ``new`` or
            ``split``), ``similarity`` (to the matched or parent theme), ``label, size``.
        """
        period = str(period)
        themes = model.themes_
        cents = np.asarray(model.centroids_, dtype=np.float64)
        cfg = self.config
        with self.store.engine.begin() as conn:
            self._forget_period(conn, period)
            cand_ids, cand_cent = self._candidates(conn, period)
            n_new = len(cents)
            sim = (cents @ cand_cent.T) if len(cand_ids) and n_new else np.zeros((n_new, 0))
            match: dict[int, tuple[str, float]] = {}
            if sim.size:
                rows, cols = linear_sum_assignment(-sim)
                for r, c in zip(rows, cols):
                    if sim[r, c] >= cfg.match_threshold:
                        match[int(r)] = (cand_ids[c], float(sim[r, c]))
            reclaimed = self._reclaim(conn, period, cents, set(match))
            next_no, used = self._numbering(conn, period)
            out = []
            matched_old = {tid for tid, _ in match.values()}
            for t in range(n_new):
                row = themes.iloc[t]
                kw_label, label = str(row["keyword_label"]), str(row["label"])
                if t in match:
                    tid, s = match[t]
                    status = "continued"
                    self._refresh_label(conn, tid, label, kw_label, list(row["keywords"]))
                else:
                    if t in reclaimed:
                        tid = reclaimed[t]
                    else:
                        while next_no in used:  # kept by a user edit
                            next_no += 1
                        tid, next_no = f"TH-{next_no:04d}", next_no + 1
                    s, status = None, "new"
                    if sim.shape[1]:
                        c = int(np.argmax(sim[t]))
                        if sim[t, c] >= cfg.lineage_threshold and cand_ids[c] in matched_old:
                            s, status = float(sim[t, c]), "split"
                            conn.execute(LINEAGE.insert().values(
                                period=period, kind="split", source_id=cand_ids[c],
                                target_id=tid, similarity=s))
                    if t in reclaimed:
                        self._refresh_label(conn, tid, label, kw_label, list(row["keywords"]))
                    else:
                        conn.execute(THEMES.insert().values(
                            theme_id=tid, label=label, keyword_label=kw_label,
                            keywords=json.dumps(list(row["keywords"])), user_label=False,
                            pinned=False, merged_into=None, created_period=period))
                conn.execute(PERIODS.insert().values(
                    theme_id=tid, period=period, local_theme=t, size=int(row["size"]),
                    similarity=s, label=label,
                    centroid=np.asarray(cents[t], dtype=np.float32).tobytes()))
                out.append({"theme": t, "theme_id": tid, "status": status, "similarity": s,
                            "label": label, "size": int(row["size"])})
            # an old theme that vanished but sits close to a continuing new theme was absorbed
            new_of = {match[t][0]: t for t in match}
            for c, old in enumerate(cand_ids):
                if old in matched_old or not n_new:
                    continue
                t = int(np.argmax(sim[:, c]))
                if sim[t, c] >= cfg.lineage_threshold and t in match:
                    conn.execute(LINEAGE.insert().values(
                        period=period, kind="merge", source_id=old, target_id=match[t][0],
                        similarity=float(sim[t, c])))
            del new_of
        result = pd.DataFrame(out, columns=["theme", "theme_id", "status", "similarity",
                                            "label", "size"])
        logger.info("period %s: %d themes, %d continued, %d new", period, len(result),
                    int((result["status"] == "continued").sum()),
                    int((result["status"] != "continued").sum()))
        return result

    def rewind(self, from_period: str) -> list[str]:
        """Forget every period from ``from_period`` on (latest first), as if never processed.

        Processing periods in order after a rewind gives the ids a first run gave: user edits
        (labels, pins, merges) are kept, ids created in the forgotten periods are freed.

        Returns
        -------
        list of str
            The periods forgotten, in order.
        """
        with self.store.engine.begin() as conn:
            stored = sorted({r[0] for r in conn.execute(
                sa.select(PERIODS.c.period).where(PERIODS.c.period >= str(from_period))).all()})
            for period in reversed(stored):
                self._forget_period(conn, period)
        return stored

    # ------------------------------------------------------------------ user edits
    def rename(self, theme_id: str, label: str) -> None:
        """Give a theme a user label; later updates keep it."""
        if not label or not label.strip():
            raise ValueError("label must not be empty")
        with self.store.engine.begin() as conn:
            self._require(conn, theme_id)
            conn.execute(THEMES.update().where(THEMES.c.theme_id == theme_id)
                         .values(label=label.strip(), user_label=True))

    def pin(self, theme_id: str, pinned: bool = True) -> None:
        """Pin a theme: its label is kept and it is never retired."""
        with self.store.engine.begin() as conn:
            self._require(conn, theme_id)
            conn.execute(THEMES.update().where(THEMES.c.theme_id == theme_id)
                         .values(pinned=bool(pinned)))

    def merge(self, theme_ids: list[str], into: str) -> None:
        """Merge themes into ``into``: later periods match their joint history to ``into``."""
        with self.store.engine.begin() as conn:
            self._require(conn, into)
            target = conn.execute(sa.select(THEMES.c.merged_into)
                                  .where(THEMES.c.theme_id == into)).scalar()
            if target is not None:
                raise StateError(f"{into} is itself merged into {target}")
            period = conn.execute(sa.select(sa.func.max(PERIODS.c.period))).scalar() or ""
            for tid in theme_ids:
                if tid == into:
                    continue
                self._require(conn, tid)
                # themes already merged into ``tid`` follow it to ``into``
                conn.execute(THEMES.update().where(THEMES.c.merged_into == tid)
                             .values(merged_into=into))
                conn.execute(THEMES.update().where(THEMES.c.theme_id == tid)
                             .values(merged_into=into))
                conn.execute(LINEAGE.insert().values(period=period, kind="user_merge",
                                                     source_id=tid, target_id=into,
                                                     similarity=None))

    # ------------------------------------------------------------------ read
    def themes(self) -> pd.DataFrame:
        """Every theme with ``theme_id, label, keyword_label, keywords, status, pinned,
        merged_into, first_period, last_period, n_periods, total_size``."""
        with self.store.engine.connect() as conn:
            reg = pd.DataFrame(conn.execute(sa.select(THEMES)).mappings().all(),
                               columns=[c.name for c in THEMES.columns])
            hist = pd.DataFrame(conn.execute(sa.select(
                PERIODS.c.theme_id, PERIODS.c.period, PERIODS.c.size)).all(),
                columns=["theme_id", "period", "size"])
        periods = sorted(hist["period"].unique())
        latest = periods[-1] if periods else None
        agg = hist.groupby("theme_id").agg(first_period=("period", "min"),
                                           last_period=("period", "max"),
                                           n_periods=("period", "nunique"),
                                           total_size=("size", "sum"))
        out = reg.merge(agg, left_on="theme_id", right_index=True, how="left")
        out["keywords"] = out["keywords"].map(json.loads)
        out["status"] = [self._status(r, periods, latest) for r in out.itertuples()]
        cols = ["theme_id", "label", "keyword_label", "keywords", "status", "pinned",
                "merged_into", "first_period", "last_period", "n_periods", "total_size"]
        return out[cols].sort_values("theme_id", kind="stable").reset_index(drop=True)

    def history(self) -> pd.DataFrame:
        """Size of each theme in each period: ``theme_id, period, local_theme, size,
        similarity, label``."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(
                PERIODS.c.theme_id, PERIODS.c.period, PERIODS.c.local_theme, PERIODS.c.size,
                PERIODS.c.similarity, PERIODS.c.label)
                .order_by(PERIODS.c.period, PERIODS.c.theme_id)).all()
        return pd.DataFrame(rows, columns=["theme_id", "period", "local_theme", "size",
                                           "similarity", "label"])

    def lineage(self) -> pd.DataFrame:
        """Recorded splits, merges and user merges: ``period, kind, source_id, target_id,
        similarity``."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(LINEAGE.c.period, LINEAGE.c.kind,
                                          LINEAGE.c.source_id, LINEAGE.c.target_id,
                                          LINEAGE.c.similarity).order_by(LINEAGE.c.id)).all()
        return pd.DataFrame(rows, columns=["period", "kind", "source_id", "target_id",
                                           "similarity"])

    # ------------------------------------------------------------------ internals
    def _status(self, row, periods: list[str], latest: str | None) -> str:
        if isinstance(row.merged_into, str):  # pandas reads a missing one back as NaN
            return "merged"
        if not isinstance(row.last_period, str):
            return "dormant"
        if row.last_period == latest:
            return "active"
        since = sum(p > row.last_period for p in periods)
        if since >= self.config.retire_after and not row.pinned:
            return "retired"
        return "dormant"

    def _forget_period(self, conn, period: str) -> None:
        """Remove what an earlier run of ``period`` wrote, so a re-run replaces it.

        Themes created in ``period`` go, except those a user edited (renamed, pinned, merged or
        merged into): they stay, with their centroid of ``period`` kept as an anchor that the
        re-run gives their id back by (see :meth:`_reclaim`).
        """
        merge_targets = set(conn.execute(sa.select(THEMES.c.merged_into)
                                         .where(THEMES.c.merged_into.is_not(None))).scalars())
        created, edited = [], []
        for r in conn.execute(sa.select(THEMES).where(THEMES.c.created_period == period)).all():
            is_edited = (r.user_label or r.pinned or r.merged_into is not None
                         or r.theme_id in merge_targets)
            (edited if is_edited else created).append(r.theme_id)
        for tid in edited:
            row = conn.execute(sa.select(PERIODS.c.centroid).where(
                PERIODS.c.theme_id == tid, PERIODS.c.period == period)).first()
            if row is not None:
                conn.execute(ANCHORS.delete().where(ANCHORS.c.theme_id == tid))
                conn.execute(ANCHORS.insert().values(theme_id=tid, period=period,
                                                     centroid=row.centroid))
        conn.execute(PERIODS.delete().where(PERIODS.c.period == period))
        conn.execute(LINEAGE.delete().where(LINEAGE.c.period == period,
                                            LINEAGE.c.kind != "user_merge"))
        for tid in created:
            seen = conn.execute(sa.select(sa.func.count()).select_from(PERIODS)
                                .where(PERIODS.c.theme_id == tid)).scalar()
            referenced = conn.execute(sa.select(sa.func.count()).select_from(THEMES)
                                      .where(THEMES.c.merged_into == tid)).scalar()
            if not seen and not referenced:
                conn.execute(THEMES.delete().where(THEMES.c.theme_id == tid))

    def _candidates(self, conn, period: str) -> tuple[list[str], np.ndarray]:
        """Ids and centroids of the themes a new period may continue (not merged, not retired)."""
        reg = conn.execute(sa.select(THEMES.c.theme_id, THEMES.c.merged_into,
                                     THEMES.c.pinned)).all()
        # only earlier periods: matching must not look ahead (and a re-run must not drift)
        rows = conn.execute(sa.select(PERIODS.c.theme_id, PERIODS.c.period, PERIODS.c.size,
                                      PERIODS.c.centroid)
                            .where(PERIODS.c.period < period)).all()
        periods = sorted({r.period for r in rows})
        owner = {r.theme_id: (r.merged_into or r.theme_id) for r in reg}
        pinned = {r.theme_id: bool(r.pinned) for r in reg}
        sums: dict[str, np.ndarray] = {}
        last: dict[str, str] = {}
        for r in rows:
            tid = owner.get(r.theme_id, r.theme_id)
            vec = np.frombuffer(r.centroid, dtype=np.float32).astype(np.float64)
            sums[tid] = sums.get(tid, 0) + max(r.size, 1) * vec
            last[tid] = max(last.get(tid, ""), r.period)
        ids = []
        for tid in sorted(sums):
            since = sum(p > last[tid] for p in periods if p != period)
            if since >= self.config.retire_after and not pinned.get(tid, False):
                continue
            ids.append(tid)
        if not ids:
            return [], np.zeros((0, 0))
        cent = np.stack([sums[t] for t in ids])
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        return ids, cent

    def _refresh_label(self, conn, tid: str, label: str, kw_label: str,
                       keywords: list[str]) -> None:
        values = {"keyword_label": kw_label, "keywords": json.dumps(keywords)}
        user = conn.execute(sa.select(THEMES.c.user_label, THEMES.c.pinned)
                            .where(THEMES.c.theme_id == tid)).first()
        if not (user.user_label or user.pinned):
            values["label"] = label
        conn.execute(THEMES.update().where(THEMES.c.theme_id == tid).values(**values))

    def _reclaim(self, conn, period: str, cents: np.ndarray,
                 matched: set[int]) -> dict[int, str]:
        """Local themes of ``period`` (not matched to an earlier theme) that take back the id of
        a user-edited theme first seen in ``period`` before it was forgotten: one-to-one by
        centroid similarity above ``match_threshold``. Used anchors are dropped."""
        rows = conn.execute(sa.select(ANCHORS).where(ANCHORS.c.period == period)
                            .order_by(ANCHORS.c.theme_id)).all()
        free = [t for t in range(len(cents)) if t not in matched]
        if not rows or not free:
            return {}
        anchor = np.stack([np.frombuffer(r.centroid, dtype=np.float32).astype(np.float64)
                           for r in rows])
        anchor /= np.maximum(np.linalg.norm(anchor, axis=1, keepdims=True), 1e-12)
        sim = cents[free] @ anchor.T
        out: dict[int, str] = {}
        for i, j in zip(*linear_sum_assignment(-sim)):
            if sim[i, j] >= self.config.match_threshold:
                out[free[i]] = rows[j].theme_id
        if out:
            conn.execute(ANCHORS.delete().where(ANCHORS.c.theme_id.in_(list(out.values()))))
        return out

    @staticmethod
    def _numbering(conn, period: str) -> tuple[int, set[int]]:
        """First number for ``period``'s new themes, and the numbers in use (to skip).

        The first number comes after every theme created before ``period``, so a period
        processed again after a rewind gives its new themes the numbers it gave them the first
        time; themes kept by a user edit hold on to theirs.
        """
        rows = conn.execute(sa.select(THEMES.c.theme_id, THEMES.c.created_period)).all()
        start = max((int(r.theme_id.split("-")[1]) for r in rows if r.created_period < period),
                    default=0) + 1
        return start, {int(r.theme_id.split("-")[1]) for r in rows}

    @staticmethod
    def _require(conn, theme_id: str) -> None:
        if conn.execute(sa.select(THEMES.c.theme_id)
                        .where(THEMES.c.theme_id == theme_id)).first() is None:
            raise StateError(f"unknown theme id {theme_id!r}")

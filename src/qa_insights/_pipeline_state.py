"""What the batch job keeps between runs besides the theme registry and the embedding cache.

Each processed record's theme and policy area (ids and labels only, never text) is kept per
period, so that a later run's trends see the earlier months exactly as they were assigned, and
re-running a period replaces that period's rows instead of adding to them.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from .store import StateStore

__all__ = ["ASSIGNMENTS", "save_period_assignments", "load_assignments", "forget_from"]

_MD = sa.MetaData()
ASSIGNMENTS = sa.Table(
    "run_assignments", _MD,
    sa.Column("record_id", sa.String(256), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("theme_id", sa.String(16), nullable=True),
    sa.Column("qa_result", sa.String(8), nullable=True),
    sa.Column("policy_area", sa.String(64), nullable=True),
)
_COLUMNS = [c.name for c in ASSIGNMENTS.columns]


def save_period_assignments(store: StateStore, period: str, frame: pd.DataFrame) -> None:
    """Replace the stored assignments of ``period`` with ``frame``'s (one transaction)."""
    store.ensure(ASSIGNMENTS)
    rows = [
        {col: (None if pd.isna(value) else str(value)) for col, value in zip(_COLUMNS, row)}
        for row in frame[_COLUMNS].itertuples(index=False, name=None)
    ]
    with store.engine.begin() as conn:
        conn.execute(ASSIGNMENTS.delete().where(ASSIGNMENTS.c.period == period))
        if rows:
            conn.execute(ASSIGNMENTS.insert(), rows)


def load_assignments(store: StateStore, up_to: str | None = None) -> pd.DataFrame:
    """Stored assignments of every period (up to and including ``up_to``), in period order."""
    store.ensure(ASSIGNMENTS)
    query = sa.select(ASSIGNMENTS).order_by(ASSIGNMENTS.c.period, ASSIGNMENTS.c.record_id)
    if up_to is not None:
        query = query.where(ASSIGNMENTS.c.period <= up_to)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=_COLUMNS).astype("string")


def forget_from(store: StateStore, period: str) -> None:
    """Drop the stored assignments of ``period`` and every later period."""
    store.ensure(ASSIGNMENTS)
    with store.engine.begin() as conn:
        conn.execute(ASSIGNMENTS.delete().where(ASSIGNMENTS.c.period >= period))

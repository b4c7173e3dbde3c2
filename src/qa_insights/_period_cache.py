"""Results of each processed period, kept so that an unchanged period is never computed twice.

A period's *digest* is a sha256 over everything its results depend on: the digest of the period
before it (so a change in an earlier month invalidates every later one), the library version,
the whole pipeline config, the embedding model's fingerprint, the policy taxonomy, the user's
edits to the theme registry, and every value of every record in the period, in order. When a run
finds a period whose stored digest equals the one it computes, it takes that period's stored
tables instead of embedding, classifying and clustering it again; the outputs are the same, because
the inputs are.

Tables are stored as Parquet bytes (no pickle). The digest row of a period is written in the same
transaction as its tables, so a run killed half-way leaves either a complete period or none.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from .store import StateStore

__all__ = ["PERIOD_DIGESTS", "PERIOD_RESULTS", "frame_digest", "chain_digest", "context_digest",
           "stored_digests",
           "save_period_results", "load_period_results", "forget_results_from"]

_MD = sa.MetaData()
PERIOD_DIGESTS = sa.Table(
    "run_period_digests", _MD,
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
)
PERIOD_RESULTS = sa.Table(
    "run_period_results", _MD,
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # Parquet bytes
)
_NA = "\x00<NA>"


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes and every value, in row order."""
    digest = hashlib.sha256()
    for name in frame.columns:
        col = frame[name]
        digest.update(f"\x1d{name}\x1f{col.dtype}\x1f{len(col)}\x1f".encode())
        # str() of a float round-trips exactly; NA gets a marker no text can hold
        values = col.astype("object").where(col.notna(), _NA)
        digest.update("\x1e".join(map(str, values.tolist())).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def chain_digest(previous: str, context: str, records: pd.DataFrame) -> str:
    """The digest of one period from the one before it, the run context and its records."""
    digest = hashlib.sha256()
    for part in (previous, context, frame_digest(records)):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def context_digest(parts: Mapping[str, object]) -> str:
    """sha256 of a JSON-serialisable mapping (keys sorted)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_digests(store: StateStore) -> dict[str, str]:
    """Period -> digest of every period whose results are stored."""
    store.ensure(PERIOD_DIGESTS, PERIOD_RESULTS)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(PERIOD_DIGESTS.c.period, PERIOD_DIGESTS.c.digest)).all()
    return {str(p): str(d) for p, d in rows}


def save_period_results(store: StateStore, period: str, digest: str,
                        tables: Mapping[str, pd.DataFrame]) -> None:
    """Replace ``period``'s stored tables and digest (one transaction)."""
    store.ensure(PERIOD_DIGESTS, PERIOD_RESULTS)
    rows = [{"period": period, "kind": kind, "payload": _to_parquet(frame)}
            for kind, frame in tables.items()]
    with store.engine.begin() as conn:
        conn.execute(PERIOD_RESULTS.delete().where(PERIOD_RESULTS.c.period == period))
        conn.execute(PERIOD_DIGESTS.delete().where(PERIOD_DIGESTS.c.period == period))
        if rows:
            conn.execute(PERIOD_RESULTS.insert(), rows)
        conn.execute(PERIOD_DIGESTS.insert().values(period=period, digest=digest))


def load_period_results(store: StateStore, period: str,
                        kinds: Iterable[str]) -> dict[str, pd.DataFrame]:
    """``period``'s stored tables of the given kinds (a kind not stored raises ``KeyError``)."""
    store.ensure(PERIOD_DIGESTS, PERIOD_RESULTS)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(PERIOD_RESULTS.c.kind, PERIOD_RESULTS.c.payload)
                            .where(PERIOD_RESULTS.c.period == period)).all()
    found = {str(kind): bytes(payload) for kind, payload in rows}
    return {kind: pd.read_parquet(io.BytesIO(found[kind])) for kind in kinds}


def forget_results_from(store: StateStore, period: str) -> None:
    """Drop the stored results and digests of ``period`` and every later period."""
    store.ensure(PERIOD_DIGESTS, PERIOD_RESULTS)
    with store.engine.begin() as conn:
        conn.execute(PERIOD_RESULTS.delete().where(PERIOD_RESULTS.c.period >= period))
        conn.execute(PERIOD_DIGESTS.delete().where(PERIOD_DIGESTS.c.period >= period))


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # uncompressed, so a scan of the state file for personal data sees every stored text
    frame.to_parquet(buffer, index=False, compression=None)
    return buffer.getvalue()

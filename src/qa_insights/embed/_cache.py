"""On-disk embedding cache: (model fingerprint, sha256 of text) -> float32 vector.

The cache lives in the project's state database (:class:`qa_insights.store.StateStore`: a SQLite
file or any SQLAlchemy URL), so a re-run of a month, or a month that repeats comments, only embeds
what is new. It holds hashes, vectors and token counts only, never the text itself.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from ..errors import StateError
from ..store import StateStore

__all__ = ["EmbeddingCache"]

logger = logging.getLogger(__name__)

_METADATA = sa.MetaData()

#: one row per (fingerprint, text hash); ``n_tokens`` is the untruncated wordpiece count, kept so
#: that a warm run can still say how many of its texts were truncated.
_VECTORS = sa.Table(
    "embed_cache",
    _METADATA,
    sa.Column("fingerprint", sa.String(128), primary_key=True),
    sa.Column("text_sha256", sa.String(64), primary_key=True),
    sa.Column("n_tokens", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

#: the vector dimension each fingerprint was first stored with; a mismatch is a foreign cache
_FINGERPRINTS = sa.Table(
    "embed_cache_fingerprints",
    _METADATA,
    sa.Column("fingerprint", sa.String(128), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
)

_EXPECTED_COLUMNS = {
    _VECTORS.name: {c.name for c in _VECTORS.columns},
    _FINGERPRINTS.name: {c.name for c in _FINGERPRINTS.columns},
}

# SQLite allows 32766 bound parameters since 3.32; stay far below for other databases
_LOOKUP_CHUNK = 2000
_INSERT_CHUNK = 5000


class EmbeddingCache:
    """Embedding vectors on disk, keyed by model fingerprint and text hash.

    Parameters
    ----------
    target : str, path-like or StateStore
        A SQLite file path, a SQLAlchemy URL, or an open :class:`~qa_insights.store.StateStore`
        (the pipeline passes its state database).
    rebuild_if_corrupt : bool, default False
        For a SQLite *file* that is not a usable database: move it aside to
        ``<name>.corrupt-<unix time>`` and start an empty cache, with a warning. Off by default
        because the file may be the whole state database; then a :class:`StateError` is raised.

    Raises
    ------
    StateError
        The target is corrupt or holds tables of the same name with another layout.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> cache = EmbeddingCache(os.path.join(tempfile.mkdtemp(), "cache.db"))
    >>> cache.put("fp", ["ab" * 32], np.ones((1, 3), np.float32), [5])
    >>> cache.get("fp", ["ab" * 32], dim=3)[0]["ab" * 32]
    array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, target: str | os.PathLike | StateStore, *,
                 rebuild_if_corrupt: bool = False) -> None:
        self.rebuild_if_corrupt = rebuild_if_corrupt
        if isinstance(target, StateStore):
            self.store = target
            self._owns_store = False
        else:
            self.store = self._open(target)
            self._owns_store = True
        self._dims: dict[str, int] = {}
        try:
            self._check_layout()
            self.store.ensure(_VECTORS, _FINGERPRINTS)
        except sa.exc.DatabaseError as exc:
            raise StateError(f"{self.store.url}: embedding cache unusable ({exc.orig})") from exc

    def _open(self, target) -> StateStore:
        try:
            return StateStore(target)
        except StateError:
            text = os.fspath(target)
            if not self.rebuild_if_corrupt or "://" in text:
                raise
            path = Path(text).expanduser().resolve()
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            warnings.warn(
                f"embedding cache {path} was not a usable database; moved it to {aside} and "
                "started an empty cache (texts will be embedded again)",
                RuntimeWarning, stacklevel=3,
            )
            return StateStore(path)

    def _check_layout(self) -> None:
        inspector = sa.inspect(self.store.engine)
        present = set(inspector.get_table_names())
        for name, expected in _EXPECTED_COLUMNS.items():
            if name not in present:
                continue
            found = {col["name"] for col in inspector.get_columns(name)}
            if found != expected:
                raise StateError(
                    f"{self.store.url}: table {name!r} has columns {sorted(found)}, expected "
                    f"{sorted(expected)}; this is not a qa_insights embedding cache of this "
                    "version (use another state file or drop that table)"
                )

    # ------------------------------------------------------------------ fingerprints
    def _stored_dim(self, conn, fingerprint: str) -> int | None:
        if fingerprint not in self._dims:
            row = conn.execute(sa.select(_FINGERPRINTS.c.dim)
                               .where(_FINGERPRINTS.c.fingerprint == fingerprint)).first()
            if row is None:
                return None
            self._dims[fingerprint] = int(row[0])
        return self._dims[fingerprint]

    def _check_dim(self, conn, fingerprint: str, dim: int) -> None:
        stored = self._stored_dim(conn, fingerprint)
        if stored is not None and stored != dim:
            raise StateError(
                f"{self.store.url}: embedding cache holds {stored}-dimensional vectors for model "
                f"fingerprint {fingerprint!r} but {dim}-dimensional ones were asked for; the cache "
                "was written by another model under the same fingerprint — clear it"
            )

    # ------------------------------------------------------------------ public API
    def get(self, fingerprint: str, hashes: Sequence[str], dim: int
            ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        """Cached vectors for ``hashes`` (text sha256 hex digests) under ``fingerprint``.

        Returns
        -------
        vectors : dict
            Hash -> float32 vector of length ``dim``, for the hashes found.
        n_tokens : dict
            Hash -> untruncated wordpiece count, for the same hashes.

        Raises
        ------
        StateError
            A stored vector does not have ``dim`` float32 values, or the database is unusable.
        """
        vectors: dict[str, np.ndarray] = {}
        n_tokens: dict[str, int] = {}
        if not hashes:
            return vectors, n_tokens
        nbytes = 4 * dim
        try:
            with self.store.engine.connect() as conn:
                self._check_dim(conn, fingerprint, dim)
                for start in range(0, len(hashes), _LOOKUP_CHUNK):
                    chunk = list(hashes[start:start + _LOOKUP_CHUNK])
                    rows = conn.execute(
                        sa.select(_VECTORS.c.text_sha256, _VECTORS.c.n_tokens, _VECTORS.c.vector)
                        .where(_VECTORS.c.fingerprint == fingerprint,
                               _VECTORS.c.text_sha256.in_(chunk))
                    )
                    for digest, count, blob in rows:
                        if len(blob) != nbytes:
                            raise StateError(
                                f"{self.store.url}: cached vector for fingerprint {fingerprint!r} "
                                f"has {len(blob)} bytes, expected {nbytes} ({dim} float32); the "
                                "cache is corrupt or foreign — clear it"
                            )
                        vectors[digest] = np.frombuffer(blob, dtype="<f4")
                        n_tokens[digest] = int(count)
        except sa.exc.DatabaseError as exc:
            raise StateError(f"{self.store.url}: embedding cache unusable ({exc.orig})") from exc
        return vectors, n_tokens

    def put(self, fingerprint: str, hashes: Sequence[str], vectors: np.ndarray,
            n_tokens: Iterable[int]) -> None:
        """Store ``vectors`` (one row per hash) under ``fingerprint``; existing keys are kept."""
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        n_tokens = [int(n) for n in n_tokens]
        if vectors.ndim != 2 or vectors.shape[0] != len(hashes) or len(n_tokens) != len(hashes):
            raise ValueError("put needs one vector row and one token count per hash")
        if not hashes:
            return
        dim = int(vectors.shape[1])
        rows = [
            {"fingerprint": fingerprint, "text_sha256": h, "n_tokens": n, "vector": v.tobytes()}
            for h, n, v in zip(hashes, n_tokens, vectors)
        ]
        try:
            with self.store.engine.begin() as conn:
                self._check_dim(conn, fingerprint, dim)
                if self._stored_dim(conn, fingerprint) is None:
                    conn.execute(self._insert_ignore(_FINGERPRINTS),
                                 [{"fingerprint": fingerprint, "dim": dim}])
                    self._dims[fingerprint] = dim
                    self._check_dim(conn, fingerprint, dim)
                stmt = self._insert_ignore(_VECTORS)
                for start in range(0, len(rows), _INSERT_CHUNK):
                    conn.execute(stmt, rows[start:start + _INSERT_CHUNK])
        except sa.exc.DatabaseError as exc:
            raise StateError(f"{self.store.url}: embedding cache unusable ({exc.orig})") from exc

    def _insert_ignore(self, table: sa.Table):
        # another process may have stored the same text meanwhile; the vector is the same
        dialect = self.store.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
            return insert(table).on_conflict_do_nothing()
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
            return insert(table).on_conflict_do_nothing()
        return table.insert().prefix_with("IGNORE") if dialect == "mysql" else table.insert()

    def count(self, fingerprint: str | None = None) -> int:
        """Number of cached vectors (for one fingerprint, or all)."""
        stmt = sa.select(sa.func.count()).select_from(_VECTORS)
        if fingerprint is not None:
            stmt = stmt.where(_VECTORS.c.fingerprint == fingerprint)
        with self.store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def clear(self, fingerprint: str | None = None) -> None:
        """Drop cached vectors (of one fingerprint, or all)."""
        with self.store.engine.begin() as conn:
            for table in (_VECTORS, _FINGERPRINTS):
                stmt = table.delete()
                if fingerprint is not None:
                    stmt = stmt.where(table.c.fingerprint == fingerprint)
                conn.execute(stmt)
        self._dims.clear()

    def close(self) -> None:
        """Release the database connection (only when this cache opened it)."""
        if self._owns_store:
            self.store.close()

    def __deepcopy__(self, memo) -> "EmbeddingCache":
        # sklearn.clone deep-copies non-estimator parameters; a cache is a shared resource
        return self

    def __repr__(self) -> str:
        return f"EmbeddingCache({self.store!r})"

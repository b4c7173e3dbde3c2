"""The embedded database that holds state between runs.

A run's state (embedding cache, theme registry, theme history, flags already raised) lives in
one database: a SQLite file by default, or any SQLAlchemy URL (``--state``). Each stage module
declares and creates its own tables through :meth:`StateStore.ensure`; this module only opens the
database, stamps it with a format version and refuses databases of another format.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa

from .errors import StateError

__all__ = ["StateStore", "STATE_FORMAT_VERSION", "to_url"]

logger = logging.getLogger(__name__)

#: Bumped whenever a table changes in a way older code cannot read.
STATE_FORMAT_VERSION = 1

_META = sa.Table(
    "qa_insights_meta",
    sa.MetaData(),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def to_url(target: str | os.PathLike) -> str:
    """A SQLAlchemy URL for ``target``: a URL is kept, a file path becomes ``sqlite:///path``."""
    text = os.fspath(target)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class StateStore:
    """An open state database.

    Parameters
    ----------
    target : str or path-like
        A SQLAlchemy URL (``sqlite:///state.db``, ``postgresql://…``) or a file path for SQLite.

    Raises
    ------
    StateError
        The target is not a database, or it is a qa_insights database of another format.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.url = to_url(target)
        try:
            self.engine = sa.create_engine(self.url, future=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.begin() as conn:
                _META.create(conn, checkfirst=True)
                row = conn.execute(
                    sa.select(_META.c.value).where(_META.c.key == "format_version")
                ).first()
                if row is None:
                    conn.execute(_META.insert().values(key="format_version",
                                                       value=str(STATE_FORMAT_VERSION)))
                elif row[0] != str(STATE_FORMAT_VERSION):
                    raise StateError(
                        f"{self.url}: state format version {row[0]} but this qa_insights reads "
                        f"version {STATE_FORMAT_VERSION}; use a new state file or migrate it"
                    )
        except sa.exc.DatabaseError as exc:
            raise StateError(f"{self.url}: not a usable state database ({exc.orig})") from exc

    def ensure(self, *tables: sa.Table) -> None:
        """Create ``tables`` if they are not there yet."""
        with self.engine.begin() as conn:
            for table in tables:
                table.create(conn, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "StateStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({self.engine.url.render_as_string(hide_password=True)!r})"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()

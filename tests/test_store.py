"""Tests of qa_insights.store: opening, stamping and refusing state databases."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from qa_insights.errors import StateError
from qa_insights.store import STATE_FORMAT_VERSION, StateStore, to_url


def test_path_becomes_sqlite_url(tmp_path):
    url = to_url(tmp_path / "deep" / "state.db")
    assert url.startswith("sqlite:///") and url.endswith("state.db")
    assert (tmp_path / "deep").is_dir()
    assert to_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_new_store_is_stamped_and_reopens(tmp_path):
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        table = sa.Table("t", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True))
        store.ensure(table)
        store.ensure(table)  # idempotent
        with store.engine.begin() as conn:
            conn.execute(table.insert().values(k=1))
    with StateStore(path) as store, store.engine.connect() as conn:
        version = conn.execute(sa.text("select value from qa_insights_meta "
                                       "where key='format_version'")).scalar_one()
        assert version == str(STATE_FORMAT_VERSION)
        assert conn.execute(sa.text("select k from t")).scalar_one() == 1


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "state.db"
    StateStore(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("update qa_insights_meta set value='999' where key='format_version'"))
    engine.dispose()
    with pytest.raises(StateError, match="format version 999"):
        StateStore(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StateError, match="not a usable state database"):
        StateStore(path)

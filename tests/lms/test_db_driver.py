"""`lms.core.driver.execute` gives what SQLAlchemy's `Connection.execute` gives (on PostgreSQL it runs the
statement on psycopg's cursor; on SQLite it is SQLAlchemy's own path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from lms.core import driver as db_driver
from lms.core.db import UTCDateTime
from lms.reading.models import Assessment

# Labelled columns of several types: text, integer, float, nullable float, JSON list, timestamp.
_SELECT: Any = (
    select(
        col(Assessment.id).label("id"),
        col(Assessment.title).label("title"),
        col(Assessment.max_items).label("max_items"),
        col(Assessment.pilot_rate).label("pilot_rate"),
        col(Assessment.se_target).label("se_target"),
        col(Assessment.skills).label("skills"),
        col(Assessment.created_at).label("created_at"),
    )
    .where(col(Assessment.id) >= bindparam("p_from", type_=Integer()))
    .order_by(col(Assessment.id))
)
_INSERT = insert(Assessment.__table__).values(  # type: ignore[attr-defined]
    title=bindparam("p_title"),
    kind="cat",  # a literal bound by the statement itself
    skills=bindparam("p_skills"),
    min_items=3,
    max_items=bindparam("p_max", type_=Integer()),
    item_ids=[],
    pilot_rate=0.0,
    created_at=bindparam("p_at", type_=UTCDateTime()),
)
_INSERT_WITH_ID = _INSERT.values(id=bindparam("p_id", type_=Integer()))


def test_rows_and_values_are_those_of_sqlalchemy(engine: Engine) -> None:
    tokyo = datetime(2026, 4, 8, 18, 30, tzinfo=timezone(timedelta(hours=9)))  # goes in with +09:00
    with engine.begin() as connection:
        for k, skills in enumerate((["照応解決"], ["係り受け", "推論"])):
            db_driver.execute(
                connection,
                _INSERT,
                {"p_title": f"テスト{k}", "p_skills": skills, "p_max": 10 + k, "p_at": tokyo},
            )
        ours = db_driver.execute(connection, _SELECT, {"p_from": 0})
        theirs = connection.execute(_SELECT, {"p_from": 0}).all()
    assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
    assert [row.skills for row in ours] == [["照応解決"], ["係り受け", "推論"]]
    assert ours[1].title == "テスト1" and ours[1].max_items == 11 and ours[1].se_target is None
    assert ours[0].created_at == tokyo and ours[0].created_at.utcoffset() == timedelta(0)  # out as UTC
    assert isinstance(ours[0].pilot_rate, float)


def test_writes_on_a_fresh_connection_are_committed_by_its_commit(engine: Engine) -> None:
    """The driver's statement begins SQLAlchemy's transaction as `Connection.execute` would (without it,
    `commit()` would do nothing and the connection's return to the pool would roll the write back)."""
    at = datetime(2026, 4, 8, 9, 30, tzinfo=UTC)
    with engine.connect() as connection:
        db_driver.execute(connection, _INSERT, {"p_title": "保存", "p_skills": [], "p_max": 5, "p_at": at})
        connection.commit()
    with engine.connect() as other:
        assert [row.title for row in db_driver.execute(other, _SELECT, {"p_from": 0})] == ["保存"]


def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    at = datetime(2026, 4, 8, 9, 30, tzinfo=UTC)
    params = {"p_id": 4242, "p_title": "同じ番号", "p_skills": [], "p_max": 5, "p_at": at}
    with engine.connect() as connection:
        db_driver.execute(connection, _INSERT_WITH_ID, params)
        with pytest.raises(IntegrityError):  # the same primary key again
            db_driver.execute(connection, _INSERT_WITH_ID, params)
        connection.rollback()


@pytest.mark.postgresql_only
def test_a_lost_connection_is_invalidated_and_replaced(engine: Engine) -> None:
    """As with `Connection.execute`: the error says the connection was invalidated, the rollback does not
    fail again on the dead socket, and the pool hands out a working connection next."""
    from sqlalchemy.exc import OperationalError

    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.commit()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            other.commit()
        with pytest.raises(OperationalError) as raised:
            db_driver.execute(connection, _SELECT, {"p_from": 0})
        assert raised.value.connection_invalidated and connection.invalidated
        connection.rollback()
    with engine.connect() as fresh:
        assert db_driver.execute(fresh, _SELECT, {"p_from": 0}) == []

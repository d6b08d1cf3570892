"""Run a few hot-path statements on the database driver's own cursor, inside SQLAlchemy's transaction.

SQLAlchemy's per-statement work (execution context, cached-statement lookup, result metadata built from
the cursor's description: one psycopg ``Column`` object per column per statement) costs as much CPU as
the rest of an answer's statement.  For the answer path on PostgreSQL, `execute` compiles a statement once
per dialect and then runs it with psycopg directly, applying the same bind and result processors
SQLAlchemy would (so values go in and come out exactly as through `Connection.execute`).  Other dialects
take SQLAlchemy's own path.  The transaction is the connection's: commit and rollback stay SQLAlchemy's.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any]


@dataclass
class _Compiled:
    sql: str
    bind_processors: dict[str, Processor]
    literals: dict[str, Any]  # values bound by the statement itself (e.g. ``tries=0``), processed
    row: Any  # a namedtuple class with the result's labels, or None (no rows)
    result_types: tuple[Any, ...]  # the selected columns' SQLAlchemy types
    # Filled at the first run: result processors need the driver's type codes (from the cursor).
    result_processors: tuple[tuple[int, Processor], ...] | None = None


# Keyed by the statement object itself (held here, so its identity is never reused) and the dialect.
_compiled: dict[tuple[Executable, str], _Compiled] = {}


def execute(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
    """Run ``statement`` with ``params`` in ``connection``'s transaction; its rows (attributes named by the
    statement's labels), or ``[]`` for a statement that returns none.  ``statement`` must be built once
    (a module constant): its compiled form is cached by identity.  Errors are SQLAlchemy's (e.g.
    `sqlalchemy.exc.IntegrityError`), as from `Connection.execute`."""
    if connection.dialect.driver != "psycopg":
        result = connection.execute(statement, dict(params))
        return result.all() if result.returns_rows else []
    if not connection.in_transaction():
        connection.begin()  # SQLAlchemy's autobegin, as `Connection.execute` does: commit() then commits
    dialect = connection.dialect
    compiled = _compile(statement, dialect)
    values = dict(compiled.literals)
    for name, value in params.items():
        process = compiled.bind_processors.get(name)
        values[name] = value if process is None else process(value)
    driver: Any = connection.connection.driver_connection
    dbapi = dialect.loaded_dbapi
    try:
        cursor = driver.execute(compiled.sql, values)
        rows = cursor.fetchall() if compiled.row is not None else []
    except dbapi.Error as error:  # as SQLAlchemy raises it: IntegrityError for a unique violation, …
        # A lost connection is invalidated as `Connection.execute` would (the pool replaces it, and the
        # caller's rollback does not fail a second time on the dead socket).
        lost = dialect.is_disconnect(error, driver, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            compiled.sql, values, error, dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from error
    if compiled.row is None:
        return []
    if compiled.result_processors is None:
        codes = [column.type_code for column in cursor.description]
        compiled.result_processors = tuple(
            (index, process)
            for index, (type_, code) in enumerate(zip(compiled.result_types, codes, strict=True))
            if (process := type_._cached_result_processor(dialect, code)) is not None
        )
    if compiled.result_processors:
        converted = [list(row) for row in rows]
        for row in converted:
            for index, process in compiled.result_processors:
                row[index] = process(row[index])
        rows = converted
    return [compiled.row._make(row) for row in rows]


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    key = (statement, dialect.name)
    found = _compiled.get(key)
    if found is not None:
        return found
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    processors: dict[str, Processor] = {}
    literals: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        process = bind.type._cached_bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if not bind.required:
            value = bind.effective_value
            literals[name] = value if process is None else process(value)
    columns = compiled._result_columns  # (keyname, name, objects, type) per selected column
    row = namedtuple("Row", [c[0] for c in columns]) if columns else None
    found = _Compiled(compiled.string, processors, literals, row, tuple(c[3] for c in columns))
    _compiled[key] = found
    return found

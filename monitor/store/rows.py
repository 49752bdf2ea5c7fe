"""Plain SQL for the statements every batch or due action runs (items, signals, the engine's
writes, the response clocks' reads and writes), in the driver's own parameter style.

SQLAlchemy's expression layer builds, caches and converts every statement and parameter in
Python; for a batch of items that costs more than the database's own work. The statements here
are portable (SQLite and PostgreSQL), convert values as SQLAlchemy's column types do, and run in
the transaction of the connection given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Table

from monitor.errors import StoreError

_CHUNK = 400  # pairs per statement: 800 parameters stay under every SQLite's limit


def placeholder(conn: Connection) -> str:
    return _mark(conn.dialect.paramstyle)


def _mark(style: str) -> str:
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise StoreError(f"the database driver's parameter style {style!r} is not supported; use "
                     "SQLite or PostgreSQL with psycopg")


def bind_processor(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to this column's values (aware datetimes to UTC)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process if process is not None else _same


def result_processor(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to this column's values read back (to aware UTC)."""
    return _read_as(conn.dialect, column, None)


def _read_as(dialect: Dialect, column: Column[Any], code: Any) -> Callable[[Any], Any]:
    """``code``: the driver's type code of the column in a result (PostgreSQL's numeric types
    are read by theirs), or None."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, code)
    return process if process is not None else _same


def rows_where(conn: Connection, key: Column[Any], value: Any) -> list[dict[str, Any]]:
    """Every column of the rows whose ``key`` holds ``value``, by name, converted as
    SQLAlchemy reads them."""
    sql, names = _select_where(conn.dialect, key.table, key.name)
    result = conn.exec_driver_sql(sql, (value,))
    codes = tuple(column[1] for column in result.cursor.description)
    readers = _readers(conn.dialect, key.table, codes)
    return [{name: read(v) for name, read, v in zip(names, readers, row, strict=True)}
            for row in result]


@cache
def _select_where(dialect: Dialect, table: Table, key: str) -> tuple[str, list[str]]:
    names = [c.name for c in table.c]
    # names from the schema, the value as a parameter
    sql = (f"SELECT {', '.join(names)} FROM {table.name} "  # noqa: S608
           f"WHERE {key} = {_mark(dialect.paramstyle)}")
    return sql, names


@cache
def _readers(dialect: Dialect, table: Table, codes: tuple[Any, ...]
             ) -> list[Callable[[Any], Any]]:
    """Each column's conversion, made once per table and set of result types."""
    return [_read_as(dialect, c, code) for c, code in zip(table.c, codes, strict=True)]


def _same(value: Any) -> Any:
    return value


def converter(conn: Connection, columns: Sequence[Column[Any]]
              ) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A row for these columns from a mapping of their names to values, converted as
    SQLAlchemy converts them."""
    steps = [(c.name, bind_processor(conn, c)) for c in columns]

    def convert(values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(process(values[name]) for name, process in steps)

    return convert


def insert_rows(conn: Connection, columns: Sequence[Column[Any]],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows of values for these columns of one table."""
    if not rows:
        return
    table = _table_of(columns)
    marks = ", ".join([placeholder(conn)] * len(columns))
    names = ", ".join(c.name for c in columns)
    # names from the schema, values as parameters
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                         list(rows))


def update_rows(conn: Connection, columns: Sequence[Column[Any]], key: Column[Any],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """Each row: the new values of ``columns``, then the key of the row to update."""
    if not rows:
        return
    mark, table = placeholder(conn), _table_of([*columns, key])
    sets = ", ".join(f"{c.name} = {mark}" for c in columns)
    conn.exec_driver_sql(f"UPDATE {table} SET {sets} "  # noqa: S608 (names from the schema)
                         f"WHERE {key.name} = {mark}", list(rows))


def present(conn: Connection, key: Column[Any], values: Iterable[Any]) -> set[Any]:
    """Which of the values the key column holds."""
    sql = f"SELECT {key.name} FROM {_table_of([key])}"  # noqa: S608 (names from the schema)
    return {v for (v,) in select_in(conn, sql, key, values)}


def select_in(conn: Connection, select: str, column: Column[Any], values: Iterable[Any],
              params: tuple[Any, ...] = (), tail: str = "") -> list[tuple[Any, ...]]:
    """Rows of ``select WHERE column IN (values) tail``, a chunk of values at a time.
    ``select`` is written with "?" for its own ``params`` and may have a WHERE clause."""
    mark = placeholder(conn)
    select = select.replace("?", mark)
    joiner = " AND " if " WHERE " in select else " WHERE "
    wanted = sorted(set(values))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 2 * _CHUNK):
        chunk = wanted[start:start + 2 * _CHUNK]
        marks = ", ".join([mark] * len(chunk))
        found.extend(tuple(row) for row in conn.exec_driver_sql(
            f"{select}{joiner}{column.name} IN ({marks}){tail}", (*params, *chunk)))
    return found


def matching_pairs(conn: Connection, first: Column[Any], second: Column[Any],
                   pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(first, second, id) of the rows whose two columns hold one of the pairs. The pairs are
    joined to the table as a VALUES list, so that the database seeks an index on the two
    columns once per pair."""
    table = _table_of([first, second])
    mark = placeholder(conn)
    wanted = sorted(pairs)
    found: list[tuple[str, str, int]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        values = ", ".join([f"({mark}, {mark})"] * len(chunk))
        query = (f"WITH k(a, b) AS (VALUES {values}) "  # noqa: S608 (names from the schema)
                 f"SELECT t.{first.name}, t.{second.name}, t.id FROM k "
                 f"JOIN {table} AS t ON t.{first.name} = k.a AND t.{second.name} = k.b")
        found.extend(conn.exec_driver_sql(query, tuple(v for pair in chunk for v in pair)))
    return found


def _table_of(columns: Sequence[Column[Any]]) -> str:
    tables = {c.table.name for c in columns}
    if len(tables) != 1:
        raise ValueError(f"columns of one table expected, got {sorted(tables)}")
    return tables.pop()

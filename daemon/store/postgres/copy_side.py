"""The PostgreSQL side of `catalog copy` (see store/copy.py): COPY TO STDOUT and FROM STDIN."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studbook.daemon.store.copy import _CHUNK, SEQUENCE, Column, CopySide, _quoted
from studbook.daemon.store.dialect import POSTGRES
from studbook.daemon.store.records import StoreError, first_line


class PostgresSide(CopySide):
    """A PostgreSQL catalog, read in one REPEATABLE READ snapshot or written in one transaction."""

    dialect = POSTGRES
    catalog_schema = "c.table_schema = current_schema()"

    def __init__(self, url: str, *, read_only: bool) -> None:
        import psycopg
        from studbook.daemon.store.postgres.catalog import _configure, _redacted, unreachable
        from studbook.daemon.store.postgres.migrate import describe

        self._psycopg = psycopg
        self.location = _redacted(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                         options="-c TimeZone=UTC -c bytea_output=hex")  # fmt: skip
        except psycopg.Error as exc:
            raise unreachable(self.location, exc) from exc
        _configure(self._conn)
        self.location = describe(self._conn)
        if read_only:
            # Daemons may go on writing to the source: every table is read as of one moment.
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    @property
    def connection(self) -> Any:
        return self._conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._conn.execute(self.dialect.placeholders(sql), list(params))
            return cursor.fetchall() if cursor.description is not None else []
        except self._psycopg.Error as exc:
            raise StoreError(f"reading {self.location} failed: {first_line(exc)}") from exc

    def sequence_used(self) -> int:
        found = self.query(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {SEQUENCE}")
        return int(found[0][0]) if found else 0

    def export(self, table: str, columns: Sequence[Column], path: Path, where: str = "") -> None:
        select = ", ".join(_postgres_text(column) for column in columns)
        statement = f"COPY (SELECT {select} FROM {_quoted(table)} {where}) TO STDOUT (FORMAT csv)"
        try:
            with open(path, "wb") as out, self._conn.cursor() as cursor, cursor.copy(statement) as copy:
                for chunk in copy:
                    out.write(chunk)
        except self._psycopg.Error as exc:
            raise StoreError(f"reading {table} from {self.location} failed: {first_line(exc)}",
                             reason="COPY_FAILED") from exc  # fmt: skip

    def load(self, table: str, columns: Sequence[Column], path: Path) -> None:
        names = ", ".join(_quoted(column.name) for column in columns)
        try:
            with (
                open(path, "rb") as source,
                self._conn.cursor() as cursor,
                cursor.copy(f"COPY {_quoted(table)} ({names}) FROM STDIN (FORMAT csv)") as copy,
            ):
                while chunk := source.read(_CHUNK):
                    copy.write(chunk)
        except self._psycopg.Error as exc:
            raise StoreError(f"writing {table} into {self.location} failed: {first_line(exc)}",
                             reason="COPY_FAILED") from exc  # fmt: skip

    def set_sequence_at_least(self, used: int) -> None:
        if used > self.sequence_used():
            self.query(f"SELECT setval('{SEQUENCE}', ?, true)", [used])

    def begin_write(self) -> None:
        from studbook.daemon.store.postgres.catalog import WRITE_LOCK

        self.query("BEGIN")
        # A daemon starting on this catalog meanwhile waits for the copy, then sees it whole.
        self.query("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])

    def commit(self) -> None:
        self.query("COMMIT")
        # Statistics for the planner and the visibility map for index-only reads (a search's
        # metric and tag ranges, store/keyed.py) now, not when autovacuum comes round to a
        # catalog that appeared in one transaction. Outside it: VACUUM cannot run in one.
        self.query("VACUUM (ANALYZE)")

    def rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except self._psycopg.Error:
            pass

    def close(self) -> None:
        self._conn.close()


def _postgres_text(column: Column) -> str:
    name = _quoted(column.name)
    if column.kind == "time":
        return f"({name} AT TIME ZONE 'UTC')"
    return name

"""Write-behind for the import engine's bulk path (issue #5): a chunk's rows are written while the next is read.

An import spends about as long writing a chunk's rows (records, audit entries, outbox
messages, external ids) as it spends reading and checking them. :class:`BackgroundWriter` runs
the writes of one chunk on a second thread, on the same database connection and in the same
transaction, while the engine goes on with the next chunk; the database does its part without
holding Python's lock (SQLite releases it while it runs a statement, PostgreSQL while the client
waits for the server), so the two overlap on two cores.

Rules that keep this exactly as correct as writing in line:

* At most one :class:`WriteGroup` is in flight. :meth:`BackgroundWriter.settle` waits for it and
  returns its error; the engine settles before it submits the next group and before anything
  whose answer depends on the rows written (it then falls back to writing that group's records
  one by one through the services, as when an in-line bulk insert fails).
* While the writer runs, every query the engine's thread sends through Django waits for it
  first (an ``execute_wrapper`` on the connection), so the two threads never use the connection
  at once and nothing reads a half-written chunk.
* Keys are handed out before the rows are written: from the table's sequence on PostgreSQL
  (``nextval``, as a column default would) and on SQLite by moving the table's AUTOINCREMENT
  counter (``sqlite_sequence``) past the block, so rows written meanwhile by anyone else get
  other keys.
* A group runs in its own savepoint: if one statement fails, none of the group's rows remain.
  Callbacks registered with :meth:`WriteGroup.after_write` (synchronous event handlers) run on
  the engine's thread after the rows are written and before the savepoint is released; if one
  raises, the group is undone and fails like a failed insert. Such a group keeps its savepoint
  open until :meth:`BackgroundWriter.settle`, so the engine settles it at once (nothing else may
  write meanwhile); a group without callbacks releases its savepoint on the writer's thread.

Each table's rows go in one statement that takes them apart from one JSON document: on SQLite
``INSERT … SELECT … FROM json_each(…)`` (one step of the SQLite engine for the whole chunk), on
PostgreSQL ``INSERT … SELECT … FROM jsonb_array_elements(…)``, or ``COPY … FROM STDIN`` for
fields of kinds the document cannot carry (:mod:`.bulk`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from bizloom.integration.imports import bulk

_SAVEPOINTS = itertools.count(1)
KEY_BLOCK = 10_000
"""Keys reserved per round trip to the database (see :meth:`BackgroundWriter.reserve_keys`)."""


class WriteGroup:
    """The writes of one chunk: built on the engine's thread, run together on the writer's.

    ``insert`` and ``insert_values`` have the signatures of :func:`.bulk.insert` and
    :func:`.bulk.insert_values` (the declarations' ``bulk_save`` receives them): they hand out the
    keys at once and queue the rows.
    """

    def __init__(self, writer: BackgroundWriter) -> None:
        self.writer = writer
        self.now = timezone.now()  # one creation time for every row of the group, as in one transaction
        self.statements: list[tuple[str, Any]] = []
        self.callbacks: list[Callable[[], None]] = []

    def insert(self, model: type[models.Model], instances: Sequence[models.Model]) -> None:
        """Queue new ``instances`` and set their keys (and ``auto_now`` fields) now."""
        if not instances:
            return
        meta = model._meta
        pk = meta.pk
        assert pk is not None
        connection = self.writer.connection
        if getattr(instances[0], pk.attname) is None:
            for obj, key in zip(instances, self.writer.reserve_keys(model, len(instances)), strict=True):
                setattr(obj, pk.attname, key)
        fields = list(meta.concrete_fields)
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                for obj in instances:
                    setattr(obj, field.attname, self.now)
        read = bulk.row_reader(fields)
        self._queue(model, fields, [read(obj) for obj in instances])
        alias = connection.alias
        for obj in instances:
            obj._state.adding = False
            obj._state.db = alias

    def insert_values(self, model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], *,
                      returning: bool = False) -> list[Any]:
        """Queue ``rows`` (one value per field in ``names``); with ``returning`` their new keys, in order."""
        if not rows:
            return []
        meta = model._meta
        fields: list[Any] = [meta.get_field(name) for name in names]
        prepared: Sequence[Sequence[Any]] = rows
        keys: list[Any] = []
        if returning:
            assert meta.pk is not None
            keys = self.writer.reserve_keys(model, len(rows))
            fields.insert(0, meta.pk)
            prepared = [(key, *row) for key, row in zip(keys, prepared, strict=True)]
        self._queue(model, fields, prepared)
        return keys

    def delete(self, model: type[models.Model], field_name: str, value: Any) -> None:
        """Queue the deletion of the rows of ``model`` whose ``field_name`` is ``value`` (one statement; no
        signals, no cascades: for bookkeeping rows nothing refers to)."""
        connection = self.writer.connection
        quote = connection.ops.quote_name
        field: Any = model._meta.get_field(field_name)
        column = quote(str(field.column))
        mark = "%s" if self.writer.vendor == "postgresql" else "?"
        # Only the quoted table and column names go into the text; the value is a parameter.
        self.statements.append((f"DELETE FROM {quote(model._meta.db_table)} WHERE {column} = {mark}", (value,)))  # noqa: S608

    def after_write(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on this thread once the group's rows are written (inside its savepoint)."""
        self.callbacks.append(callback)

    def _queue(self, model: type[models.Model], fields: Sequence[models.Field[Any, Any]],
               rows: Sequence[Sequence[Any]]) -> None:
        """Queue the statement that writes ``rows`` (Python values, one per field): one INSERT of the rows
        as a JSON document (:func:`.bulk.sqlite_statement`, :func:`.bulk.postgresql_statement`), or on
        PostgreSQL, for fields of a kind that cannot travel so, a COPY of the converted rows."""
        connection = self.writer.connection
        if self.writer.vendor != "postgresql":
            self.statements.append(bulk.sqlite_statement(connection, model, fields, rows))
            return
        statement = bulk.postgresql_statement(connection, model, fields, rows)
        if statement is not None:
            self.statements.append(statement)
            return
        build = bulk.values_builder(fields, connection)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in fields)
        # Only quoted table and column names of the model go into the text; values are streamed.
        self.statements.append((f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN",
                                [build(row) for row in rows]))


class BackgroundWriter:
    """Runs :class:`WriteGroup` s on one worker thread for the engine's connection (see the module docstring).

    Use as a context manager around the rows' processing: it starts the thread and makes the
    connection's queries wait for the writer; leaving it waits for the last group.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.connection = connections[router.db_for_write(model)]
        self.vendor = self.connection.vendor
        self._executor: ThreadPoolExecutor | None = None
        self._future: Future[None] | None = None
        self._group: WriteGroup | None = None
        self._savepoint = ""
        self._keys: dict[type[models.Model], list[Any]] = {}

    def __enter__(self) -> BackgroundWriter:
        self.connection.ensure_connection()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self._wrapper = self.connection.execute_wrapper(self._barrier)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._wait()
        finally:
            self._wrapper.__exit__(*exc_info)
            assert self._executor is not None
            self._executor.shutdown(wait=True)
            self._executor = None

    def group(self) -> WriteGroup:
        """A new, empty group of writes."""
        return WriteGroup(self)

    def submit(self, group: WriteGroup) -> None:
        """Start writing ``group`` on the writer thread (the previous group must be settled)."""
        assert self._future is None, "settle() the previous group first"
        assert self._executor is not None, "use the writer as a context manager"
        self._group = group
        self._savepoint = f"bizloom_import_{next(_SAVEPOINTS)}"
        self._future = self._executor.submit(self._run, group.statements, self._savepoint, bool(group.callbacks))

    def settle(self) -> BaseException | None:
        """Wait for the group in flight; run its callbacks; return what made it fail (None: written)."""
        future, group, savepoint = self._future, self._group, self._savepoint
        if future is None or group is None:
            return None
        self._future = self._group = None
        error = future.exception()
        if error is not None or not group.callbacks:
            return error
        try:
            for callback in group.callbacks:
                callback()
        except Exception as failure:  # noqa: BLE001 - any handler failure undoes the group, as an insert error does
            self._execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            self._execute(f"RELEASE SAVEPOINT {savepoint}")
            return failure
        self._execute(f"RELEASE SAVEPOINT {savepoint}")
        return None

    def reserve_keys(self, model: type[models.Model], count: int) -> list[Any]:
        """``count`` new primary keys of ``model``, in increasing order, that nobody else will be given.

        Keys are reserved :data:`KEY_BLOCK` at a time and handed out from that block (one round
        trip per block, not per chunk); what a run leaves unused is a gap in the numbering, as
        a rolled-back insert leaves on PostgreSQL.
        """
        pool = self._keys.setdefault(model, [])
        if len(pool) < count:
            pool.extend(self._reserve(model, max(count - len(pool), KEY_BLOCK)))
        taken, self._keys[model] = pool[:count], pool[count:]
        return taken

    def _reserve(self, model: type[models.Model], count: int) -> list[Any]:
        meta = model._meta
        pk = meta.pk
        if not isinstance(pk, AutoFieldMixin):
            raise TypeError(f"{meta.label} has no auto-increment key to reserve")
        quote = self.connection.ops.quote_name
        table, column = meta.db_table, str(pk.column)
        with self.connection.cursor() as cursor:  # through Django: waits for the writer first
            if self.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [quote(table), column, count])
                return sorted(row[0] for row in cursor.fetchall())
            # SQLite's AUTOINCREMENT gives max(counter, largest key) + 1: move the counter past the block.
            cursor.execute(f"SELECT max({quote(column)}) FROM {quote(table)}")  # noqa: S608 - quoted names only
            largest = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            first = max(largest, found[0] if found else 0) + 1
            if found:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table])
            else:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first + count - 1])
        return list(range(first, first + count))

    # --- the writer thread -----------------------------------------------------------------

    def _run(self, statements: list[tuple[str, Any]], savepoint: str, keep_open: bool) -> None:
        with self.connection.wrap_database_errors:  # the driver's errors become Django's, as on the engine's thread
            self._write(statements, savepoint, keep_open)

    def _write(self, statements: list[tuple[str, Any]], savepoint: str, keep_open: bool) -> None:
        raw = self.connection.connection
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.Cursor(raw) as cursor:
                def write(sql: str, payload: Any) -> None:
                    if not sql.startswith("COPY "):
                        cursor.execute(sql, payload)
                        return
                    with cursor.copy(sql) as copy:
                        for row in payload:
                            copy.write_row(row)

                _in_savepoint(cursor.execute, write, statements, savepoint, keep_open)
            return
        cursor = raw.cursor()
        try:
            _in_savepoint(cursor.execute, cursor.execute, statements, savepoint, keep_open)
        finally:
            cursor.close()

    # --- the engine's thread ------------------------------------------------------------------

    def _barrier(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self._future is not None:
            self._future.exception()  # wait; the error is the engine's to handle at settle()
        return execute(sql, params, many, context)

    def _wait(self) -> None:
        if self._future is not None:
            self._future.exception()

    def _execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)


def _in_savepoint(execute: Callable[[str], Any], write: Callable[[str, Any], Any], statements: list[tuple[str, Any]],
                  savepoint: str, keep_open: bool) -> None:
    """Run ``write(sql, payload)`` for every statement inside ``savepoint``: all of them, or none when one
    fails (rolled back, then raised). ``keep_open`` leaves the savepoint for :meth:`BackgroundWriter.settle`."""
    execute(f"SAVEPOINT {savepoint}")
    try:
        for sql, payload in statements:
            write(sql, payload)
    except BaseException:
        execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
        execute(f"RELEASE SAVEPOINT {savepoint}")
        raise
    if not keep_open:
        execute(f"RELEASE SAVEPOINT {savepoint}")

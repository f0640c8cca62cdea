"""Fast multi-row INSERT of new model instances, for the import engine's bulk path (issue #5).

``QuerySet.bulk_create`` spends most of its time compiling: on SQLite it sends at most 999
parameters per statement (about 50 contacts), and it prepares every value through the
compiler. :func:`insert` writes one ``INSERT … VALUES (…), (…) … RETURNING id`` per 1,000 rows
(within SQLite's 32,766 and PostgreSQL's 65,535 parameter limits), converts values with each
field's own ``get_db_prep_save`` only where the database needs a conversion (dates, decimals,
JSON), and sets the primary keys it gets back. Like ``bulk_create`` it does not call
``save()`` or send signals; it does fill ``auto_now``/``auto_now_add`` fields.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields import AutoFieldMixin

ROWS_PER_STATEMENT = 1000
MAX_PARAMS = 30_000
_AS_IS = frozenset({"CharField", "TextField", "BooleanField", "IntegerField", "PositiveIntegerField",
                    "PositiveBigIntegerField", "PositiveSmallIntegerField", "BigIntegerField", "SmallIntegerField",
                    "SlugField"})


def _datetime_fast(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    """``field.get_db_prep_save`` for aware UTC datetimes (``timezone.now()``), without Django's layers.

    Only for a plain ``DateTimeField`` (no overridden conversion) on SQLite, which stores
    ``str(naive UTC)`` (``adapt_datetimefield_value`` after ``make_naive`` to the connection's
    UTC), and PostgreSQL, which passes aware datetimes to psycopg as they are. Anything else
    (None, naive or non-UTC values, other fields) goes through ``get_db_prep_save``; see
    ``test_bulk_fast_conversions`` for the equality.
    """
    if not (isinstance(field, models.DateTimeField)
            and type(field).get_db_prep_save is models.Field.get_db_prep_save
            and type(field).get_db_prep_value is models.DateTimeField.get_db_prep_value
            and type(field).get_prep_value is models.DateTimeField.get_prep_value
            and type(field).to_python is models.DateTimeField.to_python):
        return None
    slow = functools.partial(field.get_db_prep_save, connection=connection)
    utc = dt.UTC
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone == utc:
        last: list[Any] = [None, None]  # the previous value and its text: a batch often repeats one time

        def to_sqlite(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is dt.datetime and value.tzinfo is utc:
                if value is not last[0]:
                    last[0], last[1] = value, str(value.replace(tzinfo=None))
                return last[1]
            return slow(value)
        return to_sqlite
    if connection.vendor == "postgresql" and settings.USE_TZ:
        def to_postgresql(value: Any) -> Any:
            if value is None or (type(value) is dt.datetime and value.tzinfo is utc):
                return value
            return slow(value)
        return to_postgresql
    return None


def _json_fast(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    """A plain JSONField's ``get_db_prep_save`` of a dict or list on SQLite: ``json.dumps`` with the
    field's encoder (``adapt_json_value``), without the layers above it; other values as usual."""
    if not (type(field) is models.JSONField and connection.vendor == "sqlite"
            and type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value):
        return None
    slow = functools.partial(field.get_db_prep_save, connection=connection)
    encoder = field.encoder
    if encoder is None:
        return lambda value: json.dumps(value) if type(value) is dict or type(value) is list else slow(value)
    return lambda value: json.dumps(value, cls=encoder) if type(value) is dict or type(value) is list else slow(value)


def _value_converter(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    """How a Python value of ``field`` becomes a database parameter (None: as it is)."""
    if field.is_relation or field.get_internal_type() in _AS_IS:
        return None
    return (_datetime_fast(field, connection) or _json_fast(field, connection)
            or functools.partial(field.get_db_prep_save, connection=connection))


def _row_builder(fields: Sequence[models.Field[Any, Any]], connection: Any) -> Callable[[models.Model], list[Any]]:
    """The database parameters of one instance, field by field: every attribute read at once
    (``attrgetter``), then converted only where the database needs it, and ``auto_now`` fields
    stamped through their ``pre_save`` as ``save()`` does."""
    read = operator.attrgetter(*(f.attname for f in fields))
    steps: list[tuple[int, models.Field[Any, Any] | None, Callable[[Any], Any]]] = []
    for index, field in enumerate(fields):
        convert = _value_converter(field, connection)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            assert convert is not None
            steps.append((index, field, convert))
        elif convert is not None:
            steps.append((index, None, convert))

    def build(obj: models.Model) -> list[Any]:
        values = list(read(obj)) if len(fields) > 1 else [read(obj)]
        for index, stamped, convert in steps:
            values[index] = convert(stamped.pre_save(obj, True) if stamped is not None else values[index])
        return values
    return build


def insert(model: type[models.Model], instances: Sequence[models.Model]) -> None:
    """Insert ``instances`` (new, without a primary key) and set their primary keys, in order."""
    if not instances:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    given = getattr(instances[0], pk.attname) is not None
    fields = [f for f in meta.concrete_fields if f is not pk or given]
    build = _row_builder(fields, connection)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMS // max(1, len(fields))))
    if connection.vendor == "postgresql":
        _insert_postgresql(connection, model, fields, [build(obj) for obj in instances],
                           instances if not given else None)
        for obj in instances:
            obj._state.adding = False
            obj._state.db = alias
        return
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            part = instances[start:start + size]
            params = [value for obj in part for value in build(obj)]
            # Only quoted table and column names of the model go into the text; values are parameters.
            sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([one_row] * len(part))} "  # noqa: S608
                   f"RETURNING {quote(str(pk.column))}")
            cursor.execute(sql, params)
            if given:
                for obj in part:
                    obj._state.adding = False
                    obj._state.db = alias
                continue
            # Keys are handed out in row order; RETURNING's own order is not promised on SQLite.
            keys = sorted(row[0] for row in cursor.fetchall())
            for obj, key in zip(part, keys, strict=True):
                setattr(obj, pk.attname, key)
                obj._state.adding = False
                obj._state.db = alias


def insert_values(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], *,
                  returning: bool = False) -> list[Any]:
    """Insert ``rows`` (one value per field in ``names``, Python values) without building instances.

    For append-only bookkeeping rows (audit entries, per-row import results, outbox messages)
    whose instances nobody needs: each value goes through its field's ``get_db_prep_save`` where
    the database needs a conversion (JSON, dates, decimals), as ``save()`` would. Fields left out
    get their column default from the database only if it has one: pass every NOT NULL field.
    With ``returning`` the new primary keys come back, in the order of ``rows`` (else ``[]``).
    """
    if not rows:
        return []
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    steps = [(index, convert) for index, field in enumerate(fields)
             if (convert := _value_converter(field, connection)) is not None]  # type: ignore[arg-type]

    def build(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        if len(values) != len(fields):
            raise ValueError(f"{len(values)} values for {len(fields)} fields")
        for index, convert in steps:
            values[index] = convert(values[index])
        return values

    if connection.vendor == "postgresql":
        return _insert_postgresql(connection, model, fields, [build(row) for row in rows], None,
                                  returning=returning)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMS // max(1, len(fields))))
    assert meta.pk is not None
    suffix = f" RETURNING {quote(str(meta.pk.column))}" if returning else ""
    keys = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start:start + size]
            params = [value for row in part for value in build(row)]
            values = ", ".join([one_row] * len(part))
            cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}{suffix}",  # noqa: S608
                           params)
            if returning:  # keys are handed out in row order; RETURNING's own order is not promised on SQLite
                keys.extend(sorted(row[0] for row in cursor.fetchall()))
    return keys


COPY_MIN_ROWS = 50
"""From this many rows on, PostgreSQL gets the rows with COPY (fewer: one INSERT per row, pipelined)."""


def _insert_postgresql(connection: Any, model: type[models.Model], fields: Sequence[Any], rows: list[list[Any]],
                       instances: Sequence[models.Model] | None, *, returning: bool = False) -> list[Any]:
    """PostgreSQL: ``COPY … FROM STDIN`` for many rows, one prepared INSERT per row in a pipeline for a few.

    COPY is the server's bulk load: it parses no statement per row, which is where individual
    INSERTs spend their time. It returns nothing, so when keys are wanted (``instances`` without
    keys, or ``returning``) and the key is an auto-increment column, they are drawn first from the
    column's own sequence (``nextval`` as a default would, in row order) and written with the rows.
    Otherwise, and for a few rows, ``executemany`` sends one short INSERT per row in psycopg's
    pipeline with server-side parameters (its ``RETURNING`` gives the keys). Both run in the
    transaction of Django's connection, on its raw connection (the rows are not logged one by one).
    """
    connection.ensure_connection()
    quote = connection.ops.quote_name
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    want_keys = instances is not None or returning
    import psycopg

    if len(rows) >= COPY_MIN_ROWS and (not want_keys or isinstance(pk, AutoFieldMixin)):
        keys: list[Any] = []
        names = [quote(str(f.column)) for f in fields]
        with psycopg.Cursor(connection.connection) as cursor:
            if want_keys:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [quote(meta.db_table), str(pk.column), len(rows)])
                keys = sorted(row[0] for row in cursor.fetchall())
                names.insert(0, quote(str(pk.column)))
            # Only quoted table and column names of the model go into the text; values are streamed.
            with cursor.copy(f"COPY {quote(meta.db_table)} ({', '.join(names)}) FROM STDIN") as copy:
                if want_keys:
                    for key, row in zip(keys, rows, strict=True):
                        copy.write_row([key, *row])
                else:
                    for row in rows:
                        copy.write_row(row)
        for obj, key in zip(instances or (), keys, strict=instances is not None):
            setattr(obj, pk.attname, key)
        return keys
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names only
    # A server-binding cursor: Django's connection makes client-binding ones, which quote every value into the text.
    with psycopg.Cursor(connection.connection) as cursor:
        if not want_keys:
            cursor.executemany(sql, rows)
            return []
        cursor.executemany(f"{sql} RETURNING {quote(str(pk.column))}", rows, returning=True)
        keys = []
        while True:
            found = cursor.fetchone()
            assert found is not None
            keys.append(found[0])
            if not cursor.nextset():
                break
        for obj, key in zip(instances or (), keys, strict=instances is not None):
            setattr(obj, pk.attname, key)
        return keys

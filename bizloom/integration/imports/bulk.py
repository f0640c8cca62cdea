"""Fast multi-row INSERT of new model instances, for the import engine's bulk path (issue #5).

``QuerySet.bulk_create`` spends most of its time compiling: on SQLite it sends at most 999
parameters per statement (about 50 contacts), and it prepares every value through the
compiler. Here values are converted with each field's own ``get_db_prep_save`` only where the
database needs a conversion (dates, decimals, JSON), and the rows go in one statement per
1,000 as one JSON document the database takes apart: ``INSERT … SELECT … FROM json_each(…)`` on
SQLite (:func:`sqlite_statement`), ``… FROM jsonb_array_elements(…)`` on PostgreSQL
(:func:`postgresql_statement`; ``COPY`` for fields of other kinds), keys drawn from the table's
sequence where they are needed first. Like
``bulk_create`` nothing calls ``save()`` or sends signals; :func:`insert` does fill
``auto_now``/``auto_now_add`` fields. :mod:`.writer` runs the same statements on a second thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import operator
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields import AutoFieldMixin

logger = logging.getLogger("bizloom.imports")
ROWS_PER_STATEMENT = 1000
# Dates and times inside a JSON field's value go to its encoder, as with json.dumps; dict keys
# that are not strings become strings, as json.dumps makes them.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_AS_IS = frozenset({"CharField", "TextField", "BooleanField", "IntegerField", "PositiveIntegerField",
                    "PositiveBigIntegerField", "PositiveSmallIntegerField", "BigIntegerField", "SmallIntegerField",
                    "SlugField", "AutoField", "BigAutoField", "SmallAutoField"})


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
    """A plain JSONField's dict or list, encoded by orjson with the field's encoder for what JSON has
    no type for (other values: ``get_db_prep_save``).

    On SQLite the dict or list stays as it is, to travel inside the statement's JSON document
    (:func:`sqlite_statement`). On PostgreSQL it becomes the ``Jsonb`` wrapper Django's
    ``adapt_json_value`` makes, with orjson as its ``dumps`` instead of ``json.dumps`` — the
    wrapper is what COPY and parameters send.
    """
    if not (type(field) is models.JSONField
            and type(connection.ops).adapt_json_value is _base_adapt_json(connection)):
        return None
    slow = functools.partial(field.get_db_prep_save, connection=connection)
    if connection.vendor == "sqlite":
        return lambda value: value if type(value) is dict or type(value) is list else slow(value)
    if connection.vendor != "postgresql":
        return None
    from psycopg.types.json import Jsonb

    default = _json_default([field])

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS)
    return lambda value: Jsonb(value, dumps) if type(value) is dict or type(value) is list else slow(value)


def _base_adapt_json(connection: Any) -> Any:
    """The ``adapt_json_value`` this module knows how to match: the backend's own, not a project override."""
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.operations import DatabaseOperations

        return DatabaseOperations.adapt_json_value
    return BaseDatabaseOperations.adapt_json_value


def _value_converter(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    """How a Python value of ``field`` becomes a database parameter (None: as it is)."""
    if field.is_relation or field.get_internal_type() in _AS_IS:
        return None
    return (_datetime_fast(field, connection) or _json_fast(field, connection)
            or functools.partial(field.get_db_prep_save, connection=connection))


def _converter(fields: Sequence[models.Field[Any, Any]], connection: Any) -> Callable[[list[Any]], list[Any]]:
    """Converts, in place, a list of one value per field into database parameters, only where the
    database needs it. None stays None (SQL NULL) for Django's own fields but JSON ones, where it
    may be stored as JSON ``null``."""
    steps = [(index, _keeps_none(field), convert) for index, field in enumerate(fields)
             if (convert := _value_converter(field, connection)) is not None]

    def convert_row(values: list[Any]) -> list[Any]:
        for index, none_as_is, convert in steps:
            value = values[index]
            if value is not None or not none_as_is:
                values[index] = convert(value)
        return values
    return convert_row


def _keeps_none(field: models.Field[Any, Any]) -> bool:
    return type(field).__module__.startswith("django.db.models.fields") and not isinstance(field, models.JSONField)


def row_reader(fields: Sequence[models.Field[Any, Any]]) -> Callable[[models.Model], Sequence[Any]]:
    """The Python values of one instance, one per field (every attribute read at once, ``attrgetter``)."""
    read = operator.attrgetter(*(f.attname for f in fields))
    if len(fields) == 1:
        return lambda obj: (read(obj),)
    return read


def values_builder(fields: Sequence[models.Field[Any, Any]], connection: Any) -> Callable[[Sequence[Any]], list[Any]]:
    """The database parameters of one row of Python values (one per field), converted where needed."""
    convert = _converter(fields, connection)
    width = len(fields)

    def build(row: Sequence[Any]) -> list[Any]:
        if len(row) != width:
            raise ValueError(f"{len(row)} values for {width} fields")
        return convert(list(row))
    return build


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # what SQLite's NUMERIC column makes of Django's decimal parameter (str)
    raise TypeError(f"{type(value).__name__} is not a value the bulk insert sends as JSON")


def _json_default(fields: Sequence[Any]) -> Callable[[Any], Any]:
    """How the statement's document encodes what JSON has no type for: the JSON fields' encoder
    (for values inside their dicts and lists), and Decimal as text for a decimal column."""
    encoders: set[type[json.JSONEncoder]] = {f.encoder for f in fields
                                             if isinstance(f, models.JSONField) and f.encoder is not None}
    if len(encoders) > 1:
        raise TypeError("JSON fields with different encoders in one bulk insert")
    if not encoders:
        return _json_value
    encode = encoders.pop()().default

    def default(value: Any) -> Any:
        return str(value) if isinstance(value, Decimal) else encode(value)
    return default


def sqlite_statement(connection: Any, model: type[models.Model], fields: Sequence[Any],
                     rows: Sequence[Sequence[Any]]) -> tuple[str, tuple[Any, ...]]:
    """One SQLite ``INSERT … SELECT … FROM json_each(?)`` writing every row of ``rows`` (Python values,
    one per field; converted here as :func:`values_builder` converts them).

    The rows travel as one JSON array and SQLite takes each value back out with ``json_extract``,
    which gives the SQL value the parameter would have been (text, integer, real, NULL; true and
    false as 1 and 0, as SQLite stores booleans) and, for a JSON field's dict or list, its JSON
    text. One statement and one step for the whole chunk: no SQL text per row, no parameter
    binding per value; the document is written by orjson (about five times json's speed).

    The work is done column by column. A column whose value is the same in every row (a creation
    time, the importing user, a blank field: :func:`_same_in_every_row`) is converted once and sent
    as one parameter — ``json_extract`` costs SQLite about as much as the row's insert itself; the
    other columns are converted value by value where the database needs it. ValueError for a row
    of the wrong width; TypeError for a value JSON cannot carry (bytes).
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)
    default = _json_default(fields)
    picks: list[str] = []
    constants: list[Any] = []
    varying: list[tuple[int, Sequence[Any] | None]] = []
    for column in _columns(connection, fields, rows):
        if column.constant:
            picks.append("?")
            constants.append(_sqlite_parameter(column.read(rows)[0], default))
            continue
        values, convert = column.values, column.convert
        if convert is not None and _json_fast(column.field, connection) is not None:
            # a plain JSON field: its None is SQL NULL (get_db_prep_save), dicts and lists travel as they are
            values = column.read(rows)
            if not set(map(type, values)) <= _JSON_AS_IS:
                values = [value if value is None or type(value) is dict or type(value) is list else convert(value)
                          for value in values]
        elif convert is not None:
            values = [convert(value) if value is not None or not column.none_as_is else None
                      for value in column.read(rows)]
        picks.append(f"json_extract(value, '$[{len(varying)}]')")
        varying.append((column.position, values))
    # The document goes as orjson's UTF-8 bytes, read as text by the CAST: decoding it into a str that
    # sqlite3 encodes back to UTF-8 copied the whole chunk twice.
    document = orjson.dumps(_document_rows(rows, varying), default=default, option=_ORJSON_OPTIONS)
    # Only quoted table and column names of the model go into the text; the values are parameters.
    return (f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {', '.join(picks)} "  # noqa: S608
            "FROM json_each(CAST(? AS TEXT))", (*constants, document))


_JSON_AS_IS = frozenset({dict, list, type(None)})


class _Column(NamedTuple):
    """One field's column of a chunk of rows (:func:`_columns`)."""

    field: Any
    position: int
    values: Sequence[Any] | None
    """Its values (converted, and only the first, when ``constant``); None when they were not read."""
    convert: Callable[[Any], Any] | None
    none_as_is: bool
    constant: bool

    def read(self, rows: Sequence[Sequence[Any]]) -> Sequence[Any]:
        """The values, read from ``rows`` if need be."""
        return self.values if self.values is not None else list(map(operator.itemgetter(self.position), rows))


def _columns(connection: Any, fields: Sequence[Any], rows: Sequence[Sequence[Any]]) -> Iterator[_Column]:
    """``rows`` column by column: each field, its place in a row, its values, its converter, whether it
    keeps ``None`` as it is, and whether the value is the same in every row (:func:`_same_in_every_row`;
    then the values are that one value, converted). ValueError for a row of the wrong width.

    A column whose first and last values differ surely varies, and its values are not read (None):
    :func:`_document_rows` takes them from the rows. Transposing every row into columns and back
    cost more than writing the document, mostly in memory traffic: each value is touched once more.
    """
    width = len(fields)
    if set(map(len, rows)) != {width}:
        raise ValueError(f"rows of {sorted(set(map(len, rows)))} values for {width} fields")
    first_row, last_row = rows[0], rows[-1]
    for index, field in enumerate(fields):
        convert = _value_converter(field, connection)
        none_as_is = _keeps_none(field)
        first, last = first_row[index], last_row[index]
        if first is not last and (type(first) is not type(last) or first != last):
            yield _Column(field, index, None, convert, none_as_is, False)
            continue
        values = list(map(operator.itemgetter(index), rows))
        if not _same_in_every_row(values):
            yield _Column(field, index, values, convert, none_as_is, False)
            continue
        value = values[0]
        if convert is not None and (value is not None or not none_as_is):
            value = convert(value)
        yield _Column(field, index, (value,), convert, none_as_is, True)


def _document_rows(rows: Sequence[Sequence[Any]], varying: Sequence[tuple[int, Sequence[Any] | None]],
                   ) -> list[tuple[Any, ...]]:
    """The document's element for each row: the values of the ``varying`` columns (``(index, values)``),
    in their order, each from its converted ``values`` or, when None, from the row itself."""
    if not varying:
        return [()] * len(rows)  # one element per row, always
    indexes = [index for index, values in varying if values is None]
    if len(indexes) == len(varying) and len(indexes) > 1:  # nothing converted: picked from each row at once
        return list(map(operator.itemgetter(*indexes), rows))
    columns = [values if values is not None else list(map(operator.itemgetter(index), rows))
               for index, values in varying]
    return list(zip(*columns, strict=True))


_EXACT_TYPES = frozenset({int, float, bool})


def _same_in_every_row(column: Sequence[Any]) -> bool:
    """Whether every value of ``column`` would be stored as the first one is.

    Equal texts and ``None`` are stored alike; numbers only when their types agree too (``1 == True
    == 1.0``); empty dicts and lists alike; anything else (times, decimals: ``Decimal("1.0") ==
    Decimal("1.00")`` but their texts differ) only when it is the very same object in every row.
    """
    first = column[0]
    kind = type(first)
    # Each test runs in C (count, map): a generator over the rows cost more than the rest of the statement.
    if kind is str or first is None:
        return column.count(first) == len(column)
    if kind in _EXACT_TYPES:
        return column.count(first) == len(column) and set(map(type, column)) == {kind}
    if (kind is dict or kind is list) and not first:
        return set(map(type, column)) == {kind} and not any(column)
    return all(map(operator.is_, column, itertools.repeat(first)))


def _sqlite_parameter(value: Any, default: Callable[[Any], Any]) -> Any:
    """The parameter that stores what ``json_extract`` of ``value`` in the document would have stored."""
    if type(value) is dict or type(value) is list:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS).decode()
    if value is None or type(value) in (str, int, float, bool):
        return value
    return orjson.loads(orjson.dumps(value, default=default, option=_ORJSON_OPTIONS))


def insert(model: type[models.Model], instances: Sequence[models.Model]) -> None:
    """Insert ``instances`` (new, without a primary key) and set their primary keys, in order.

    ``auto_now``/``auto_now_add`` fields are stamped through their ``pre_save`` as ``save()`` does.
    """
    if not instances:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    given = getattr(instances[0], pk.attname) is not None
    fields = [f for f in meta.concrete_fields if f is not pk or given]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in instances:
                field.pre_save(obj, True)
    read = row_reader(fields)
    if connection.vendor == "postgresql":
        _insert_postgresql(connection, model, fields, [read(obj) for obj in instances],
                           instances if not given else None)
    else:
        keys = _insert_sqlite(connection, model, fields, [read(obj) for obj in instances], returning=not given)
        for obj, key in zip(instances, keys, strict=False):
            setattr(obj, pk.attname, key)
    for obj in instances:
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
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in names]
    if connection.vendor == "postgresql":
        return _insert_postgresql(connection, model, fields, rows, None, returning=returning)
    return _insert_sqlite(connection, model, fields, rows, returning=returning)


def _insert_sqlite(connection: Any, model: type[models.Model], fields: Sequence[Any], rows: Sequence[Sequence[Any]],
                   *, returning: bool) -> list[Any]:
    """SQLite: :func:`sqlite_statement` per :data:`ROWS_PER_STATEMENT` rows of Python values; the new keys in
    row order if ``returning``."""
    pk = model._meta.pk
    assert pk is not None
    suffix = f" RETURNING {connection.ops.quote_name(str(pk.column))}" if returning else ""
    keys: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            sql, params = sqlite_statement(connection, model, fields, rows[start:start + ROWS_PER_STATEMENT])
            cursor.execute(sql.replace("?", "%s") + suffix, params)
            if returning:  # keys are handed out in row order; RETURNING's own order is not promised on SQLite
                keys.extend(sorted(row[0] for row in cursor.fetchall()))
    return keys


_TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField"})
_PG_PLAIN = _AS_IS | {"DateTimeField", "DateField", "DecimalField", "JSONField"}


def postgresql_statement(connection: Any, model: type[models.Model], fields: Sequence[Any],
                         rows: Sequence[Sequence[Any]]) -> tuple[str, tuple[Any, ...]] | None:
    """One PostgreSQL ``INSERT … SELECT … FROM jsonb_array_elements(%s)`` writing every row of ``rows``
    (Python values, one per field), or None when a field is of a kind it does not handle (then COPY).

    :func:`sqlite_statement`'s way, for the same reason: the client sends one JSON document written
    by orjson and the server takes it apart, instead of formatting every value of every row for COPY
    in Python — which, on the writer's thread, took Python's lock from the engine's thread for most
    of the run. A column with one value in every row is one parameter. Each value is cast to its
    column's type (text columns stay text, so a value too long for its ``varchar`` fails as it would
    as a parameter instead of being cut); a JSON field's value travels as JSON and its ``None`` is
    SQL NULL, as ``save()`` stores it. Dates and times travel as ISO 8601 with their offset, decimals
    as text. ValueError for a row of the wrong width.
    """
    if any(not f.is_relation and f.get_internal_type() not in _PG_PLAIN for f in fields):
        return None
    if any(isinstance(f, models.JSONField) and _json_fast(f, connection) is None for f in fields):
        return None
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)
    picks: list[str] = []
    constants: list[Any] = []
    varying: list[tuple[int, Sequence[Any] | None]] = []
    for column in _columns(connection, fields, rows):
        field = column.field
        cast = "text" if field.get_internal_type() in _TEXT_TYPES else str(field.db_type(connection))
        if column.constant:
            picks.append(f"%s::{cast}")
            constants.append(column.read(rows)[0])
            continue
        index, values = len(varying), column.values
        if isinstance(field, models.JSONField):  # the value itself, inside the document (None: SQL NULL)
            picks.append(f"NULLIF(value->{index}, 'null'::jsonb)")
        else:
            if column.convert is not None:
                convert = column.convert
                values = [_document_value(convert(value)) if value is not None or not column.none_as_is else None
                          for value in column.read(rows)]
            picks.append(f"(value->>{index})::{cast}")
        varying.append((column.position, values))
    from psycopg.types.json import Jsonb

    default = _json_default(fields)
    # Sent as orjson's UTF-8 bytes (psycopg takes a dumps that returns bytes), not decoded into a str first.
    document = Jsonb(_document_rows(rows, varying),
                     lambda value: orjson.dumps(value, default=default, option=_ORJSON_OPTIONS))
    # Only quoted table and column names and the columns' types go into the text; values are parameters.
    return (f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {', '.join(picks)} "  # noqa: S608
            "FROM jsonb_array_elements(%s) AS value", (*constants, document))


def _document_value(value: Any) -> Any:
    """A converted value of a date, time or decimal column as the text its column type reads."""
    if isinstance(value, dt.date | Decimal):  # datetimes are dates: aware ones keep their offset
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


COPY_MIN_ROWS = 50
"""From this many rows on, PostgreSQL gets the rows with COPY (fewer: one INSERT per row, pipelined)."""


def _insert_postgresql(connection: Any, model: type[models.Model], fields: Sequence[Any],
                       values: Sequence[Sequence[Any]], instances: Sequence[models.Model] | None, *,
                       returning: bool = False) -> list[Any]:
    """PostgreSQL, for rows of Python values: one INSERT of the rows as a JSON document
    (:func:`postgresql_statement`) or ``COPY … FROM STDIN`` for many rows, one prepared INSERT per
    row in a pipeline for a few.

    Neither parses a statement per row, which is where individual INSERTs spend their time, and
    neither returns anything, so when keys are wanted (``instances`` without keys, or
    ``returning``) and the key is an auto-increment column, they are drawn first from the column's
    own sequence (``nextval`` as a default would, in row order) and written with the rows.
    Otherwise, and for a few rows, ``executemany`` sends one short INSERT per row in psycopg's
    pipeline with server-side parameters (its ``RETURNING`` gives the keys). All run in the
    transaction of Django's connection, on its raw connection (the rows are not logged one by one).
    """
    connection.ensure_connection()
    quote = connection.ops.quote_name
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    want_keys = instances is not None or returning
    import psycopg

    if len(values) >= COPY_MIN_ROWS and (not want_keys or isinstance(pk, AutoFieldMixin)):
        keys: list[Any] = []
        with psycopg.Cursor(connection.connection) as cursor:
            if want_keys:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [quote(meta.db_table), str(pk.column), len(values)])
                keys = sorted(row[0] for row in cursor.fetchall())
                fields = [pk, *fields]
                values = [(key, *row) for key, row in zip(keys, values, strict=True)]
            statement = postgresql_statement(connection, model, fields, values)
            if statement is not None:
                cursor.execute(*statement)
            else:
                build = values_builder(fields, connection)
                names = ", ".join(quote(str(f.column)) for f in fields)
                # Only quoted table and column names of the model go into the text; values are streamed.
                with cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(build(row))
        for obj, key in zip(instances or (), keys, strict=instances is not None):
            setattr(obj, pk.attname, key)
        return keys
    build = values_builder(fields, connection)
    rows = [build(row) for row in values]
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


CACHE_KIB = 256 * 1024
"""SQLite's page cache while an import's transaction runs (KiB; SQLite's default is 2 MiB)."""


@contextlib.contextmanager
def large_cache(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A large SQLite page cache on the connection for the ``with`` block (around a bulk load's whole
    transaction, commit included), the previous size afterwards; nothing on other databases.

    With SQLite's 2 MiB a large import spills dirty index pages to the WAL in the middle of its
    transaction and reads them back: the contacts' six indexes alone outgrow it. Pages are only
    taken as they are used.
    """
    connection = connections[alias]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


def analyze(models_: Sequence[type[models.Model]]) -> None:
    """Refresh PostgreSQL's statistics of the tables of ``models_`` after a bulk load (``ANALYZE``).

    Right after an import commits, the planner still believes the tables hold what they held
    before, until autovacuum gets to them (when the outbox got one row per event, the worker
    delivering an import's 100,000 events read it through the wrong index: ~30 ms a query instead
    of ~1 ms). PostgreSQL's manual advises ``ANALYZE`` after a bulk load; SQLite's planner does
    not need it. A failure is logged, never raised: the import is already committed.
    """
    connection = connections[router.db_for_write(models_[0])] if models_ else None
    if connection is None or connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    try:
        with connection.cursor() as cursor:
            for model in dict.fromkeys(models_):
                cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")  # quoted table names only
    except DatabaseError:
        logger.warning("could not refresh the statistics of %s", [m._meta.db_table for m in models_], exc_info=True)

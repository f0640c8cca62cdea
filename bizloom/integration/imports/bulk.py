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

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router

ROWS_PER_STATEMENT = 1000
MAX_PARAMS = 30_000
_AS_IS = frozenset({"CharField", "TextField", "BooleanField", "IntegerField", "PositiveIntegerField",
                    "PositiveBigIntegerField", "PositiveSmallIntegerField", "BigIntegerField", "SmallIntegerField",
                    "SlugField"})


def _converter(field: models.Field[Any, Any], connection: Any) -> Callable[[models.Model], Any]:
    attname = field.attname
    auto_now = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
    if auto_now:
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    if field.is_relation or field.get_internal_type() in _AS_IS:
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


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
    converters = [_converter(f, connection) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMS // max(1, len(fields))))
    if connection.vendor == "postgresql":
        _insert_postgresql(connection, model, fields, [[convert(obj) for convert in converters] for obj in instances],
                           instances if not given else None)
        for obj in instances:
            obj._state.adding = False
            obj._state.db = alias
        return
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            part = instances[start:start + size]
            params = [convert(obj) for obj in part for convert in converters]
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


def insert_values(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (one value per field in ``names``, Python values) without building instances.

    For append-only bookkeeping rows (audit entries, per-row import results) whose keys nobody
    needs: each value goes through its field's ``get_db_prep_save`` where the database needs a
    conversion (JSON, dates, decimals), as ``save()`` would.
    """
    if not rows:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    prepare: list[Callable[[Any], Any] | None] = []
    for field in fields:
        if field.is_relation or field.get_internal_type() in _AS_IS:
            prepare.append(None)
        else:
            prepare.append(functools.partial(field.get_db_prep_save, connection=connection))  # type: ignore[union-attr]
    if connection.vendor == "postgresql":
        _insert_postgresql(connection, model, fields, [
            [value if convert is None else convert(value) for value, convert in zip(row, prepare, strict=True)]
            for row in rows], None)
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMS // max(1, len(fields))))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start:start + size]
            params = [value if convert is None else convert(value)
                      for row in part for value, convert in zip(row, prepare, strict=True)]
            values = ", ".join([one_row] * len(part))
            cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}", params)  # noqa: S608


def _insert_postgresql(connection: Any, model: type[models.Model], fields: Sequence[Any], rows: list[list[Any]],
                       instances: Sequence[models.Model] | None) -> None:
    """PostgreSQL: one short prepared INSERT sent for every row in psycopg's pipeline (``executemany``).

    A multi-row VALUES statement is slow there: psycopg re-parses a long query's placeholders on
    every call and the server parses every literal. ``executemany`` sends the rows in a pipeline,
    with server-side parameters, in the transaction of Django's connection (its raw cursor, so the
    rows are not logged one by one). With ``instances``, their keys come back from ``RETURNING``.
    """
    connection.ensure_connection()
    quote = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names only
    import psycopg

    # A server-binding cursor: Django's connection makes client-binding ones, which quote every value into the text.
    with psycopg.Cursor(connection.connection) as cursor:
        if instances is None:
            cursor.executemany(sql, rows)
            return
        assert meta.pk is not None
        cursor.executemany(f"{sql} RETURNING {quote(str(meta.pk.column))}", rows, returning=True)
        keys = []
        while True:
            found = cursor.fetchone()
            assert found is not None
            keys.append(found[0])
            if not cursor.nextset():
                break
        for obj, key in zip(instances, keys, strict=True):
            setattr(obj, meta.pk.attname, key)

"""Database triggers that make the audit table append-only, also against raw SQL.

Installed by migration 0002. PostgreSQL gets a row trigger (BEFORE UPDATE OR DELETE) that
raises ``integrity_constraint_violation``; SQLite gets two BEFORE triggers that
``RAISE(ABORT)``. Both surface as ``django.db.IntegrityError``. TRUNCATE (PostgreSQL's
test-suite flush) is not blocked: it is a schema-owner operation, not a data edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TABLE = "audit_auditentry"
MESSAGE = "audit entries are append-only"

SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"]

POSTGRESQL_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse_change()",
]
POSTGRESQL_REMOVE = [f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
                     f"DROP FUNCTION IF EXISTS {TABLE}_refuse_change()"]

_STATEMENTS = {"sqlite": (SQLITE_INSTALL, SQLITE_REMOVE), "postgresql": (POSTGRESQL_INSTALL, POSTGRESQL_REMOVE)}


def _run(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: Any) -> None:
    """Create the triggers on ``connection``'s database (no-op for other vendors)."""
    if connection.vendor in _STATEMENTS:
        _run(connection, _STATEMENTS[connection.vendor][0])


def remove(connection: Any) -> None:
    """Drop the triggers (migration rollback and :func:`unsealed`)."""
    if connection.vendor in _STATEMENTS:
        _run(connection, _STATEMENTS[connection.vendor][1])


@contextmanager
def unsealed(connection: Any) -> Iterator[None]:
    """Drop the triggers for the block and put them back afterwards.

    Only for maintenance that must remove rows (a retention purge run by an operator, or a
    test-suite flush on SQLite, which deletes row by row). Run it inside a transaction so
    a failure leaves the triggers in place.
    """
    remove(connection)
    try:
        yield
    finally:
        install(connection)

"""Live progress of a running import batch, readable while the batch's own transaction is open (issue #5).

A real run is ONE transaction (whole batch or nothing), so progress written inside it would
be invisible until the end. Progress is therefore written *beside* that transaction, and
committed at once, after every chunk of rows:

* **PostgreSQL**: through a second connection in autocommit mode, as an ``UPDATE`` of the
  batch's ``rows_done`` / ``rows_total``. The run's transaction does not touch the batch row
  until it finishes (it was claimed before the transaction began), so the two never wait for
  each other; the page and the API read the committed row.
* **SQLite** allows one writer per database file, and the run's transaction (``BEGIN
  IMMEDIATE``) holds it for the whole run: a second connection writing to the same file would
  wait for the run to end (and fail after the busy timeout) — a self-deadlock. Progress goes
  to a small sidecar SQLite database instead (``MEDIA_ROOT/import-progress.sqlite3``, WAL,
  autocommit, one row per running batch), which the page and the API read; the row is
  removed when the run ends, and the batch row's ``rows_done`` then holds the final count.

Progress is a nicety: a failure to write it is logged and never stops the run.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("bizloom.imports")

SIDECAR_NAME = "import-progress.sqlite3"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS progress (batch_id INTEGER PRIMARY KEY, done INTEGER NOT NULL, "
           "total INTEGER NOT NULL, updated_at REAL NOT NULL DEFAULT (julianday('now')))")


def _is_sqlite() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "sqlite"


def sidecar_path() -> Path:
    """Where SQLite installations keep live progress."""
    return Path(settings.MEDIA_ROOT) / SIDECAR_NAME


def _sidecar() -> sqlite3.Connection:
    path = sidecar_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)  # autocommit
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # progress may lose its last update in a crash: no fsync per report
    connection.execute(_SCHEMA)
    return connection


class Reporter:
    """Writes the progress of one batch from the worker; use as a context manager around the run."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self._sqlite = _is_sqlite()
        self._connection: Any = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def report(self, done: int, total: int) -> None:
        """Store ``done`` of ``total`` rows, committed at once, outside the run's transaction."""
        try:
            if self._sqlite:
                if self._connection is None:
                    self._connection = _sidecar()
                self._connection.execute(
                    "INSERT INTO progress (batch_id, done, total, updated_at) VALUES (?, ?, ?, julianday('now')) "
                    "ON CONFLICT (batch_id) DO UPDATE SET done = excluded.done, total = excluded.total, "
                    "updated_at = excluded.updated_at", (self.batch_id, done, total))
            else:
                if self._connection is None:
                    self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
                    with self._connection.cursor() as cursor:
                        # Progress is a hint: a crash may lose the last report, so no WAL flush per report.
                        cursor.execute("SET synchronous_commit TO off")
                from bizloom.integration.models import ImportBatch

                table = ImportBatch._meta.db_table
                with self._connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {table} SET rows_done = %s, rows_total = %s WHERE id = %s",  # noqa: S608
                                   [done, total, self.batch_id])
        except Exception:  # progress is a nicety; never fail the run for it
            logger.warning("cannot write progress of import batch %s", self.batch_id, exc_info=True)

    def close(self) -> None:
        """Drop the sidecar row (SQLite) and close the side connection."""
        connection, self._connection = self._connection, None
        try:
            if self._sqlite:
                connection = connection or (_sidecar() if sidecar_path().exists() else None)
                if connection is not None:
                    connection.execute("DELETE FROM progress WHERE batch_id = ?", (self.batch_id,))
            if connection is not None:
                connection.close()
        except Exception:
            logger.warning("cannot clear progress of import batch %s", self.batch_id, exc_info=True)


def read(batch_id: int) -> tuple[int, int] | None:
    """Live (done, total) of a running batch from the SQLite sidecar; None elsewhere or when there is none.

    On PostgreSQL the batch row itself is live (see the module docstring).
    """
    if not _is_sqlite() or not sidecar_path().exists():
        return None
    try:
        connection = sqlite3.connect(sidecar_path(), timeout=5, isolation_level=None)
        try:
            found = connection.execute("SELECT done, total FROM progress WHERE batch_id = ?", (batch_id,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return None
    return (int(found[0]), int(found[1])) if found else None

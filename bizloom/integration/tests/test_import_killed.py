"""A batch commits completely or not at all: SIGKILL the worker in the middle of a real run (issue #5).

The run happens in a separate Python process on a file-backed SQLite database (and on
PostgreSQL when the suite runs there), slowed down per row by the test-only
``BIZLOOM_IMPORT_TEST_ROW_DELAY`` hook, in chunks of 10 rows (``BIZLOOM_IMPORT_CHUNK_ROWS``) so
that several chunks are written before the kill. Once the live progress (the SQLite sidecar
or, on PostgreSQL, the batch row written through a second connection) shows rows processed,
the process is killed; afterwards no account of the file exists and the batch is not "done".
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROJECT = Path(__file__).resolve().parents[3]
ROWS = 200

SETUP = """
import django, sys
django.setup()
from bizloom.platform.models import User
from django.contrib.auth.models import Permission
user = User.objects.create_user(username="killer", password="pw-secret-123")
user.user_permissions.add(*Permission.objects.filter(content_type__app_label="crm",
    codename__in=["view_account", "add_account", "change_account", "import_account"]))
from bizloom.integration.imports import services
lines = ["Name,City"] + [f"Killed Co {i},City {i}" for i in range(%(rows)d)]
batch = services.upload_batch(iter([("\\r\\n".join(lines)).encode()]), filename="kill.csv",
                              declaration="crm.account", actor=User.objects.get(pk=user.pk))
from bizloom.integration.imports import progress
print(batch.pk, progress.sidecar_path(), flush=True)
"""

RUN = """
import django, sys
django.setup()
from bizloom.integration.imports import services
from bizloom.integration.models import ImportBatch
from bizloom.platform.models import User
batch = ImportBatch.objects.get(pk=int(sys.argv[1]))
services.start_run(batch, dry_run=False, actor=User.objects.get(username="killer"))
print("finished", flush=True)
"""


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "BIZLOOM_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url,
           "DJANGO_SETTINGS_MODULE": "bizloom.settings", "BIZLOOM_TESTING": "1", "BIZLOOM_TASK_BACKEND": "immediate",
           "BIZLOOM_SECRET_KEY": "kill-test-secret-key-0123456789abcdef0123456789"}
    env.pop("BIZLOOM_IMPORT_TEST_ROW_DELAY", None)
    env.update(extra)
    return env


def _python(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=PROJECT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _live_done(database_url: str, sidecar: str, batch_id: str) -> int:
    """Rows processed as the import page sees them while the run's transaction is open."""
    try:
        if database_url.startswith("sqlite"):
            connection = sqlite3.connect(sidecar, timeout=1)
            try:
                found = connection.execute("SELECT done FROM progress WHERE batch_id = ?", (int(batch_id),)).fetchone()
            finally:
                connection.close()
        else:
            import psycopg

            with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as connection:
                found = connection.execute("SELECT rows_done FROM integration_importbatch WHERE id = %s",
                                           (int(batch_id),)).fetchone()
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    return int(found[0]) if found else 0


def _kill_mid_run(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=PROJECT, check=True,
                   timeout=300)
    batch_id, sidecar = _python(SETUP % {"rows": ROWS}, env).split()
    runner = subprocess.Popen([sys.executable, "-c", RUN, batch_id], cwd=PROJECT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=_env(tmp_path, database_url,
                                                               BIZLOOM_IMPORT_TEST_ROW_DELAY="0.02",
                                                               BIZLOOM_IMPORT_CHUNK_ROWS="10"))
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and runner.poll() is None:
            done = _live_done(database_url, sidecar, batch_id)
            if done >= 50:
                break
            time.sleep(0.05)
        assert runner.poll() is None, runner.stderr.read().decode()[-3000:] if runner.stderr else ""
        assert 50 <= done < ROWS
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == -signal.SIGKILL
    return


CHECK = """
import django, sys
django.setup()
from bizloom.crm.models import Account
from bizloom.integration.models import ImportBatch, ImportBatchRow
batch = ImportBatch.objects.get(pk=int(sys.argv[1]))
print(Account.objects.filter(name__startswith="Killed Co").count(), batch.status,
      ImportBatchRow.objects.filter(batch=batch).count())
"""


def test_killed_real_run_leaves_nothing_on_sqlite(tmp_path):
    # given a file-backed SQLite database
    url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    # when
    _kill_mid_run(tmp_path, url)
    # then
    connection = sqlite3.connect(tmp_path / "kill.sqlite3")
    try:
        accounts = connection.execute("SELECT count(*) FROM crm_account WHERE name LIKE 'Killed Co%'").fetchone()[0]
        status, rows = connection.execute(
            "SELECT status, (SELECT count(*) FROM integration_importbatchrow) FROM integration_importbatch").fetchone()
    finally:
        connection.close()
    assert accounts == 0
    assert status == "running"  # never "done"
    assert rows == 0


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/test_bizloom_imp_kill"))


@pytest.mark.skipif(_postgres_url() is None, reason="runs when the suite runs on PostgreSQL (DATABASE_URL)")
def test_killed_real_run_leaves_nothing_on_postgresql(tmp_path):
    import psycopg

    url = _postgres_url()
    assert url is not None
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS test_bizloom_imp_kill WITH (FORCE)")
        connection.execute("CREATE DATABASE test_bizloom_imp_kill")
    try:
        # when
        _kill_mid_run(tmp_path, url)
        # then
        env = _env(tmp_path, url)
        batch_id = _python("import django; django.setup()\nfrom bizloom.integration.models import ImportBatch\n"
                           "print(ImportBatch.objects.get().pk)", env).strip()
        accounts, status, rows = _python(CHECK, env, batch_id).split()
        assert (accounts, status, rows) == ("0", "running", "0")
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("DROP DATABASE IF EXISTS test_bizloom_imp_kill WITH (FORCE)")

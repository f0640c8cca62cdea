"""The browser fixture leaves no database connection open behind it (PostgreSQL can drop the test database).

While Playwright's sync API runs, Django keeps the test thread's connections in another store
(see the ``browser`` fixture). A worker that ran browser tests and then a plain ``django_db``
test used to end its session with that test's connection still open, out of Django's reach,
and pytest warned "Error when trying to teardown test databases: ... database
"test_bizloom_gw0" is being accessed by other users". The order that provokes it (a database
test, a browser test, a database test again) is what ``--dist loadfile`` gives a worker; it is
replayed here in a pytest of its own, whose session teardown is what is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROJECT = Path(__file__).resolve().parents[2]

SEQUENCE = '''
import pytest

from bizloom.platform.models import User


@pytest.mark.django_db
def test_first_a_database_test():
    assert not User.objects.exists()


def test_then_a_browser_test(browser):
    assert browser.is_connected()


@pytest.mark.django_db
def test_then_a_database_test_again():
    assert not User.objects.exists()
'''

# pytest-django runs plain database tests before the others; an xdist worker runs whole
# files in the order it is sent them. Keep the order of the file, as such a worker may.
IN_FILE_ORDER = '''
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.location[1])
'''


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.mark.skipif(_postgres_url() is None, reason="runs when the suite runs on PostgreSQL (DATABASE_URL)")
def test_session_after_browser_and_database_tests_drops_its_test_database(tmp_path):
    import psycopg

    url = _postgres_url()
    assert url is not None
    database = f"{os.environ.get('BIZLOOM_TEST_DB_NAME', 'test_bizloom')}_browser_{os.getpid()}"
    (tmp_path / "test_sequence.py").write_text(SEQUENCE)
    (tmp_path / "in_file_order.py").write_text(IN_FILE_ORDER)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env.update(BIZLOOM_TEST_DB_NAME=database,
               PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")])))
    admin = urlunsplit(urlsplit(url.replace("postgres://", "postgresql://", 1))._replace(path="/postgres"))
    try:
        # when
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-c", str(PROJECT / "pyproject.toml"), "--rootdir", str(PROJECT),
             "-p", "tests.browser.conftest", "-p", "in_file_order", "-p", "no:xdist", "--no-migrations",
             "-q", "-rA", str(tmp_path / "test_sequence.py")],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
        # then
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-3000:]
        assert "3 passed" in output, output[-3000:]
        assert "teardown test databases" not in output, output[-3000:]
        with psycopg.connect(admin, autocommit=True) as connection:
            assert connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

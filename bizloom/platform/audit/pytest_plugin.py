"""pytest plugin: let pytest-django flush a SQLite test database that holds audit entries.

Transactional tests (``django_db(transaction=True)``, ``transactional_db``, ``live_server``)
are cleaned up with ``flush``, which on SQLite deletes row by row and so trips the audit
table's append-only triggers. Around the teardown of such a test this plugin drops the
triggers and installs them again afterwards. PostgreSQL flushes with TRUNCATE, which the
row triggers do not see, so nothing is done there.

Load it with ``-p bizloom.platform.audit.pytest_plugin`` (pyproject ``addopts``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


def _is_transactional(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    if "transactional_db" in fixtures or "live_server" in fixtures:
        return True
    marker = item.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> Generator[None, None, None]:
    if not _is_transactional(item):
        yield
        return
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    from bizloom.platform.audit import triggers
    from bizloom.platform.audit.apps import ensure_triggers

    blocker = item.config.stash[blocking_manager_key]
    sqlite_aliases = [alias for alias in connections if connections[alias].vendor == "sqlite"]
    with blocker.unblock():
        for alias in sqlite_aliases:
            triggers.remove(connections[alias])
    try:
        yield
    finally:
        with blocker.unblock():
            for alias in sqlite_aliases:
                ensure_triggers(using=alias)

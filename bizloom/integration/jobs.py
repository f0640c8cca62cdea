"""Periodic jobs of the integration app (found by ``scheduler.load_jobs()``)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from bizloom.integration.imports import services as imports
from bizloom.platform import scheduler


@scheduler.periodic(every=timedelta(days=1), name="integration.prune_import_files")
@task()
def prune_import_files() -> int:
    """Delete uploaded import files and error cells older than ``BIZLOOM_IMPORT_RETENTION_DAYS`` (30)."""
    return imports.prune_old_files()

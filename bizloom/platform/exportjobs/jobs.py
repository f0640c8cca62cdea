"""Periodic jobs of the exports: delete expired export files (found by ``scheduler.load_jobs()``)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from bizloom.platform import export_jobs, scheduler


@scheduler.periodic(every=timedelta(hours=1), name="exportjobs.prune_expired_exports")
@task()
def prune_expired_exports() -> int:
    """Delete export jobs past their expiry and their files."""
    return export_jobs.prune_expired_exports()

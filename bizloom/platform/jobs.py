"""The platform's periodic jobs: housekeeping of the scheduler's claims and of task results.

Imported by the scheduler (``scheduler.load_jobs()``) and by ``PlatformConfig.ready()``.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from bizloom.platform import scheduler

TASK_RESULT_RETENTION = timedelta(days=14)


@scheduler.periodic(every=timedelta(days=1), name="platform.prune_scheduled_runs")
@task()
def prune_scheduled_runs() -> int:
    """Delete scheduler claims older than a week (longer for jobs with long intervals)."""
    return scheduler.prune_scheduled_runs()


@scheduler.periodic(every=timedelta(days=1), name="platform.prune_task_results")
@task()
def prune_task_results() -> int:
    """Delete finished (successful or failed) database task results older than 14 days."""
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - TASK_RESULT_RETENTION
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


@scheduler.periodic(every=timedelta(hours=1), name="platform.prune_idempotency_keys")
@task()
def prune_idempotency_keys() -> int:
    """Forget stored responses of Idempotency-Key calls older than a day."""
    from bizloom.platform.api import idempotency

    return idempotency.prune()

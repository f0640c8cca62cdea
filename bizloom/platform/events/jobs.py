"""Periodic job of the events app: sweep the outbox every minute.

Delivers retries whose backoff has passed and anything whose after-commit enqueue was lost.
"""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from bizloom.platform import scheduler
from bizloom.platform.events import services


@scheduler.periodic(every=timedelta(minutes=1), name="events.sweep_outbox")
@task()
def sweep_outbox() -> int:
    """Deliver every due pending outbox message; returns how many were delivered."""
    return services.deliver_due()

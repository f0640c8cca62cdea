"""The outbox delivery task (queue "default"), enqueued after every commit that wrote outbox rows."""

from __future__ import annotations

from django_tasks import task

from bizloom.platform.events import services


@task(queue_name="default")
def deliver_outbox(message_ids: list[int] | None = None) -> int:
    """Deliver the due pending messages among ``message_ids`` (all due ones when None)."""
    return services.deliver_due(message_ids)

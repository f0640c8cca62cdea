"""Reads of the outbox for the operators' page."""

from __future__ import annotations

from bizloom.platform.events.models import OutboxMessage

PAGE_LIMIT = 200


def list_failed_messages(limit: int = PAGE_LIMIT) -> list[OutboxMessage]:
    """Messages that ran out of attempts, newest first."""
    return list(OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED).order_by("-pk")[:limit])


def list_pending_messages(limit: int = PAGE_LIMIT) -> list[OutboxMessage]:
    """Messages waiting for delivery, the next due first."""
    return list(OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
                .order_by("next_attempt_at", "pk")[:limit])

"""The outbox: one row per (event, async handler), written in the publisher's transaction.

A bulk writer's ``publish_many`` writes one row per handler for up to ``services.BATCH_SIZE``
events of one name at once (``event_count`` > 1, ``payload`` the list of their fields): the
importer's 100,000 new contacts are 1,000 rows, not 100,000, and delivering one of them is one
call of the handler's batch function.

The worker delivers due rows after commit (``services.deliver_due``); a failing handler is
retried with exponential backoff and, after ``MAX_ATTEMPTS``, left ``failed`` for a person
to retry from the outbox page.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """An event, or several events of one name, waiting for (or past) delivery to one asynchronous handler.

    ``payload`` is the event's fields; when ``event_count`` is more than one it is the list of the
    events' fields, in the order they were published (see :meth:`payloads`).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event_name = models.CharField(_("event"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    event_count = models.PositiveIntegerField(_("events"), default=1)
    handler = models.CharField(_("handler"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="events_outbox_due_idx")]

    def __str__(self) -> str:
        events = f" ×{self.event_count}" if self.event_count > 1 else ""
        return f"{self.event_name}{events} → {self.handler} ({self.status})"

    def payloads(self) -> list[dict[str, Any]]:
        """The fields of each event the message carries, in publishing order."""
        return [dict(p) for p in self.payload] if self.event_count > 1 else [dict(self.payload)]

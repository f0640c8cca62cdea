"""The outbox: one row per (event, async handler), written in the publisher's transaction.

The worker delivers due rows after commit (``services.deliver_due``); a failing handler is
retried with exponential backoff and, after ``MAX_ATTEMPTS``, left ``failed`` for a person
to retry from the outbox page.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """An event waiting for (or past) delivery to one asynchronous handler."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event_name = models.CharField(_("event"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
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
        return f"{self.event_name} → {self.handler} ({self.status})"

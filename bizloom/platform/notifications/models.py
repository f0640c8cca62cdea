"""Notifications: what a user is told (in the bell and by e-mail) and how they want to be told."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one user, optionally about a record (``target``); unread until ``read_at`` is set.

    ``target_repr`` keeps the record's name as it was, so the list still reads well after
    the record is renamed or deleted.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                                  verbose_name=_("recipient"))
    kind = models.CharField(_("kind"), max_length=50)
    message = models.TextField(_("message"))
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+", verbose_name=_("record type"))
    target_id = models.CharField(_("record id"), max_length=64, blank=True)
    target_repr = models.CharField(_("record"), max_length=200, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("actor"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notif_recipient_unread_idx")]

    def __str__(self) -> str:
        return self.message[:80]

    @property
    def is_read(self) -> bool:
        """Whether the recipient has read it."""
        return self.read_at is not None


class NotificationPreference(models.Model):
    """How ``user`` wants notifications of one ``kind``; without a row both channels are on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences", verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=50)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by e-mail"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notifications_preference_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}"

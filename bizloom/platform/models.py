"""Platform models: users and the runtime bookkeeping of worker and scheduler."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in. ``language`` overrides the browser's preference once chosen."""

    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("Interface language; empty follows the browser."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")  # type: ignore[assignment]  # stubs type Meta.verbose_name as str
        verbose_name_plural = _("users")  # type: ignore[assignment]
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class WorkerHeartbeat(models.Model):
    """One row per running task worker, touched periodically; health reads it."""

    name = models.CharField(_("worker"), max_length=200, unique=True)
    started_at = models.DateTimeField(_("started at"))
    seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.name


class ScheduledRun(models.Model):
    """Claim of one periodic job for one period.

    The unique constraint is what makes the scheduler safe on several machines: every
    scheduler tries to insert (job, period) and only the one whose insert succeeds
    enqueues the job.
    """

    job = models.CharField(_("job"), max_length=100)
    period = models.CharField(_("period"), max_length=40)
    claimed_by = models.CharField(_("claimed by"), max_length=200)
    claimed_at = models.DateTimeField(_("claimed at"))

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        ordering = ["-claimed_at"]
        constraints = [models.UniqueConstraint(fields=["job", "period"], name="platform_scheduledrun_once_per_period")]

    def __str__(self) -> str:
        return f"{self.job}@{self.period}"


class SavedView(models.Model):
    """A named set of list parameters (search, filters, sort, columns) a user keeps."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views",
                              verbose_name=_("owner"))
    list_key = models.CharField(_("list"), max_length=100)
    name = models.CharField(_("name"), max_length=100)
    params = models.JSONField(_("parameters"), default=dict)
    is_default = models.BooleanField(_("default view"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["list_key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_key", "name"], name="platform_savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

"""ExportJob: one list export built by the worker, downloadable by its owner until it expires."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """A list export run in the worker (issue #5).

    ``params`` are the list's parameters (ListState.to_params) at the time of the request;
    the worker rebuilds the same access-restricted queryset from them for ``owner``.
    ``file_path`` is relative to MEDIA_ROOT (``exports/<random>.<ext>``) and set only when
    ``status`` is done; the file is served only to ``owner`` and deleted at ``expires_at``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs",
                              verbose_name=_("owner"))
    list_key = models.CharField(_("list"), max_length=100)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    format = models.CharField(_("format"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    filename = models.CharField(_("file name"), max_length=200)
    file_path = models.CharField(_("file path"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["owner", "-created_at"], name="exportjob_owner_created_idx")]
        default_permissions = ()  # reached only through the list's export permission and ownership

    def __str__(self) -> str:
        return f"{self.list_key} {self.format} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """Whether the job is done or failed (the status page stops polling)."""
        return self.status in (self.Status.DONE, self.Status.FAILED)

"""Integration records: personal API tokens (webhooks and connectors follow)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A personal token a user creates to call the REST API as themself.

    Only the SHA-256 hash of the secret is stored; the plaintext is shown once when the
    token is created. ``prefix`` (the first characters) lets the owner recognise it. A
    token stops working when it expires or is revoked; rows are kept for the audit trail.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    secret_hash = models.CharField(_("secret hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active_at(self, moment: datetime | None = None) -> bool:
        """Neither revoked nor expired at ``moment`` (now by default)."""
        return self.revoked_at is None and self.expires_at > (moment or timezone.now())


class ExternalId(models.Model):
    """The id a record had in another system (``source``), so a later import can find it again.

    Generic (content type + object id), so any model can be upserted by its old id without a
    column on the business model. ``value`` is unique per model and source (issue #5).
    """

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE,
                                     verbose_name=_("content type"))
    object_id = models.CharField(_("object id"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")  # lets the merge tool find it (crm.merging)
    source = models.CharField(_("source"), max_length=100)
    value = models.CharField(_("external id"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [models.UniqueConstraint(fields=["content_type", "source", "value"],
                                               name="integration_externalid_unique")]
        indexes = [models.Index(fields=["content_type", "object_id"], name="integration_extid_object_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}"


class ImportBatch(models.Model):
    """One uploaded import file and what became of it: mapping, options, runs, counts, undo.

    The file lives under ``MEDIA_ROOT/imports/<random>`` (never web-served). ``status`` moves
    uploaded → queued → running → dry_run_done / done / failed; a done batch may become undone.
    Counts and ``rows_*`` describe the last run (dry or real).
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DRY_RUN_DONE = "dry_run_done", _("Dry run done")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        UNDONE = "undone", _("Undone")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_batches",
                             verbose_name=_("user"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    declaration = models.CharField(_("object type"), max_length=100)
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    file_path = models.CharField(_("stored file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10, blank=True)
    encoding = models.CharField(_("encoding"), max_length=40, blank=True)
    detected_encoding = models.CharField(_("detected encoding"), max_length=40, blank=True)
    encoding_confidence = models.FloatField(_("encoding confidence"), default=1.0)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    mapping = models.JSONField(_("mapping"), default=dict, help_text=_("Column header → field key."))
    options = models.JSONField(_("options"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.UPLOADED)
    is_dry_run = models.BooleanField(_("dry run"), default=False)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    pruned_at = models.DateTimeField(_("files removed at"), null=True, blank=True,
                                     help_text=_("When the uploaded file and the error rows' cells were deleted "
                                                 "(after BIZLOOM_IMPORT_RETENTION_DAYS)."))

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["declaration", "sha256"], name="integration_batch_sha_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.created_at:%Y-%m-%d %H:%M})"


class ImportBatchRow(models.Model):
    """The outcome of one file row in the last run of a batch.

    ``object_id`` is the record created, updated or matched; ``before`` holds the written fields'
    old values of an update (for undo); ``errors`` is a list of ``{"column", "field", "message"}``;
    ``values`` keeps the original cells of rows with errors (for the error file).
    """

    class Outcome(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        UNCHANGED = "unchanged", _("Unchanged")
        DUPLICATE = "duplicate", _("Duplicate (skipped)")
        ERROR = "error", _("Error")

    # No index of its own: the unique (batch, number) constraint's index serves look-ups by batch.
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows", verbose_name=_("batch"),
                              db_index=False)
    number = models.PositiveIntegerField(_("row"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    label = models.CharField(_("record"), max_length=255, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    values = models.JSONField(_("values"), null=True, blank=True)

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["batch", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="integration_batchrow_unique")]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.number} {self.outcome}"


class ImportMappingTemplate(models.Model):
    """A saved column mapping for files of one ``source`` (the old system) and object type."""

    declaration = models.CharField(_("object type"), max_length=100)
    source = models.CharField(_("source"), max_length=100)
    mapping = models.JSONField(_("mapping"), default=dict)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mapping template")
        verbose_name_plural = _("mapping templates")
        ordering = ["declaration", "source"]
        constraints = [models.UniqueConstraint(fields=["declaration", "source"], name="integration_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.declaration} / {self.source}"

"""Comments and attachments on any business record (issue #3).

Both point at their record with (content_type, object_id) and are shown on its timeline.
Whoever may view the record may read and add them; the access check is always on the
parent record (``bizloom.platform.access``), never on these rows alone.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Comment(models.Model):
    """Plain text written on a record; ``@username`` mentions notify the users named."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("record type"))
    object_id = models.CharField(_("record id"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments",
                               verbose_name=_("author"))
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in",
                                      verbose_name=_("mentions"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="timeline_comment_record_idx")]

    def __str__(self) -> str:
        return self.body[:80]


def attachment_path(instance: Attachment, filename: str) -> str:
    """``attachments/YYYY/MM/<uuid>``: a random name, no extension, nothing from the uploader."""
    now = timezone.now()
    return f"attachments/{now:%Y}/{now:%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file uploaded to a record. Stored under a random name in MEDIA_ROOT, served only
    through the access-checked download view; ``content_type_name`` is what the server sniffed
    and allowed, not what the browser claimed."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("record type"))
    object_id = models.CharField(_("record id"), max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=255)
    mime_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attachments",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="timeline_attach_record_idx")]

    def __str__(self) -> str:
        return self.filename

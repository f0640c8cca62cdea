"""The standing duplicate queue: pairs of records the duplicate rules flag, until a person
merges them or says they are different."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class DuplicatePair(models.Model):
    """Two records of one model that look like the same party (``first_id`` < ``second_id``).

    ``rule`` names the duplicate key that matched (tax id, email, phone, company name);
    ``value`` is the shared key, shown to the reviewer.
    """

    class Rule(models.TextChoices):
        TAX_ID = "tax_id", _("Same tax id")
        EMAIL = "email", _("Same email")
        PHONE = "phone", _("Same phone")
        NAME = "name", _("Same company name")

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not duplicates")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("record type"))
    first_id = models.PositiveBigIntegerField(_("first record"))
    second_id = models.PositiveBigIntegerField(_("second record"))
    rule = models.CharField(_("rule"), max_length=16, choices=Rule)
    value = models.CharField(_("shared value"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.OPEN)
    detected_at = models.DateTimeField(_("detected at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                    blank=True, verbose_name=_("resolved by"))

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-detected_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["content_type", "first_id", "second_id"],
                                               name="crm_duplicate_pair_unique"),
                       models.CheckConstraint(condition=models.Q(first_id__lt=models.F("second_id")),
                                              name="crm_duplicate_pair_order")]
        indexes = [models.Index(fields=["content_type", "status"], name="crm_duplicate_status_idx")]

    def __str__(self) -> str:
        return f"{self.content_type.model} #{self.first_id} ~ #{self.second_id}"

"""Activities: calls, visits, meetings, tasks, logged emails and notes, linked to any record."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models.accounts import Account, Contact
from bizloom.platform.customfields.models import CustomFieldsMixin


class Activity(CustomFieldsMixin, models.Model):
    """Something done or to do with a customer, linked to a business record.

    ``record`` (content type + id) is the record it belongs to (an account, contact, lead,
    opportunity, contract, and later orders or tickets); ``account`` is that record's account,
    kept by the services so the account's 360 page and merges find it with one query.
    ``owner`` is the person who does it. A recurring activity, when completed, schedules the
    next one (``recurrence`` + ``recurrence_until``); ``series`` links the occurrences.
    """

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        TASK = "task", _("Task")
        EMAIL = "email", _("Email")
        NOTE = "note", _("Note")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Recurrence(models.TextChoices):
        NONE = "", _("Does not repeat")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    # Completing or cancelling is final; a mistake is corrected by scheduling a new activity.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PLANNED: frozenset({Status.DONE, Status.CANCELLED}),
    }

    kind = models.CharField(_("type"), max_length=16, choices=Kind, default=Kind.TASK)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PLANNED)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True, editable=False)
    result = models.TextField(_("result"), blank=True)
    location = models.CharField(_("address"), max_length=300, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", null=True,
                                     blank=True, verbose_name=_("record type"))
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    record = GenericForeignKey("content_type", "object_id")
    record.verbose_name = _("linked record")  # the audit trail and timeline label
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="activities", null=True,
                                blank=True, verbose_name=_("account"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="activities", null=True,
                                blank=True, verbose_name=_("contact"))
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="attended_activities", blank=True,
                                       verbose_name=_("attendees"))
    contact_attendees = models.ManyToManyField(Contact, related_name="attended_activities", blank=True,
                                               verbose_name=_("contact attendees"))
    recurrence = models.CharField(_("repeats"), max_length=16, choices=Recurrence, default=Recurrence.NONE,
                                  blank=True)
    recurrence_until = models.DateField(_("repeats until"), null=True, blank=True)
    series = models.ForeignKey("self", on_delete=models.SET_NULL, related_name="occurrences", null=True,
                               blank=True, editable=False, verbose_name=_("series"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_activities",
                              verbose_name=_("assigned to"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["due_at", "pk"]
        permissions = [("export_activity", _("Can export activities")),
                       ("import_activity", _("Can import activities"))]
        indexes = [models.Index(fields=["owner", "status", "due_at"], name="crm_activity_owner_due_idx"),
                   models.Index(fields=["content_type", "object_id"], name="crm_activity_record_idx"),
                   models.Index(fields=["status", "remind_at"], name="crm_activity_remind_idx"),
                   models.Index(fields=["account", "due_at"], name="crm_activity_account_idx")]

    def __str__(self) -> str:
        return self.subject


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed address; only the SHA-256 of its token is stored."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed",
                                verbose_name=_("user"))
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"calendar feed of user #{self.user_id}"

"""The audit trail: one append-only row per change of a business record (issue #3).

Rows are written by services (``bizloom.platform.audit.services``), never edited and never
deleted: ``save()`` of an existing row, ``delete()`` and the queryset's ``update()`` /
``delete()`` raise :class:`AuditEntryImmutable`, and database triggers (migration 0002)
refuse UPDATE and DELETE from raw SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import DomainError
from bizloom.platform import middleware_context as ctx


class AuditEntryImmutable(DomainError):
    """An attempt to change or remove an audit entry; the trail is append-only."""

    code = "audit_entry_immutable"
    status = 409


def _refuse() -> AuditEntryImmutable:
    return AuditEntryImmutable(gettext("Audit entries cannot be changed or deleted."))


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Reads of the trail; bulk ``update()`` and ``delete()`` are refused."""

    def update(self, **kwargs: Any) -> int:
        raise _refuse()

    def delete(self) -> tuple[int, dict[str, int]]:
        raise _refuse()

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise _refuse()

    def for_object(self, obj: models.Model) -> AuditEntryQuerySet:
        """Entries about ``obj``, newest first."""
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))


class AuditEntry(models.Model):
    """Who did what to which record, when and through which channel, field by field.

    ``changes`` maps a field name (custom fields as ``cf_<key>``) to ``[old, new]`` with
    JSON-safe values: decimals as strings, dates ISO 8601, references as
    ``{"id": ..., "repr": ...}``. ``action`` is one of :class:`Action` or a free event name
    such as ``crm.account.merged``. Append-only (see module docstring).
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        STATE_CHANGE = "state_change", _("Status changed")
        OWNER_CHANGE = "owner_change", _("Owner changed")
        SHARE = "share", _("Shared")
        MERGE = "merge", _("Merged")

    class Channel(models.TextChoices):
        WEB = ctx.CHANNEL_WEB, _("web")
        API = ctx.CHANNEL_API, _("API")
        IMPORT = ctx.CHANNEL_IMPORT, _("import")
        AUTOMATION = ctx.CHANNEL_AUTOMATION, _("automation")
        SYSTEM = ctx.CHANNEL_SYSTEM, _("system")

    # No index of its own: audit_entry_object_idx (content_type, object_id) serves look-ups by type too.
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", db_index=False,
                                     verbose_name=_("record type"))
    object_id = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    # Not a choices field: besides the standard actions, services record free event names.
    action = models.CharField(_("action"), max_length=64)
    # PROTECT, not SET_NULL: the trail cannot be rewritten, so people with history are deactivated.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("actor"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel, default=Channel.SYSTEM)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-pk"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["content_type", "object_id"], name="audit_entry_object_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr} @ {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert the entry; raises AuditEntryImmutable for a row that already exists."""
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise _refuse()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Always raises AuditEntryImmutable."""
        raise _refuse()

    @property
    def action_label(self) -> str:
        """The translated label of a standard action, else the action name itself."""
        try:
            return str(self.Action(self.action).label)
        except ValueError:
            return self.action

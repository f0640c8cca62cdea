"""The bookkeeping every business-record service repeats: assign, audit, publish.

A service reads like the business process and calls these for the shared steps::

    @transaction.atomic
    def create_lead(data, *, actor):
        lead = Lead()
        records.assign(lead, {"owner": actor, **data}, writable=LEAD_FIELDS, actor=actor)
        full_clean(lead)
        lead.save()
        records.created(lead, actor=actor, event=LeadCreated(lead_id=lead.pk, ...))
        return lead

``updated`` writes the audit entry of an edit and publishes the "updated" (and, when the
owner changed, the "owner changed") event only when something really changed; ``delete``
turns a protected deletion into a clear DomainError; ``transfer_owner`` is the bulk owner
change every list page offers. Each writes its audit entries in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.services import validate_custom_values
from bizloom.platform.events import DomainEvent, publish

CUSTOM_FIELDS_KEY = "custom_fields"

M = TypeVar("M", bound=models.Model)
Snapshot = Mapping[str, Any]


def assign(instance: models.Model, data: Mapping[str, Any], *, writable: Iterable[str], actor: Any,
           skip: Iterable[str] = (), new_custom_data: Mapping[str, Any] | None = None) -> None:
    """Set the given fields of ``instance`` (strings trimmed).

    ``data["custom_fields"]`` ({key: value}) is validated with
    ``customfields.services.validate_custom_values`` and merged into ``custom_data``: all
    keys (defaults and required ones) on creation, the given ones on update. Names outside
    ``writable`` are refused with a DomainError naming them. Names in ``skip`` are accepted
    but left for the caller (many-to-many links, values it sets itself). ``new_custom_data``
    is what ``validate_custom_values(model, {})`` returned for this actor, for a caller that
    creates many records without custom values (the importer): a new record given none gets a
    copy of it instead of validating the same nothing again.
    """
    target: Any = instance  # a CustomFieldsMixin model when it has custom_data
    if CUSTOM_FIELDS_KEY in data:
        target.custom_data = validate_custom_values(
            type(instance), data[CUSTOM_FIELDS_KEY], instance=instance if instance.pk else None,
            partial=instance.pk is not None, user=actor)
        data = {k: v for k, v in data.items() if k != CUSTOM_FIELDS_KEY}
    elif instance.pk is None and hasattr(instance, "custom_data"):
        target.custom_data = (validate_custom_values(type(instance), {}, user=actor) if new_custom_data is None
                              else copy_custom_data(new_custom_data))
    refuse_unknown(data, writable)
    for name, value in data.items():
        if name not in skip:
            setattr(instance, name, value.strip() if isinstance(value, str) else value)


def refuse_unknown(data: Mapping[str, Any], writable: Iterable[str]) -> None:
    """DomainError (``unknown_fields``) naming the keys of ``data`` outside ``writable``, if any."""
    if isinstance(writable, set | frozenset) and writable.issuperset(data):  # the usual answer, with no new set
        return
    unknown = data.keys() - (writable if isinstance(writable, set | frozenset) else set(writable))
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})


def copy_custom_data(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A new record's own copy of ``validate_custom_values(model, {})``'s result (lists are not shared)."""
    if not defaults:  # no custom fields with defaults: the commonest case
        return {}
    return {k: list(v) if isinstance(v, list) else v for k, v in defaults.items()}


def owner_id(state: Snapshot | None) -> int | None:
    """The owner's id in an audit snapshot (None without an owner)."""
    owner = (state or {}).get("owner")
    return int(owner["id"]) if isinstance(owner, dict) else None


def created(instance: models.Model, *, actor: Any, event: DomainEvent | None,
            snapshot: Snapshot | None = None) -> None:
    """Record the "create" audit entry of a just-saved ``instance`` and publish ``event``.

    ``snapshot`` defaults to ``audit.snapshot(instance)``; pass your own when the record's
    audited state includes more (linked records, lines).
    """
    audit.record_change(instance, actor=actor, action=AuditEntry.Action.CREATE, before=None,
                        after=snapshot if snapshot is not None else audit.snapshot(instance))
    if event is not None:
        publish(event)


def updated(instance: models.Model, before: Snapshot, *, actor: Any,
            event: Callable[[tuple[str, ...]], DomainEvent | None] | None,
            owner_event: Callable[[int | None, int | None], DomainEvent] | None = None,
            after: Snapshot | None = None, action: str = AuditEntry.Action.UPDATE) -> AuditEntry | None:
    """Record an edit of ``instance`` (``before`` was taken before the change) and publish its events.

    Writes and publishes nothing when nothing changed, and returns the audit entry otherwise.
    ``event(changed_field_names)`` builds the "updated" event; ``owner_event(old_id, new_id)``
    the "owner changed" one, published too when the owner is among the changes.
    """
    after = after if after is not None else audit.snapshot(instance)
    entry = audit.record_change(instance, actor=actor, action=action, before=before, after=after)
    if entry is None:
        return None
    if event is not None and (built := event(tuple(entry.changes))) is not None:
        publish(built)
    if owner_event is not None and "owner" in entry.changes:
        publish(owner_event(owner_id(before), owner_id(after)))
    return entry


def delete(instance: models.Model, *, actor: Any, event: DomainEvent | None, snapshot: Snapshot | None = None,
           in_use_code: str = "record_in_use") -> None:
    """Delete ``instance`` with its "delete" audit entry (the last values) and publish ``event``.

    Refused with DomainError(``in_use_code``) while other records protect it; the refusal
    rolls back the audit entry too (a savepoint), so the caller's transaction can go on.
    """
    with transaction.atomic():
        # Recorded first because the entry needs the primary key; a refusal rolls it back.
        audit.record_change(instance, actor=actor, action=AuditEntry.Action.DELETE,
                            before=snapshot if snapshot is not None else audit.snapshot(instance), after=None)
        try:
            instance.delete()
        except ProtectedError as error:
            raise DomainError(_("%(record)s is still referred to by other records and cannot be deleted.")
                              % {"record": instance}, code=in_use_code) from error
    if event is not None:
        publish(event)


def transfer_owner(model: type[M], records: Iterable[M], new_owner: Any, *, actor: Any,
                   event: Callable[[int, int | None], DomainEvent] | None = None, field: str = "owner") -> int:
    """Give every record in ``records`` to ``new_owner``; returns how many changed.

    One UPDATE for all rows, one "owner_change" audit entry per changed record (one INSERT)
    and ``event(pk, old_owner_id)`` published for each. Records that already belong to
    ``new_owner`` are left alone and get no entry. Call inside a transaction.
    """
    from bizloom.platform.models import User

    ids = [record.pk for record in records]
    changing = list(model._default_manager.select_for_update().filter(pk__in=ids)
                    .exclude(**{field: new_owner}).order_by("pk").values_list("pk", f"{field}_id"))
    if not changing:
        return 0
    old_owners = User.objects.in_bulk({old for _pk, old in changing if old is not None})
    changed = model._default_manager.filter(pk__in=[pk for pk, _old in changing]).update(**{field: new_owner})
    audit.record_bulk(model, [pk for pk, _old in changing], actor=actor, action=AuditEntry.Action.OWNER_CHANGE,
                      changes_by_id={pk: {field: (old_owners.get(old) if old else None, new_owner)}
                                     for pk, old in changing})
    if event is not None:
        for pk, old in changing:
            publish(event(pk, old))
    return changed

"""Custom field use cases: validating values on every write path, and changing definitions
without ever losing values silently (issue #3).

Record services call :func:`validate_custom_values` and store the dict it returns::

    account.custom_data = validate_custom_values(Account, data["custom_fields"], instance=account,
                                                 partial=True, user=actor)

Definition changes: :func:`create_custom_field`, :func:`update_custom_field` (type change
migrates every value or is refused with a count; removing a used choice is refused),
:func:`set_custom_field_active`, :func:`delete_custom_field` (refused while values exist
unless ``purge=True``, which clears them and audits each record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.validation import full_clean
from bizloom.platform import access
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields import selectors, values
from bizloom.platform.customfields.models import CUSTOM_DATA_FIELD, PREFIX, CustomField
from bizloom.platform.models import User

T = CustomField.Type

DEFINITION_FIELDS = frozenset({
    "content_type", "key", "type", "label_en", "label_zh_hans", "label_zh_hant", "help_en", "help_zh_hans",
    "help_zh_hant", "is_required", "default", "choices", "target_content_type", "order", "is_active",
})
IMMUTABLE_FIELDS = frozenset({"content_type", "key"})


class CustomFieldInUse(DomainError):
    """A change to a definition that would lose or corrupt stored values."""

    code = "custom_field_in_use"
    status = 409


# --- values --------------------------------------------------------------------------------------


def _visible(user: Any, target: type[models.Model], pk: int) -> bool:
    return access.restrict(target._default_manager.filter(pk=pk), user, "view").exists()


def validate_custom_values(model: type[models.Model], data: Mapping[str, Any] | None, *,
                           instance: models.Model | None = None, partial: bool = False,
                           user: Any = None) -> dict[str, Any]:
    """Check and convert custom field input for a record of ``model``; return the new ``custom_data``.

    ``data`` maps field keys to values in any input form (see :func:`values.coerce`); a
    ``cf_`` prefix on a key is accepted. With ``partial=True`` (updates) keys left out keep
    their stored value; otherwise they are cleared, except for values of deactivated
    fields, which are always kept. On creation (no ``instance``) defaults fill keys left
    out. Empty values (None, "", []) clear a key.

    Refused, all at once as ValidationFailed with errors keyed ``cf_<key>``: unknown keys
    (keys of deactivated fields only when the value differs from the stored one), values
    that do not convert, unknown choices, missing required values, and references to
    records that do not exist or that ``user`` may not view (``access.restrict``; skipped
    for unchanged references and when ``user`` is None, e.g. system jobs).
    """
    definitions = selectors.definition_map(model)
    stored: dict[str, Any] = dict(getattr(instance, CUSTOM_DATA_FIELD, None) or {}) if instance is not None else {}
    given = {(str(k)[len(PREFIX):] if str(k).startswith(PREFIX) else str(k)): v for k, v in (data or {}).items()}
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] = dict(stored) if partial else {
        k: v for k, v in stored.items() if k not in definitions}
    for key, raw in given.items():
        field = definitions.get(key)
        if field is None:
            if key in stored and values.coerce_equal(stored[key], raw):
                continue  # a deactivated field's value sent back unchanged
            errors[f"{PREFIX}{key}"[:80]] = [_("Unknown custom field.")]
            continue
        try:
            value = values.coerce(field, raw)
        except values.InvalidValue as error:
            errors[field.name] = [str(error)]
            continue
        if (value is not None and field.type == T.REFERENCE and user is not None and value != stored.get(key)
                and not _visible(user, field.target_model() or model, value)):
            errors[field.name] = [_("You may not refer to this %(model)s.") % {
                "model": (field.target_model() or model)._meta.verbose_name}]
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    for key, field in definitions.items():
        if key in given or field.name in errors:
            continue
        if instance is None and field.default is not None and key not in result:
            result[key] = field.default
    for key, field in definitions.items():
        if field.is_required and field.type != T.BOOLEAN and values.is_empty(result.get(key)) and (
                instance is None or not partial or key in given) and field.name not in errors:
            errors[field.name] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Please correct the custom fields: %(fields)s.") % {
            "fields": ", ".join(sorted(errors))}, fields=errors)
    return result


# --- definitions ---------------------------------------------------------------------------------


def _content_type(value: Any, field: str) -> ContentType:
    if isinstance(value, ContentType):
        return value
    if isinstance(value, type) and issubclass(value, models.Model):
        return ContentType.objects.get_for_model(value)
    if isinstance(value, str) and "." in value:
        app_label, _dot, model_name = value.lower().partition(".")
        found = ContentType.objects.filter(app_label=app_label, model=model_name).first()
        if found is not None:
            return found
    message = _("Choose a business record type.")
    raise ValidationFailed(message, fields={field: [message]})


def _check_model(content_type: ContentType, field: str) -> None:
    model = content_type.model_class()
    if content_type.app_label not in access.BUSINESS_APPS or model is None:
        message = _("Custom fields can only be added to business records.")
        raise ValidationFailed(message, fields={field: [message]})
    if field == "content_type" and not selectors.has_custom_fields(model):
        message = _("%(model)s cannot hold custom fields yet.") % {"model": model._meta.verbose_name_plural}
        raise ValidationFailed(message, fields={field: [message]})


def _assign(field: CustomField, data: Mapping[str, Any]) -> None:
    unknown = set(data) - DEFINITION_FIELDS
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                               code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})
    for name, value in data.items():
        if name in ("content_type", "target_content_type"):
            if value is None:
                setattr(field, name, None)
                continue
            content_type = _content_type(value, name)
            _check_model(content_type, name)
            setattr(field, name, content_type)
        else:
            setattr(field, name, value.strip() if isinstance(value, str) else value)


def _clean_default(field: CustomField) -> None:
    if values.is_empty(field.default):
        field.default = None
        return
    try:
        field.default = values.coerce(field, field.default)
    except values.InvalidValue as error:
        raise ValidationFailed(str(error), fields={"default": [str(error)]}) from error


def _check_unique(field: CustomField) -> None:
    clash = CustomField.objects.filter(content_type_id=field.content_type_id, key=field.key).exclude(pk=field.pk)
    if clash.exists():
        message = _("This model already has a custom field with the key “%(key)s”.") % {"key": field.key}
        raise ValidationFailed(message, fields={"key": [message]})


@transaction.atomic
def create_custom_field(data: Mapping[str, Any], *, actor: User) -> CustomField:
    """Define a new custom field (``content_type`` may be a model, ``"crm.account"`` or a ContentType).

    Records a "create" audit entry on the definition. Raises ValidationFailed for a bad or
    duplicate key, missing label, malformed choices, a default that does not fit the type
    or a model that cannot hold custom fields.
    """
    field = CustomField()
    if "content_type" not in data:
        message = _("This field is required.")
        raise ValidationFailed(message, fields={"content_type": [message]})
    _assign(field, data)
    full_clean(field, exclude=["content_type"])
    _check_unique(field)
    _clean_default(field)
    field.save()
    audit.record_change(field, actor=actor, action=AuditEntry.Action.CREATE, before=None, after=audit.snapshot(field))
    selectors.forget_definitions()
    return field


def _convert(old: CustomField, new: CustomField, stored: Any) -> Any:
    """``stored`` (a value of ``old``) in the form of ``new``; raises InvalidValue."""
    if old.type == T.MULTI_CHOICE and new.type != T.MULTI_CHOICE and isinstance(stored, list):
        if len(stored) != 1:
            raise values.InvalidValue("several choices")
        stored = stored[0]
    if old.type == T.DATETIME and new.type == T.DATE:
        raise values.InvalidValue("time would be lost")
    converted = values.coerce(new, values.to_text(stored))
    if converted is None:
        raise values.InvalidValue("empty")
    return converted


def _migrate_values(old: CustomField, new: CustomField, *, actor: User) -> int:
    """Rewrite every stored value of ``old`` into ``new``'s form (all or nothing); returns how many changed."""
    converted: dict[Any, tuple[Any, Any]] = {}
    failed = 0
    for pk, stored in selectors.iter_values(old):
        try:
            value = _convert(old, new, stored)
        except values.InvalidValue:
            failed += 1
            continue
        if value != stored:
            converted[pk] = (stored, value)
    if failed:
        message = ngettext(
            "%(count)d stored value cannot be converted to %(type)s; change or clear it first.",
            "%(count)d stored values cannot be converted to %(type)s; change or clear them first.",
            failed) % {"count": failed, "type": new.get_type_display()}
        raise CustomFieldInUse(message, fields={"type": [message]}, count=failed)
    model = selectors.records_with_value(old).model
    rows = list(model._default_manager.select_for_update().filter(pk__in=list(converted)).order_by("pk"))
    for row in rows:
        data = dict(getattr(row, CUSTOM_DATA_FIELD) or {})
        data[new.key] = converted[row.pk][1]
        setattr(row, CUSTOM_DATA_FIELD, data)
    model._default_manager.bulk_update(rows, [CUSTOM_DATA_FIELD], batch_size=500)
    audit.record_bulk(model, [r.pk for r in rows], actor=actor, action=AuditEntry.Action.UPDATE,
                      changes_by_id={pk: {new.name: pair} for pk, pair in converted.items()})
    return len(rows)


def _check_removed_choices(old: CustomField, new: CustomField) -> None:
    if not (old.has_choices and new.has_choices):
        return
    removed = set(old.choice_values) - set(new.choice_values)
    if not removed:
        return
    used = {value: count for value, count in selectors.count_choice_uses(old, removed).items() if count}
    if used:
        detail = ", ".join(f"“{value}” ({count})" for value, count in sorted(used.items()))
        message = _("These choices are still used by records and cannot be removed: %(choices)s.") % {
            "choices": detail}
        raise CustomFieldInUse(message, fields={"choices": [message]}, count=sum(used.values()))


@transaction.atomic
def update_custom_field(field: CustomField, data: Mapping[str, Any], *, actor: User) -> CustomField:
    """Change a definition. ``content_type`` and ``key`` never change.

    A type (or reference target) change converts every stored value to the new type when
    all of them convert (integer → decimal, text → long text, choice → multiple choice,
    ...); otherwise it is refused (CustomFieldInUse, with the number that would not
    convert). Removing a choice that records still use is refused with the count. Audits
    the definition and every record whose value was rewritten.
    """
    field = CustomField.objects.select_for_update().select_related("content_type").get(pk=field.pk)
    changed_immutable = sorted(name for name in IMMUTABLE_FIELDS & set(data)
                               if _differs(field, name, data[name]))
    if changed_immutable:
        message = _("The key and model of a custom field cannot be changed.")
        raise ValidationFailed(message, code="immutable_field",
                               fields={name: [message] for name in changed_immutable})
    before = audit.snapshot(field)
    old = CustomField.objects.select_related("content_type", "target_content_type").get(pk=field.pk)
    _assign(field, {k: v for k, v in data.items() if k not in IMMUTABLE_FIELDS})
    full_clean(field, exclude=["content_type"])
    _clean_default(field)
    _check_removed_choices(old, field)
    if old.type != field.type or old.target_content_type_id != field.target_content_type_id:
        _migrate_values(old, field, actor=actor)
    field.save()
    audit.record_change(field, actor=actor, action=AuditEntry.Action.UPDATE, before=before,
                        after=audit.snapshot(field))
    selectors.forget_definitions()
    return field


def _differs(field: CustomField, name: str, value: Any) -> bool:
    if name == "content_type":
        try:
            return _content_type(value, name).pk != field.content_type_id
        except ValidationFailed:
            return True
    return bool(value != getattr(field, name))


@transaction.atomic
def set_custom_field_active(field: CustomField, is_active: bool, *, actor: User) -> CustomField:
    """Deactivate (hide from forms, lists and the API's writes; values are kept) or reactivate."""
    before = audit.snapshot(field)
    field.is_active = is_active
    field.save(update_fields=["is_active", "updated_at"])
    audit.record_change(field, actor=actor, action=AuditEntry.Action.UPDATE, before=before,
                        after=audit.snapshot(field))
    selectors.forget_definitions()
    return field


@transaction.atomic
def delete_custom_field(field: CustomField, *, actor: User, purge: bool = False) -> int:
    """Delete a definition; returns how many records' values were purged.

    While records hold values it is refused (CustomFieldInUse naming the count and
    suggesting deactivation) unless ``purge=True``: then every value is removed, each
    record gets an audit entry with the old value, and the definition is deleted.
    """
    field = CustomField.objects.select_for_update().select_related("content_type").get(pk=field.pk)
    count = selectors.count_values(field)
    if count and not purge:
        message = ngettext(
            "%(count)d record has a value for “%(field)s”. Deactivate the field to hide it and keep the value, "
            "or delete it together with the value.",
            "%(count)d records have a value for “%(field)s”. Deactivate the field to hide it and keep the values, "
            "or delete it together with the values.", count) % {"count": count, "field": field.label}
        raise CustomFieldInUse(message, count=count)
    purged = 0
    if count:
        model = selectors.records_with_value(field).model
        rows = list(selectors.records_with_value(field).select_for_update().order_by("pk"))
        old_values = {}
        for row in rows:
            data = dict(getattr(row, CUSTOM_DATA_FIELD) or {})
            old_values[row.pk] = data.pop(field.key, None)
            setattr(row, CUSTOM_DATA_FIELD, data)
        model._default_manager.bulk_update(rows, [CUSTOM_DATA_FIELD], batch_size=500)
        audit.record_bulk(model, [r.pk for r in rows], actor=actor, action=AuditEntry.Action.UPDATE,
                          changes_by_id={pk: {field.name: (old, None)} for pk, old in old_values.items()})
        purged = len(rows)
    audit.record_change(field, actor=actor, action=AuditEntry.Action.DELETE, before=audit.snapshot(field),
                        after=None)
    field.delete()
    selectors.forget_definitions()
    return purged

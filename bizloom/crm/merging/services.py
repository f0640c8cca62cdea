"""The merge tool (issue #4): merge two or more accounts, contacts or leads into one.

:func:`merge_preview` shows every field side by side with the value that will be kept (the
survivor's, or the first other record's when the survivor's is empty); the user picks per
field and :func:`merge_records` applies the choice in one transaction:

1. the survivor gets the chosen values (custom fields merge like fields, ``cf_<key>``; its
   own many-to-many links gain the others', e.g. a contact's other accounts);
2. **every reference to the merged-away records is repointed to the survivor**, discovered
   generically so that orders, invoices and tickets are covered when they land:
   every ForeignKey / OneToOne / ManyToMany pointing at the model (``_meta.related_objects``,
   many-to-many through rows without creating duplicate links, self references such as
   ``Account.parent``), every generic reference (models with a ``GenericForeignKey`` in
   ``_meta.private_fields``: activities, comments, attachments, record shares, external ids…)
   and custom "reference" field values. Not the audit log: history stays with the old record
   id; a "merge" entry is written on the survivor (naming the merged records) and on each
   merged one (with its last values);
3. duplicate-queue pairs among the merged records are resolved as "merged", pairs with other
   records move to the survivor;
4. the others are deleted and ``crm.<model>.merged`` is published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.crm.merging.events import AccountMerged, ContactMerged, LeadMerged
from bizloom.crm.models import Account, Contact, DuplicatePair, Lead
from bizloom.platform import access
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields import listing as cf_listing
from bizloom.platform.customfields.models import PREFIX, CustomField
from bizloom.platform.events import DomainEvent, publish
from bizloom.platform.listing.columns import Column
from bizloom.platform.models import User

# The models the merge tool and the duplicate queue handle, by the name used in URLs and the API.
MERGEABLE: dict[str, type[models.Model]] = {"account": Account, "contact": Contact, "lead": Lead}
MAX_RECORDS = 10
CUSTOM_DATA = "custom_data"
# Fields never offered for choice: the survivor keeps its own (workflow state, bookkeeping).
KEPT_FIELDS: dict[type[models.Model], frozenset[str]] = {
    Lead: frozenset({"status", "unqualified_reason"}),
}
# Set by the services together with a field: taken from the same record as that field.
COMPANIONS: dict[type[models.Model], dict[str, str]] = {
    Contact: {"consent_email": "consent_email_at", "consent_sms": "consent_sms_at"},
}
# References that are history, not links: left on the old record id.
HISTORY_MODELS = frozenset({"audit.auditentry", "crm.duplicatepair"})


class MergeConflict(DomainError):
    """The records cannot be merged as asked (a one-to-one link on both, a converted lead, …)."""

    code = "merge_conflict"
    status = 409


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChoice:
    """One row of the preview: a field, each record's value and which record's value is kept."""

    name: str
    label: str
    values: list[tuple[int, str]]
    chosen: int
    differs: bool


@dataclass(frozen=True)
class Move:
    """References that the merge will move to the survivor: ``count`` rows of ``label``."""

    label: str
    count: int


@dataclass
class MergePreview:
    """What :func:`merge_records` would do with these records and the default choices."""

    model: type[models.Model]
    survivor: models.Model
    others: list[models.Model]
    fields: list[FieldChoice] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)

    @property
    def records(self) -> list[models.Model]:
        """The survivor, then the others."""
        return [self.survivor, *self.others]

    @property
    def defaults(self) -> dict[str, int]:
        """``{field: record id}`` of the default choices (usable as ``chosen_values``)."""
        return {row.name: row.chosen for row in self.fields}


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def mergeable_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields whose value the user picks: editable concrete fields other than the primary
    key, maintained timestamps, custom data and the model's :data:`KEPT_FIELDS`."""
    kept = KEPT_FIELDS.get(model, frozenset())
    return [f for f in model._meta.concrete_fields
            if f.editable and not f.primary_key and f.name != CUSTOM_DATA and f.name not in kept
            and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)]


def _custom_keys(model: type[models.Model], records: Sequence[models.Model]) -> list[tuple[str, str]]:
    """``(key, label)`` of every custom field that a definition declares or a record holds."""
    labels = {d.key: str(d.label) for d in CustomField.objects.filter(
        content_type=ContentType.objects.get_for_model(model)).order_by("order", "pk")}
    keys = list(labels)
    for record in records:
        for key in (getattr(record, CUSTOM_DATA, None) or {}):
            if key not in labels:
                labels[key] = key
                keys.append(key)
    return [(key, labels[key]) for key in keys]


def _default_source(records: Sequence[models.Model], value: Any) -> int:
    """The survivor's id unless its value is empty, then the first record with a value."""
    for record in records:
        if not _is_empty(value(record)):
            return int(record.pk)
    return int(records[0].pk)


def _custom_value(record: models.Model, key: str) -> Any:
    return (getattr(record, CUSTOM_DATA, None) or {}).get(key)


def merge_preview(model: type[models.Model], survivor: models.Model, others: Sequence[models.Model], *,
                  actor: User) -> MergePreview:
    """Every field of the records side by side, with the default choice, and the references
    that will move. Fields the actor's roles hide are left out (their value follows the default)."""
    records = _check_records(model, survivor, others)
    policy = access.field_policy(actor, model, "view")
    rows: list[FieldChoice] = []
    for model_field in mergeable_fields(model):
        if not policy.shows(model_field.name):
            continue
        column = Column(model_field.name).bind(model)
        values = [(int(r.pk), column.display(r)) for r in records]
        chosen = _default_source(records, lambda r, f=model_field: getattr(r, f.attname))
        rows.append(FieldChoice(model_field.name, str(column.label), values, chosen,
                                len({text for _pk, text in values}) > 1))
    for key, label in _custom_keys(model, records):
        if not policy.shows(f"{PREFIX}{key}"):
            continue
        values = [(int(r.pk), _display(_custom_value(r, key))) for r in records]
        chosen = _default_source(records, lambda r, k=key: _custom_value(r, k))
        rows.append(FieldChoice(f"{PREFIX}{key}", label, values, chosen, len({text for _pk, text in values}) > 1))
    return MergePreview(model=model, survivor=records[0], others=records[1:], fields=rows,
                        moves=reference_counts(model, [o.pk for o in records[1:]]))


def _display(value: Any) -> str:
    if _is_empty(value):
        return ""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# --- discovering references ------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """One way rows of ``model`` point at a record: ``field`` holds its id (``filters`` narrow
    generic references to the record's content type). ``kind`` is "fk", "m2m" (auto-created
    through rows) or "generic"."""

    model: type[models.Model]
    field: str
    kind: str
    filters: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    def rows(self, ids: Iterable[Any]) -> models.QuerySet[Any]:
        values = [self.value(pk) for pk in ids]
        return self.model._base_manager.filter(**{f"{self.field}__in": values}, **dict(self.filters))

    def value(self, pk: Any) -> Any:
        target = self.model._meta.get_field(self.field)
        return str(pk) if isinstance(target, models.CharField | models.TextField) else pk


def references(model: type[models.Model]) -> list[_Reference]:
    """Every relation and generic reference that can point at a record of ``model``."""
    found: list[_Reference] = []
    for rel in model._meta.related_objects:
        related = rel.related_model
        if not isinstance(related, type) or related._meta.label_lower in HISTORY_MODELS:
            continue
        if rel.many_to_many:
            through = rel.through  # type: ignore[attr-defined]
            if not through._meta.auto_created:
                continue  # an explicit through model: its own foreign key is a ManyToOneRel below
            m2m = rel.field
            found.append(_Reference(through, m2m.m2m_reverse_field_name(), "m2m",  # type: ignore[attr-defined]
                                    label=f"{capfirst(related._meta.verbose_name_plural)}: "
                                          f"{m2m.verbose_name}"))
        else:
            found.append(_Reference(related, rel.field.name, "fk",
                                    label=f"{capfirst(related._meta.verbose_name_plural)}: "
                                          f"{rel.field.verbose_name}"))
    content_type = ContentType.objects.get_for_model(model)
    for candidate in apps.get_models():
        if candidate._meta.label_lower in HISTORY_MODELS:
            continue
        for private in candidate._meta.private_fields:
            if isinstance(private, GenericForeignKey):
                found.append(_Reference(candidate, private.fk_field, "generic",
                                        ((private.ct_field, content_type.pk),),
                                        label=str(capfirst(candidate._meta.verbose_name_plural))))
    return found


def _custom_references(model: type[models.Model]) -> list[CustomField]:
    return list(CustomField.objects.filter(type=CustomField.Type.REFERENCE,
                                           target_content_type=ContentType.objects.get_for_model(model))
                .select_related("content_type"))


def reference_counts(model: type[models.Model], ids: Sequence[Any]) -> list[Move]:
    """How many rows of each kind point at the records ``ids`` (shown before merging)."""
    moves = []
    for ref in references(model):
        count = ref.rows(ids).count()
        if count:
            moves.append(Move(ref.label, count))
    return moves


def related_rows(model: type[models.Model], ids: Sequence[Any]) -> set[tuple[str, str, Any]]:
    """``(model label, field, row pk)`` of every row that points at one of ``ids`` (for checks)."""
    result = set()
    for ref in references(model):
        for pk in ref.rows(ids).values_list("pk", flat=True):
            result.add((ref.model._meta.label, ref.field, pk))
    return result


def _unique_sets(model: type[models.Model], name: str) -> list[tuple[str, ...]]:
    """The unique field sets of ``model`` that contain the field ``name``."""
    sets: list[tuple[str, ...]] = []
    target = model._meta.get_field(name)
    if getattr(target, "unique", False) and not getattr(target, "primary_key", False):
        sets.append((name,))
    sets.extend(tuple(together) for together in model._meta.unique_together if name in together)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and name in constraint.fields:
            sets.append(tuple(constraint.fields))
    return sets


def _colliding(ref: _Reference, survivor_pk: Any, moving: models.QuerySet[Any]) -> list[Any]:
    """Rows of ``moving`` that would break a unique constraint once pointed at the survivor
    (they duplicate a row already there, or an earlier moving row). Constraints with a NULL in
    the other fields never collide (NULLs are distinct, and such constraints are conditional)."""
    found: list[Any] = []
    for unique in _unique_sets(ref.model, ref.field):
        rest = [name for name in unique if name != ref.field]
        there = ref.model._base_manager.filter(**{ref.field: ref.value(survivor_pk)}, **dict(ref.filters))
        taken = {tuple(row) for row in there.values_list(*rest)} if rest else ({()} if there.exists() else set())
        for row in moving.order_by("pk").values_list("pk", *rest):
            pk, values = row[0], tuple(row[1:])
            if any(v is None for v in values):
                continue
            if values in taken:
                found.append(pk)
            else:
                taken.add(values)
    return list(dict.fromkeys(found))


def _repoint(model: type[models.Model], survivor: models.Model, ids: list[Any]) -> None:
    """Point every reference to ``ids`` at ``survivor`` (see the module docstring)."""
    for ref in references(model):
        moving = ref.rows(ids)
        if ref.model is model and ref.kind == "fk":
            moving = moving.exclude(pk=survivor.pk)  # the survivor's own self reference is a chosen field
        if not moving.exists():
            continue
        colliding = _colliding(ref, survivor.pk, moving)
        if colliding:
            if ref.kind == "fk":
                raise MergeConflict(_("Both %(model)s records have a %(what)s that can exist only once; "
                                      "remove one first.") % {"model": model._meta.verbose_name, "what": ref.label},
                                    relation=ref.label)
            # the same link (or share) already exists on the survivor: the duplicate goes
            ref.model._base_manager.filter(pk__in=colliding).delete()
        moving.update(**{ref.field: ref.value(survivor.pk)})
    for definition in _custom_references(model):
        holder = definition.content_type.model_class()
        if holder is None:
            continue
        for pk in ids:
            for record in cf_listing.filter_equal(holder._base_manager.all(), definition, pk):
                data = dict(getattr(record, CUSTOM_DATA) or {})
                data[definition.key] = survivor.pk
                holder._base_manager.filter(pk=record.pk).update(**{CUSTOM_DATA: data})


# --- applying the choices ------------------------------------------------------------------


def _check_records(model: type[models.Model], survivor: models.Model,
                   others: Sequence[models.Model]) -> list[models.Model]:
    if model not in MERGEABLE.values():
        raise DomainError(_("Records of this kind cannot be merged."), code="not_mergeable")
    records = [survivor, *others]
    if any(not isinstance(r, model) or r.pk is None for r in records):
        raise DomainError(_("Only saved records of one kind can be merged."), code="not_mergeable")
    ids = [r.pk for r in records]
    if not others or len(set(ids)) != len(ids):
        message = _("Choose at least two different records to merge.")
        raise ValidationFailed(message, fields={"others": [message]})
    if len(ids) > MAX_RECORDS:
        message = _("Merge at most %(n)s records at once.") % {"n": MAX_RECORDS}
        raise ValidationFailed(message, fields={"others": [message]})
    return records


def _check_choices(model: type[models.Model], records: Sequence[models.Model], chosen: Mapping[str, Any],
                   actor: User) -> dict[str, int]:
    names = {f.name for f in mergeable_fields(model)} | {f"{PREFIX}{key}" for key, _l in _custom_keys(model, records)}
    ids = {int(r.pk) for r in records}
    errors: dict[str, list[str]] = {}
    result: dict[str, int] = {}
    policy = access.field_policy(actor, model, "change")
    for name, source in chosen.items():
        pk = source.pk if isinstance(source, models.Model) else source
        if name not in names:
            errors[name] = [_("Unknown field.")]
        elif name in policy.unwritable:
            errors[name] = [_("You may not change this field.")]
        elif not isinstance(pk, int) or isinstance(pk, bool) or pk not in ids:
            errors[name] = [_("Choose one of the records being merged.")]
        else:
            result[name] = pk
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)
    return result


def _snapshot(record: models.Model) -> dict[str, Any]:
    """The audited state of ``record``: its fields plus its own many-to-many links (by id)."""
    state = audit.snapshot(record)
    for m2m in record._meta.many_to_many:
        state[m2m.name] = [audit.reference(obj) for obj in getattr(record, m2m.name).order_by("pk")]
    return state


def _apply_fields(model: type[models.Model], records: list[models.Model], chosen: Mapping[str, int]) -> None:
    survivor, by_pk = records[0], {int(r.pk): r for r in records}
    ids = set(by_pk)
    companions = COMPANIONS.get(model, {})
    for model_field in mergeable_fields(model):
        source = by_pk[chosen[model_field.name]] if model_field.name in chosen else by_pk[
            _default_source(records, lambda r, f=model_field: getattr(r, f.attname))]
        value = getattr(source, model_field.attname)
        if model_field.is_relation and model_field.related_model is model and value in ids:
            value = None  # a record cannot refer to itself (its parent was one of the merged records)
        setattr(survivor, model_field.attname, value)
        if model_field.name in companions:
            companion = companions[model_field.name]
            setattr(survivor, companion, getattr(source, companion))
    data: dict[str, Any] = {}
    for key, _label in _custom_keys(model, records):
        name = f"{PREFIX}{key}"
        source = by_pk[chosen[name]] if name in chosen else by_pk[
            _default_source(records, lambda r, k=key: _custom_value(r, k))]
        value = _custom_value(source, key)
        if value is not None:
            data[key] = value
    if hasattr(survivor, CUSTOM_DATA):
        setattr(survivor, CUSTOM_DATA, data)


def _union_many_to_many(model: type[models.Model], survivor: models.Model, others: Sequence[models.Model]) -> None:
    """The survivor's own many-to-many links gain the others' (a contact's other accounts, an
    account's tags); links to the merged records themselves are dropped."""
    merged = {o.pk for o in others} | {survivor.pk}
    for m2m in model._meta.many_to_many:
        manager = getattr(survivor, m2m.name)
        current = set(manager.values_list("pk", flat=True))
        extra: set[Any] = set()
        for other in others:
            extra.update(getattr(other, m2m.name).values_list("pk", flat=True))
        if m2m.related_model is model:
            extra -= merged
        if extra - current:
            manager.add(*sorted(extra - current))


def _tidy(model: type[models.Model], survivor: models.Model, primary_accounts: Iterable[Any]) -> None:
    """Contacts: a primary account that was not kept (``primary_accounts``: every record's before
    the merge) becomes one of the other accounts, so no account link is lost; and the rule "the
    primary account is not repeated among the other accounts" holds for contacts and accounts."""
    through = Contact.accounts.through
    if model is Contact:
        kept = survivor.account_id  # type: ignore[attr-defined]
        current = set(through.objects.filter(contact_id=survivor.pk).values_list("account_id", flat=True))
        through.objects.bulk_create([through(contact_id=survivor.pk, account_id=pk)
                                     for pk in sorted({p for p in primary_accounts if p} - current - {kept})])
        through.objects.filter(contact_id=survivor.pk, account_id=kept).delete()
    elif model is Account:
        through.objects.filter(account_id=survivor.pk, contact__account_id=survivor.pk).delete()


def _resolve_pairs(model: type[models.Model], survivor: models.Model, ids: list[Any], actor: User) -> None:
    """Pairs among the merged records become "merged"; pairs with other records move to the survivor."""
    content_type = ContentType.objects.get_for_model(model)
    pairs = DuplicatePair.objects.filter(content_type=content_type)
    everyone = [survivor.pk, *ids]
    pairs.filter(first_id__in=everyone, second_id__in=everyone).update(
        status=DuplicatePair.Status.MERGED, resolved_at=timezone.now(), resolved_by=actor)
    existing = set(pairs.values_list("first_id", "second_id"))
    for pair in pairs.filter(Q(first_id__in=ids) | Q(second_id__in=ids)).exclude(
            first_id__in=everyone, second_id__in=everyone).order_by("pk"):
        third = pair.second_id if pair.first_id in ids else pair.first_id
        first, second = sorted((survivor.pk, third))
        if (first, second) in existing:
            pair.delete()  # the survivor already has this pair
        else:
            existing.add((first, second))
            DuplicatePair.objects.filter(pk=pair.pk).update(first_id=first, second_id=second)


def _merged_event(model: type[models.Model], pk: int, ids: tuple[int, ...], actor_id: int | None) -> DomainEvent:
    if model is Account:
        return AccountMerged(account_id=pk, merged_ids=ids, actor_id=actor_id)
    if model is Contact:
        return ContactMerged(contact_id=pk, merged_ids=ids, actor_id=actor_id)
    return LeadMerged(lead_id=pk, merged_ids=ids, actor_id=actor_id)


@transaction.atomic
def merge_records(model: type[models.Model], survivor: models.Model, others: Sequence[models.Model], *,
                  chosen_values: Mapping[str, Any] | None = None, actor: User) -> models.Model:
    """Merge ``others`` into ``survivor`` (records of ``model``: Account, Contact or Lead).

    ``chosen_values`` maps a field name (custom fields as ``cf_<key>``) to the record (or its
    id) whose value the survivor keeps; fields left out keep the default of
    :func:`merge_preview`. Unknown fields, fields the actor may not change and records not
    being merged are refused (ValidationFailed).

    The actor needs "change" on the survivor and "delete" on each other record
    (PermissionDeniedError naming the rule). A converted lead can only be the survivor
    (MergeConflict); so can a one-to-one link that both records have. Everything happens in
    one transaction: references are repointed (see the module docstring), "merge" audit
    entries are written on the survivor (with the changed fields and ``merged``: the merged
    records) and on every merged record (its last values and ``merged_into``), the others
    are deleted and ``crm.<model>.merged`` is published. Returns the survivor, reloaded.
    """
    _check_records(model, survivor, others)
    access.require_record(actor, survivor, "change")
    for other in others:
        access.require_record(actor, other, "delete")
    locked = model._default_manager.select_for_update().in_bulk([survivor.pk, *(o.pk for o in others)])
    if len(locked) != len(others) + 1:  # merged away or deleted by someone else while we waited for the locks
        raise MergeConflict(_("One of these records no longer exists (it was merged or deleted meanwhile); "
                              "reload the page."))
    records = [locked[survivor.pk], *(locked[o.pk] for o in others)]
    survivor, others = records[0], records[1:]
    ids = [o.pk for o in others]
    if model is Lead and any(o.status == Lead.Status.CONVERTED for o in others):  # type: ignore[attr-defined]
        raise MergeConflict(_("A converted lead can only be the record that is kept."))
    chosen = _check_choices(model, records, chosen_values or {}, actor)

    before = _snapshot(survivor)
    last_values = {o.pk: _snapshot(o) for o in others}
    primary_accounts = [getattr(r, "account_id", None) for r in records]
    _apply_fields(model, records, chosen)
    _union_many_to_many(model, survivor, others)
    _repoint(model, survivor, ids)
    survivor.save()
    _tidy(model, survivor, primary_accounts)
    _resolve_pairs(model, survivor, ids, actor)

    merged_refs = [audit.reference(o) for o in others]
    audit.record_change(survivor, actor=actor, action=AuditEntry.Action.MERGE,
                        before={**before, "merged": None}, after={**_snapshot(survivor), "merged": merged_refs})
    for other in others:
        last = {name: value for name, value in last_values[other.pk].items() if not _is_empty(value)}
        audit.record_change(other, actor=actor, action=AuditEntry.Action.MERGE, before=last,
                            after={"merged_into": audit.reference(survivor)})
    for other in others:
        try:
            model._default_manager.filter(pk=other.pk).delete()
        except ProtectedError as error:  # a reference the discovery could not repoint
            raise MergeConflict(_("%(record)s is still referred to by other records and cannot be merged away.")
                                % {"record": other}) from error
    publish(_merged_event(model, survivor.pk, tuple(ids), actor.pk))
    return model._default_manager.get(pk=survivor.pk)

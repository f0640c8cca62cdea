"""CRM use cases. Views, the API, imports and automation all call these.

Accounts (issue #3) and contacts (issue #4). Every write records the audit trail and
publishes a ``bizloom.crm.events`` event in the same transaction (issue #3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.validation import full_clean
from bizloom.crm import duplicates
from bizloom.crm.events import (
    AccountCreated,
    AccountDeleted,
    AccountOwnerChanged,
    AccountUpdated,
    ContactCreated,
    ContactDeleted,
    ContactOwnerChanged,
    ContactUpdated,
)
from bizloom.crm.models import Account, Contact
from bizloom.crm.normalize import InvalidValue, fold_width, normalize_email, normalize_name, normalize_phone
from bizloom.platform import access
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.services import validate_custom_values
from bizloom.platform.events import publish
from bizloom.platform.models import User

ACCOUNT_WRITABLE_FIELDS = frozenset({
    "name", "code", "industry", "tier", "city", "phone", "email", "website", "annual_revenue", "currency",
    "is_customer", "is_supplier", "owner", "notes",
})
CUSTOM_FIELDS_KEY = "custom_fields"


def _assign(account: Account, data: Mapping[str, Any], *, actor: User | None) -> None:
    """Set the given fields; ``data["custom_fields"]`` ({key: value}) is validated and merged into
    ``custom_data`` (all keys on creation, the given ones on update)."""
    if CUSTOM_FIELDS_KEY in data:
        account.custom_data = validate_custom_values(
            Account, data[CUSTOM_FIELDS_KEY], instance=account if account.pk else None,
            partial=account.pk is not None, user=actor)
        data = {k: v for k, v in data.items() if k != CUSTOM_FIELDS_KEY}
    elif account.pk is None:
        account.custom_data = validate_custom_values(Account, {}, user=actor)  # defaults and required fields
    unknown = set(data) - ACCOUNT_WRITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})
    for name, value in data.items():
        setattr(account, name, value.strip() if isinstance(value, str) else value)


def _owner_id(state: Mapping[str, Any]) -> int | None:
    owner = state.get("owner")
    return int(owner["id"]) if isinstance(owner, dict) else None


@transaction.atomic
def create_account(data: Mapping[str, Any], *, actor: User) -> Account:
    """Create an account from validated field values; the actor owns it unless another owner is given.

    ``data["custom_fields"]`` holds custom field values by key (any input form, see
    ``customfields.services.validate_custom_values``); defaults fill the keys left out.
    Records a "create" audit entry and publishes AccountCreated.
    Raises ValidationFailed with per-field messages when a value breaks a field rule.
    """
    account = Account()
    _assign(account, {"owner": actor, **data}, actor=actor)
    full_clean(account)
    account.save()
    audit.record_change(account, actor=actor, action=AuditEntry.Action.CREATE, before=None,
                        after=audit.snapshot(account))
    publish(AccountCreated(account_id=account.pk, owner_id=account.owner_id, actor_id=actor.pk))
    return account


@transaction.atomic
def update_account(account: Account, data: Mapping[str, Any], *, actor: User) -> Account:
    """Change the given fields of ``account``. Raises ValidationFailed on invalid values.

    Only the custom fields named in ``data["custom_fields"]`` change (None clears one).

    Records an "update" audit entry with the changed fields and publishes AccountUpdated
    (plus AccountOwnerChanged when the owner changed); an update that changes nothing
    records and publishes nothing.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = audit.snapshot(account)
    _assign(account, data, actor=actor)
    full_clean(account)
    account.save()
    after = audit.snapshot(account)
    entry = audit.record_change(account, actor=actor, action=AuditEntry.Action.UPDATE, before=before, after=after)
    if entry is not None:
        publish(AccountUpdated(account_id=account.pk, changed=tuple(entry.changes), actor_id=actor.pk))
        if "owner" in entry.changes:
            publish(AccountOwnerChanged(account_id=account.pk, old_owner_id=_owner_id(before),
                                        new_owner_id=_owner_id(after), actor_id=actor.pk))
    return account


@transaction.atomic
def delete_account(account: Account, *, actor: User) -> None:
    """Delete ``account``. Refused while other records refer to it (ProtectedError → DomainError).

    Records a "delete" audit entry with the last values and publishes AccountDeleted;
    a refused deletion records and publishes nothing.
    """
    from django.db.models import ProtectedError

    account_id, name = account.pk, str(account)
    # Recorded first because the entry needs the primary key; a refusal rolls it back.
    audit.record_change(account, actor=actor, action=AuditEntry.Action.DELETE, before=audit.snapshot(account),
                        after=None)
    try:
        account.delete()
    except ProtectedError as error:
        raise DomainError(_("%(account)s is still referred to by other records and cannot be deleted.")
                          % {"account": account}, code="account_in_use") from error
    publish(AccountDeleted(account_id=account_id, account_name=name, actor_id=actor.pk))


@transaction.atomic
def transfer_accounts(accounts: list[Account], new_owner: User, *, actor: User) -> int:
    """Give every account in ``accounts`` to ``new_owner``; returns how many changed.

    One UPDATE for all rows, then one "owner_change" audit entry per changed account
    (written in bulk) and one AccountOwnerChanged event each. Accounts that already
    belong to ``new_owner`` are left alone and get no entry.
    """
    ids = [a.pk for a in accounts]
    changing = list(Account.objects.select_for_update().filter(pk__in=ids).exclude(owner=new_owner)
                    .order_by("pk").values_list("pk", "owner_id"))
    if not changing:
        return 0
    old_owners = User.objects.in_bulk({owner_id for _pk, owner_id in changing if owner_id is not None})
    changed = Account.objects.filter(pk__in=[pk for pk, _owner in changing]).update(owner=new_owner)
    audit.record_bulk(Account, [pk for pk, _owner in changing], actor=actor, action=AuditEntry.Action.OWNER_CHANGE,
                      changes_by_id={pk: {"owner": (old_owners.get(owner_id) if owner_id else None, new_owner)}
                                     for pk, owner_id in changing})
    for pk, owner_id in changing:
        publish(AccountOwnerChanged(account_id=pk, old_owner_id=owner_id, new_owner_id=new_owner.pk,
                                    actor_id=actor.pk))
    return changed


# --- contacts (issue #4) ------------------------------------------------------------------

CONTACT_WRITABLE_FIELDS = frozenset({
    "name", "position", "department", "account", "accounts", "mobile", "phone", "email", "wechat_id", "birthday",
    "consent_email", "consent_sms", "owner", "notes",
})
CONTACT_NAME_FIELDS = ("name", "position", "department")
CONTACT_PHONE_FIELDS = ("mobile", "phone")
CONTACT_CONSENTS = (("consent_email", "consent_email_at"), ("consent_sms", "consent_sms_at"))


class DuplicateContact(DomainError):
    """A new contact has the email or a phone number of a contact the actor may see.

    ``fields`` puts the message on ``allow_duplicate`` (the flag that overrides the check);
    ``duplicate_of`` in the context is the existing contact's id.
    """

    code = "duplicate_contact"
    status = 409


def _normalize_contact(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``data`` in storage form, and the field errors of values that cannot be normalised.

    Names are trimmed and width-folded, the WeChat id width-folded, emails lower-cased and
    checked, phones turned into E.164 (mainland numbers without +86 understood). A value
    that fails is blanked, so that model validation can still report the other fields.
    """
    result = dict(data)
    errors: dict[str, list[str]] = {}
    for name in CONTACT_NAME_FIELDS:
        if isinstance(result.get(name), str):
            result[name] = normalize_name(result[name])
    if isinstance(result.get("wechat_id"), str):
        result["wechat_id"] = fold_width(result["wechat_id"])
    normalizers = [("email", normalize_email), *((name, normalize_phone) for name in CONTACT_PHONE_FIELDS)]
    for name, normalize in normalizers:
        if name in result:
            try:
                result[name] = normalize(result[name] or "")
            except InvalidValue as error:
                errors[name] = [str(error)]
                result[name] = ""
    return result, errors


def _assign_contact(contact: Contact, data: Mapping[str, Any], *, actor: User) -> list[Account] | None:
    """Set the given (normalised) fields of ``contact``; returns the other accounts to link
    (None when ``data`` leaves them alone).

    Custom fields as in ``_assign``. A primary or linked account that the actor may not view
    is refused (``access.check_reference``) unless the contact already refers to it. Turning a
    consent on stamps its ``*_at`` time; turning it off clears it.
    """
    if CUSTOM_FIELDS_KEY in data:
        contact.custom_data = validate_custom_values(
            Contact, data[CUSTOM_FIELDS_KEY], instance=contact if contact.pk else None,
            partial=contact.pk is not None, user=actor)
        data = {k: v for k, v in data.items() if k != CUSTOM_FIELDS_KEY}
    elif contact.pk is None:
        contact.custom_data = validate_custom_values(Contact, {}, user=actor)  # defaults and required fields
    unknown = set(data) - CONTACT_WRITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})
    if "account" in data and data["account"] is not None and data["account"].pk != contact.account_id:
        access.check_reference(actor, data["account"], field="account")
    accounts: list[Account] | None = None
    if "accounts" in data:
        current = set(contact.accounts.values_list("pk", flat=True)) if contact.pk else set()
        accounts = sorted({a.pk: a for a in data["accounts"] or ()}.values(), key=lambda a: a.pk)
        for linked in accounts:
            if linked.pk not in current:
                access.check_reference(actor, linked, field="accounts")
    for name, value in data.items():
        if name == "accounts":
            continue
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    for flag, stamp in CONTACT_CONSENTS:
        if not getattr(contact, flag):
            setattr(contact, stamp, None)
        elif getattr(contact, stamp) is None:
            setattr(contact, stamp, timezone.now())
    if accounts is None and contact.pk is not None and "account" in data and contact.account_id is not None:
        # the new primary account is not repeated among the others
        if contact.accounts.filter(pk=contact.account_id).exists():
            accounts = [a for a in contact.accounts.order_by("pk") if a.pk != contact.account_id]
    if accounts is not None:
        accounts = [a for a in accounts if a.pk != contact.account_id]
    return accounts


def _validate_contact(contact: Contact, errors: dict[str, list[str]]) -> None:
    """Model validation plus the normalisation ``errors``, reported together as one ValidationFailed."""
    fields = {name: list(messages) for name, messages in errors.items()}
    try:
        full_clean(contact)
    except ValidationFailed as failure:
        for name, messages in failure.fields.items():
            fields.setdefault(name, []).extend(messages)
    if fields:
        raise ValidationFailed(_("Please correct the errors below."), fields=fields)


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    """The audited state of ``contact``: its fields plus the other accounts (by id)."""
    return {**audit.snapshot(contact),
            "accounts": [audit.reference(account) for account in contact.accounts.order_by("pk")]}


def find_duplicate_contacts(values: Mapping[str, Any], *, actor: User, exclude: int | None = None) -> list[Contact]:
    """Contacts ``actor`` may view that share the email or a phone number (mobile or office,
    in either field) with ``values``, oldest first.

    Matching uses ``duplicates.email_key`` and ``duplicates.phone_key``, so ``138 1234 5678``
    matches a stored ``+8613812345678``. Blank values match nothing.
    """
    email = duplicates.email_key(values.get("email"))
    phones = sorted({key for name in CONTACT_PHONE_FIELDS if (key := duplicates.phone_key(values.get(name)))})
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email=email)
    if phones:
        condition |= Q(mobile__in=phones) | Q(phone__in=phones)
    if not email and not phones:
        return []
    queryset = access.restrict(Contact.objects.filter(condition), actor, "view")
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return list(queryset.order_by("pk")[:10])


@transaction.atomic
def create_contact(data: Mapping[str, Any], *, actor: User, allow_duplicate: bool = False) -> Contact:
    """Create a contact; the actor owns it unless another owner is given.

    Values are normalised first (names trimmed and width-folded, email lower-cased, phones to
    E.164). ``data["account"]`` is the primary account and ``data["accounts"]`` further ones;
    each must be visible to the actor. ``data["custom_fields"]`` as for accounts.

    Unless ``allow_duplicate``, a contact the actor may see with the same email or phone
    refuses the creation (DuplicateContact, code ``duplicate_contact``, naming it).
    Records a "create" audit entry and publishes ContactCreated.
    Raises ValidationFailed with per-field messages (invalid email or phone, missing name,
    an account the actor may not see). A refusal writes nothing.
    """
    contact = Contact()
    values, errors = _normalize_contact({"owner": actor, **data})
    accounts = _assign_contact(contact, values, actor=actor)
    _validate_contact(contact, errors)
    if not allow_duplicate:
        found = find_duplicate_contacts({"email": contact.email, "mobile": contact.mobile, "phone": contact.phone},
                                        actor=actor)
        if found:
            message = _("A contact with the same email or phone already exists: %(contact)s. "
                        "Tick “Create anyway” to create this one too.") % {"contact": found[0]}
            raise DuplicateContact(message, fields={"allow_duplicate": [message]}, duplicate_of=found[0].pk)
    contact.save()
    if accounts:
        contact.accounts.set(accounts)
    audit.record_change(contact, actor=actor, action=AuditEntry.Action.CREATE, before=None,
                        after=_contact_snapshot(contact))
    publish(ContactCreated(contact_id=contact.pk, account_id=contact.account_id, owner_id=contact.owner_id,
                           actor_id=actor.pk))
    return contact


@transaction.atomic
def update_contact(contact: Contact, data: Mapping[str, Any], *, actor: User) -> Contact:
    """Change the given fields of ``contact`` (normalised as in ``create_contact``).

    Only the custom fields named in ``data["custom_fields"]`` change; ``data["accounts"]``
    replaces the other accounts. A newly set account must be visible to the actor.
    Records an "update" audit entry with the changed fields and publishes ContactUpdated
    (plus ContactOwnerChanged when the owner changed); an update that changes nothing
    records and publishes nothing. Raises ValidationFailed; a refusal writes nothing.
    """
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    before = _contact_snapshot(contact)
    values, errors = _normalize_contact(data)
    accounts = _assign_contact(contact, values, actor=actor)
    _validate_contact(contact, errors)
    contact.save()
    if accounts is not None:
        contact.accounts.set(accounts)
    after = _contact_snapshot(contact)
    entry = audit.record_change(contact, actor=actor, action=AuditEntry.Action.UPDATE, before=before, after=after)
    if entry is not None:
        publish(ContactUpdated(contact_id=contact.pk, changed=tuple(entry.changes), actor_id=actor.pk))
        if "owner" in entry.changes:
            publish(ContactOwnerChanged(contact_id=contact.pk, old_owner_id=_owner_id(before),
                                        new_owner_id=_owner_id(after), actor_id=actor.pk))
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, actor: User) -> None:
    """Delete ``contact``. Refused while other records refer to it (ProtectedError → DomainError).

    Records a "delete" audit entry with the last values and publishes ContactDeleted;
    a refused deletion records and publishes nothing.
    """
    from django.db.models import ProtectedError

    contact_id, name = contact.pk, str(contact)
    # Recorded first because the entry needs the primary key; a refusal rolls it back.
    audit.record_change(contact, actor=actor, action=AuditEntry.Action.DELETE, before=_contact_snapshot(contact),
                        after=None)
    try:
        contact.delete()
    except ProtectedError as error:
        raise DomainError(_("%(contact)s is still referred to by other records and cannot be deleted.")
                          % {"contact": contact}, code="contact_in_use") from error
    publish(ContactDeleted(contact_id=contact_id, contact_name=name, actor_id=actor.pk))


@transaction.atomic
def transfer_contacts(contacts: Iterable[Contact], new_owner: User, *, actor: User) -> int:
    """Give every contact in ``contacts`` to ``new_owner``; returns how many changed.

    As ``transfer_accounts``: one UPDATE, one "owner_change" audit entry and one
    ContactOwnerChanged event per changed contact; contacts already owned by
    ``new_owner`` are left alone.
    """
    ids = [c.pk for c in contacts]
    changing = list(Contact.objects.select_for_update().filter(pk__in=ids).exclude(owner=new_owner)
                    .order_by("pk").values_list("pk", "owner_id"))
    if not changing:
        return 0
    old_owners = User.objects.in_bulk({owner_id for _pk, owner_id in changing if owner_id is not None})
    changed = Contact.objects.filter(pk__in=[pk for pk, _owner in changing]).update(owner=new_owner)
    audit.record_bulk(Contact, [pk for pk, _owner in changing], actor=actor, action=AuditEntry.Action.OWNER_CHANGE,
                      changes_by_id={pk: {"owner": (old_owners.get(owner_id) if owner_id else None, new_owner)}
                                     for pk, owner_id in changing})
    for pk, owner_id in changing:
        publish(ContactOwnerChanged(contact_id=pk, old_owner_id=owner_id, new_owner_id=new_owner.pk,
                                    actor_id=actor.pk))
    return changed

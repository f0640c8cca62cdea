"""CRM use cases. Views, the API, imports and automation all call these.

Accounts (issue #3; parent, addresses, tags and account plan in issue #4) and contacts
(issue #4). Every write records the audit trail and publishes a ``bizloom.crm.events``
event in the same transaction (issue #3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
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
from bizloom.crm.models import Account, Contact, Tag
from bizloom.crm.normalize import InvalidValue, fold_width, normalize_email, normalize_name, normalize_phone
from bizloom.platform import access, records
from bizloom.platform.audit import services as audit
from bizloom.platform.models import User

ACCOUNT_WRITABLE_FIELDS = frozenset({
    "name", "code", "industry", "size", "tier", "city", "phone", "email", "website", "annual_revenue", "currency",
    "is_customer", "is_supplier", "owner", "notes", "parent", "billing_address", "shipping_address", "tags",
    "account_plan",
})
TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length or 50
MAX_TAGS = 50
# How far up a parent chain the cycle check walks; a deeper hierarchy is refused as well.
MAX_ACCOUNT_DEPTH = 50


def clean_tag_names(names: Iterable[Any]) -> list[str]:
    """Tag names as stored: trimmed, width-folded, inner blanks collapsed, without empty ones and
    without repeats ignoring case (the first spelling wins), in the given order.

    Raises ValidationFailed on ``tags`` for a name longer than 50 characters or more than 50 tags.
    """
    found: dict[str, str] = {}
    for raw in names:
        name = " ".join(fold_width(str(raw or "")).split())
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH:
            message = _("A tag may have at most %(limit)d characters: “%(tag)s”.") % {
                "limit": TAG_MAX_LENGTH, "tag": name[:TAG_MAX_LENGTH] + "…"}
            raise ValidationFailed(message, code="tag_too_long", fields={"tags": [message]})
        found.setdefault(name.casefold(), name)
    if len(found) > MAX_TAGS:
        message = _("An account may have at most %(limit)d tags.") % {"limit": MAX_TAGS}
        raise ValidationFailed(message, code="too_many_tags", fields={"tags": [message]})
    return list(found.values())


def resolve_tags(names: Iterable[Any]) -> list[Tag]:
    """The tags called ``names`` (matched ignoring case), creating the ones that do not exist yet.

    Safe against two writers creating the same new tag at once (the loser reads the winner's).
    """
    tags: list[Tag] = []
    for name in clean_tag_names(names):
        tag = Tag.objects.filter(name__iexact=name).order_by("pk").first()
        if tag is None:
            try:
                with transaction.atomic():  # savepoint: a lost race leaves the caller's transaction usable
                    tag = Tag.objects.create(name=name)
            except IntegrityError:
                tag = Tag.objects.get(name=name)
        tags.append(tag)
    return tags


def _check_parent(account: Account, parent: Account | None, *, actor: User) -> None:
    """Refuse a parent the actor may not view (unless it is already the parent) or one that would
    make a cycle (the account itself or one of its descendants). ValidationFailed on ``parent``."""
    if parent is None:
        return
    if parent.pk != account.parent_id:
        access.check_reference(actor, parent, field="parent")
    if account.pk is None:
        return
    current: int | None = parent.pk
    for _depth in range(MAX_ACCOUNT_DEPTH + 1):
        if current is None:
            return
        if current == account.pk:
            if parent.pk == account.pk:
                message = _("An account cannot be its own parent account.")
            else:
                message = _("%(parent)s belongs to %(account)s, so it cannot also be its parent account.") % {
                    "parent": parent, "account": account}
            raise ValidationFailed(message, code="parent_cycle", fields={"parent": [message]})
        current = Account.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    message = _("The account hierarchy may be at most %(limit)d levels deep.") % {"limit": MAX_ACCOUNT_DEPTH}
    raise ValidationFailed(message, code="hierarchy_too_deep", fields={"parent": [message]})


def _assign_account(account: Account, data: Mapping[str, Any], *, actor: User) -> list[Tag] | None:
    """Set the given fields of ``account``; returns the tags to set (None when ``data`` leaves them alone).

    ``data["tags"]`` is a list of tag names (new names create tags); ``data["parent"]`` an
    account checked by ``_check_parent``.
    """
    if "parent" in data:
        _check_parent(account, data["parent"], actor=actor)
    tags = resolve_tags(data["tags"] or ()) if "tags" in data else None
    records.assign(account, data, writable=ACCOUNT_WRITABLE_FIELDS, actor=actor, skip=("tags",))
    return tags


def account_snapshot(account: Account) -> dict[str, Any]:
    """The audited state of ``account``: its fields plus its tag names (sorted)."""
    names = sorted(account.tags.values_list("name", flat=True)) if account.pk else []
    return {**audit.snapshot(account), "tags": names}


@transaction.atomic
def create_account(data: Mapping[str, Any], *, actor: User) -> Account:
    """Create an account from validated field values; the actor owns it unless another owner is given.

    ``data["custom_fields"]`` holds custom field values by key (any input form, see
    ``customfields.services.validate_custom_values``); defaults fill the keys left out.
    ``data["tags"]`` is a list of tag names: names matching an existing tag (ignoring case)
    reuse it, new ones are created. ``data["parent"]`` must be an account the actor may view.
    Records a "create" audit entry (tags included) and publishes AccountCreated.
    Raises ValidationFailed with per-field messages when a value breaks a field rule.
    """
    account = Account()
    tags = _assign_account(account, {"owner": actor, **data}, actor=actor)
    full_clean(account)
    account.save()
    if tags:
        account.tags.set(tags)
    records.created(account, actor=actor, snapshot=account_snapshot(account),
                    event=AccountCreated(account_id=account.pk, owner_id=account.owner_id, actor_id=actor.pk))
    return account


@transaction.atomic
def update_account(account: Account, data: Mapping[str, Any], *, actor: User) -> Account:
    """Change the given fields of ``account``. Raises ValidationFailed on invalid values.

    Only the custom fields named in ``data["custom_fields"]`` change (None clears one);
    ``data["tags"]`` (names) replaces the tags. A new parent must be visible to the actor
    and may not be the account itself or one of its descendants (``parent_cycle``).

    Records an "update" audit entry with the changed fields and publishes AccountUpdated
    (plus AccountOwnerChanged when the owner changed); an update that changes nothing
    records and publishes nothing. A refusal writes nothing.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = account_snapshot(account)
    tags = _assign_account(account, data, actor=actor)
    full_clean(account)
    account.save()
    if tags is not None:
        account.tags.set(tags)
    records.updated(
        account, before, actor=actor, after=account_snapshot(account),
        event=lambda changed: AccountUpdated(account_id=account.pk, changed=changed, actor_id=actor.pk),
        owner_event=lambda old, new: AccountOwnerChanged(account_id=account.pk, old_owner_id=old,
                                                         new_owner_id=new, actor_id=actor.pk))
    return account


@transaction.atomic
def delete_account(account: Account, *, actor: User) -> None:
    """Delete ``account``. Refused while other records refer to it (DomainError ``account_in_use``).

    Records a "delete" audit entry with the last values and publishes AccountDeleted;
    a refused deletion records and publishes nothing.
    """
    records.delete(account, actor=actor, in_use_code="account_in_use", snapshot=account_snapshot(account),
                   event=AccountDeleted(account_id=account.pk, account_name=str(account), actor_id=actor.pk))


@transaction.atomic
def transfer_accounts(accounts: Iterable[Account], new_owner: User, *, actor: User) -> int:
    """Give every account in ``accounts`` to ``new_owner``; returns how many changed.

    One UPDATE for all rows, then one "owner_change" audit entry per changed account
    (written in bulk) and one AccountOwnerChanged event each. Accounts that already
    belong to ``new_owner`` are left alone and get no entry.
    """
    return records.transfer_owner(
        Account, accounts, new_owner, actor=actor,
        event=lambda pk, old: AccountOwnerChanged(account_id=pk, old_owner_id=old, new_owner_id=new_owner.pk,
                                                  actor_id=actor.pk))


# --- contacts (issue #4) ------------------------------------------------------------------

CONTACT_WRITABLE_FIELDS = frozenset({
    "name", "position", "department", "account", "accounts", "mobile", "phone", "email", "wechat_id", "birthday",
    "consent_email", "consent_sms", "is_key_contact", "owner", "notes",
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


_CONTACT_NORMALIZERS = (("email", normalize_email), *((name, normalize_phone) for name in CONTACT_PHONE_FIELDS))


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
    for name, normalize in _CONTACT_NORMALIZERS:
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

    Custom fields as in ``records.assign``. A primary or linked account that the actor may not view
    is refused (``access.check_reference``) unless the contact already refers to it. Turning a
    consent on stamps its ``*_at`` time; turning it off clears it.
    """
    if "account" in data and data["account"] is not None and data["account"].pk != contact.account_id:
        access.check_reference(actor, data["account"], field="account")
    records.assign(contact, data, writable=CONTACT_WRITABLE_FIELDS, actor=actor, skip=("accounts",))
    accounts: list[Account] | None = None
    if "accounts" in data:
        current = set(contact.accounts.values_list("pk", flat=True)) if contact.pk else set()
        accounts = sorted({a.pk: a for a in data["accounts"] or ()}.values(), key=lambda a: a.pk)
        for linked in accounts:
            if linked.pk not in current:
                access.check_reference(actor, linked, field="accounts")
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
    records.created(contact, actor=actor, snapshot=_contact_snapshot(contact),
                    event=ContactCreated(contact_id=contact.pk, account_id=contact.account_id,
                                         owner_id=contact.owner_id, actor_id=actor.pk))
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
    records.updated(
        contact, before, actor=actor, after=_contact_snapshot(contact),
        event=lambda changed: ContactUpdated(contact_id=contact.pk, changed=changed, actor_id=actor.pk),
        owner_event=lambda old, new: ContactOwnerChanged(contact_id=contact.pk, old_owner_id=old,
                                                         new_owner_id=new, actor_id=actor.pk))
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, actor: User) -> None:
    """Delete ``contact``. Refused while other records refer to it (DomainError ``contact_in_use``).

    Records a "delete" audit entry with the last values and publishes ContactDeleted;
    a refused deletion records and publishes nothing.
    """
    records.delete(contact, actor=actor, in_use_code="contact_in_use", snapshot=_contact_snapshot(contact),
                   event=ContactDeleted(contact_id=contact.pk, contact_name=str(contact), actor_id=actor.pk))


@transaction.atomic
def transfer_contacts(contacts: Iterable[Contact], new_owner: User, *, actor: User) -> int:
    """Give every contact in ``contacts`` to ``new_owner``; returns how many changed.

    As ``transfer_accounts``: one UPDATE, one "owner_change" audit entry and one
    ContactOwnerChanged event per changed contact; contacts already owned by
    ``new_owner`` are left alone.
    """
    return records.transfer_owner(
        Contact, contacts, new_owner, actor=actor,
        event=lambda pk, old: ContactOwnerChanged(contact_id=pk, old_owner_id=old, new_owner_id=new_owner.pk,
                                                  actor_id=actor.pk))

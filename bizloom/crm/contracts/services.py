"""Contract use cases (issue #4): create, edit, activate, terminate, expire, remind, signed document.

Rules:

* the number comes from the numbering sequence ``crm.contract`` (default pattern
  ``HT-{yyyy}-{seq:05}``, e.g. HT-2026-00001), handed out inside the creating transaction;
* the account must be visible to the actor; the contact must be one of that account's
  contacts (primary or linked) and the opportunity one of its opportunities, both visible;
* amount ≥ 0 with a currency; end date ≥ start date; the renewal reminder at most
  ``MAX_NOTICE_DAYS`` days before the end;
* status: draft → active (``activate_contract``: needs ``signed_on``, not after today, and an
  end date not yet passed) → expired (``expire_contracts``, the daily job, once the end date
  has passed) or terminated (``terminate_contract``, with a reason, from draft or active);
* fields may be edited while the contract is draft or active (the account only in draft);
  only drafts may be deleted: a signed contract is terminated, not deleted;
* the renewal reminder goes to the owner (in-app and e-mail per their preferences)
  ``renewal_notice_days`` before the end date, once (``renewal_reminded_at``); moving the end
  date re-arms it;
* the signed document is a PDF or image attached to the contract's timeline and marked as
  ``signed_document``.

Every write records the audit trail and publishes a ``bizloom.crm.contracts.events`` event
in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.statemachine import check_transition
from bizloom.common.validation import full_clean
from bizloom.crm.contracts.events import (
    ContractActivated,
    ContractCreated,
    ContractDeleted,
    ContractExpired,
    ContractOwnerChanged,
    ContractTerminated,
    ContractUpdated,
)
from bizloom.crm.models import Account, Contact, Contract
from bizloom.platform import access, records
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events import publish
from bizloom.platform.notifications.kinds import register_kind
from bizloom.platform.notifications.services import notify
from bizloom.platform.numbering.services import next_number
from bizloom.platform.timeline import services as timeline_services
from bizloom.platform.timeline.models import Attachment
from bizloom.platform.timeline.uploads import ALLOWED as ALLOWED_UPLOADS

NUMBER_SEQUENCE = "crm.contract"
NUMBER_PATTERN = "HT-{yyyy}-{seq:05}"
MAX_NOTICE_DAYS = 730
MAX_REASON_LENGTH = 2000
RENEWAL_KIND = register_kind("crm.contract_renewal", gettext_lazy("A contract I own is due for renewal"))

CONTRACT_WRITABLE_FIELDS = frozenset({
    "title", "account", "contact", "opportunity", "owner", "customer_reference", "amount", "currency",
    "payment_terms", "signed_on", "start_date", "end_date", "renewal_notice_days", "notes",
})


class ContractNotEditable(DomainError):
    """The contract's status no longer allows this change (expired, terminated, or not a draft)."""

    code = "contract_not_editable"
    status = 409


# --- checks ----------------------------------------------------------------------------------


def is_signed_document_type(mime_type: str) -> bool:
    """Whether a file of ``mime_type`` may be a signed document: a PDF or an image."""
    return mime_type == "application/pdf" or mime_type.startswith("image/")


def _contact_of(contact: Contact, account: Account) -> bool:
    return contact.account_id == account.pk or contact.accounts.filter(pk=account.pk).exists()


def _check_references(contract: Contract, data: Mapping[str, Any], *, actor: Any) -> dict[str, list[str]]:
    """Access and consistency of the account, contact and opportunity ``data`` sets.

    A newly set reference must be visible to the actor (``access.check_reference`` raises);
    the contact and opportunity must belong to the contract's (new) account: those errors
    are returned by field, to be reported with the other field errors.
    """
    errors: dict[str, list[str]] = {}
    account = data.get("account", contract.account if contract.account_id else None)
    if "account" in data and account is not None and account.pk != contract.account_id:
        access.check_reference(actor, account, field="account")
    contact = data.get("contact", contract.contact if contract.contact_id else None)
    if "contact" in data and contact is not None and contact.pk != contract.contact_id:
        access.check_reference(actor, contact, field="contact")
    opportunity = data.get("opportunity", contract.opportunity if contract.opportunity_id else None)
    if "opportunity" in data and opportunity is not None and opportunity.pk != contract.opportunity_id:
        access.check_reference(actor, opportunity, field="opportunity")
    if account is not None:
        if contact is not None and not _contact_of(contact, account):
            errors["contact"] = [_("%(contact)s is not a contact of %(account)s.")
                                 % {"contact": contact, "account": account}]
        if opportunity is not None and opportunity.account_id != account.pk:
            errors["opportunity"] = [_("%(opportunity)s is not an opportunity of %(account)s.")
                                     % {"opportunity": opportunity, "account": account}]
    return errors


def _validate(contract: Contract, errors: dict[str, list[str]]) -> None:
    """Reference errors, the date order, the notice period and model validation, reported together."""
    fields = {name: list(messages) for name, messages in errors.items()}
    if contract.start_date and contract.end_date and contract.end_date < contract.start_date:
        fields.setdefault("end_date", []).append(_("The end date may not be before the start date."))
    if contract.renewal_notice_days is not None and contract.renewal_notice_days > MAX_NOTICE_DAYS:
        fields.setdefault("renewal_notice_days", []).append(
            _("At most %(limit)d days.") % {"limit": MAX_NOTICE_DAYS})
    if contract.signed_on and contract.signed_on > timezone.localdate():
        fields.setdefault("signed_on", []).append(_("The signing date may not be in the future."))
    try:
        full_clean(contract, exclude=["number"])
    except ValidationFailed as failure:
        for name, messages in failure.fields.items():
            if name == "__all__" and "end_date" in fields:
                continue  # the database constraint says the same as the end date message
            fields.setdefault(name, []).extend(messages)
    if fields:
        raise ValidationFailed(_("Please correct the errors below."), fields=fields)


def _assign(contract: Contract, data: Mapping[str, Any], *, actor: Any) -> None:
    errors = _check_references(contract, data, actor=actor)
    old_end = contract.end_date
    records.assign(contract, data, writable=CONTRACT_WRITABLE_FIELDS, actor=actor)
    contract.currency = (contract.currency or "").upper()
    if contract.pk is not None and contract.end_date != old_end:
        contract.renewal_reminded_at = None  # a new end date means a new reminder
    _validate(contract, errors)


def _require_status(contract: Contract, statuses: Iterable[str], message: str) -> None:
    if contract.status not in set(statuses):
        raise ContractNotEditable(message, status_value=contract.status)


def _locked(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().select_related("account").get(pk=contract.pk)


def _updated_event(contract: Contract, actor: Any) -> Any:
    actor_id = getattr(actor, "pk", None)
    return lambda changed: ContractUpdated(contract_id=contract.pk, changed=changed, actor_id=actor_id)


def _owner_event(contract: Contract, actor: Any) -> Any:
    actor_id = getattr(actor, "pk", None)
    return lambda old, new: ContractOwnerChanged(contract_id=contract.pk, old_owner_id=old, new_owner_id=new,
                                                 actor_id=actor_id)


# --- use cases -------------------------------------------------------------------------------


@transaction.atomic
def create_contract(data: Mapping[str, Any], *, actor: Any) -> Contract:
    """Create a draft contract; the actor owns it unless another owner is given.

    ``data`` holds model values (``account``, ``contact``, ``opportunity`` as records;
    ``custom_fields`` by key). The number is taken from the ``crm.contract`` sequence only
    once everything is valid. Records a "create" audit entry and publishes ContractCreated.
    Raises ValidationFailed with per-field messages (missing title or dates, end before
    start, negative amount, a contact or opportunity of another account, a reference the
    actor may not view); a refusal writes nothing and uses no number.
    """
    contract = Contract(status=Contract.Status.DRAFT)
    _assign(contract, {"owner": actor, **data}, actor=actor)
    contract.number = next_number(NUMBER_SEQUENCE, default_pattern=NUMBER_PATTERN)
    contract.save()
    records.created(contract, actor=actor,
                    event=ContractCreated(contract_id=contract.pk, account_id=contract.account_id,
                                          owner_id=contract.owner_id, actor_id=actor.pk))
    return contract


@transaction.atomic
def update_contract(contract: Contract, data: Mapping[str, Any], *, actor: Any) -> Contract:
    """Change the given fields of a draft or active contract (the account only while draft).

    Only the custom fields named in ``data["custom_fields"]`` change. A new end date re-arms
    the renewal reminder. Records an "update" audit entry and publishes ContractUpdated (plus
    ContractOwnerChanged); an update that changes nothing records and publishes nothing.
    Raises ContractNotEditable (409) for an expired or terminated contract, ValidationFailed
    for invalid values; a refusal writes nothing.
    """
    contract = _locked(contract)
    _require_status(contract, Contract.EDITABLE_STATUSES,
                    _("A contract that is %(status)s can no longer be changed.")
                    % {"status": contract.get_status_display().lower()})
    if ("account" in data and data["account"] is not None and data["account"].pk != contract.account_id
            and contract.status != Contract.Status.DRAFT):
        message = _("The account of a signed contract cannot be changed.")
        raise ValidationFailed(message, code="contract_account_locked", fields={"account": [message]})
    before = audit.snapshot(contract)
    _assign(contract, data, actor=actor)
    contract.save()
    records.updated(contract, before, actor=actor, event=_updated_event(contract, actor),
                    owner_event=_owner_event(contract, actor))
    return contract


def _change_status(contract: Contract, before: Mapping[str, Any], *, actor: Any) -> None:
    contract.save()
    records.updated(contract, before, actor=actor, event=None, action=AuditEntry.Action.STATE_CHANGE)


@transaction.atomic
def activate_contract(contract: Contract, *, actor: Any, signed_on: dt.date | None = None) -> Contract:
    """Move a draft contract to active: it has been signed.

    ``signed_on`` (when given) sets the signing date; without one the contract must already
    have one. Refused (ValidationFailed on ``signed_on``) without a signing date or with one in
    the future, refused on ``end_date`` when the end date has already passed, and refused
    with InvalidTransition (409) unless the contract is a draft. Records a "status changed"
    audit entry and publishes ContractActivated.
    """
    contract = _locked(contract)
    check_transition(contract, Contract.Status.ACTIVE)
    before = audit.snapshot(contract)
    if signed_on is not None:
        contract.signed_on = signed_on
    if contract.signed_on is None:
        message = _("Enter the date the contract was signed before activating it.")
        raise ValidationFailed(message, code="signed_on_required", fields={"signed_on": [message]})
    if contract.signed_on > timezone.localdate():
        message = _("The signing date may not be in the future.")
        raise ValidationFailed(message, code="signed_on_in_future", fields={"signed_on": [message]})
    if contract.end_date < timezone.localdate():
        message = _("The contract ended on %(date)s; extend the end date before activating it.") % {
            "date": contract.end_date.isoformat()}
        raise ValidationFailed(message, code="contract_already_ended", fields={"end_date": [message]})
    contract.status = Contract.Status.ACTIVE
    _change_status(contract, before, actor=actor)
    publish(ContractActivated(contract_id=contract.pk, account_id=contract.account_id,
                                      amount=str(contract.amount), currency=contract.currency,
                                      actor_id=getattr(actor, "pk", None)))
    return contract


@transaction.atomic
def terminate_contract(contract: Contract, reason: str, *, actor: Any) -> Contract:
    """End a draft or active contract early, with ``reason`` (required, at most 2,000 characters).

    Sets ``terminated_at``. Records a "status changed" audit entry and publishes
    ContractTerminated. Raises ValidationFailed on ``termination_reason`` without a reason,
    InvalidTransition (409) for an expired or already terminated contract.
    """
    contract = _locked(contract)
    check_transition(contract, Contract.Status.TERMINATED)
    text = (reason or "").strip()
    if not text:
        message = _("Give the reason for terminating the contract.")
        raise ValidationFailed(message, code="termination_reason_required", fields={"termination_reason": [message]})
    if len(text) > MAX_REASON_LENGTH:
        message = _("At most %(limit)d characters.") % {"limit": MAX_REASON_LENGTH}
        raise ValidationFailed(message, code="termination_reason_too_long", fields={"termination_reason": [message]})
    before = audit.snapshot(contract)
    contract.status = Contract.Status.TERMINATED
    contract.termination_reason = text
    contract.terminated_at = timezone.now()
    _change_status(contract, before, actor=actor)
    publish(ContractTerminated(contract_id=contract.pk, account_id=contract.account_id, reason=text,
                                       actor_id=getattr(actor, "pk", None)))
    return contract


@transaction.atomic
def delete_contract(contract: Contract, *, actor: Any) -> None:
    """Delete a draft contract (ContractNotEditable for a signed one: terminate it instead).

    Records a "delete" audit entry with the last values and publishes ContractDeleted.
    """
    contract = _locked(contract)
    _require_status(contract, {Contract.Status.DRAFT},
                    _("Only draft contracts can be deleted; terminate %(contract)s instead.") % {"contract": contract})
    records.delete(contract, actor=actor, in_use_code="contract_in_use",
                   event=ContractDeleted(contract_id=contract.pk, number=contract.number,
                                         actor_id=getattr(actor, "pk", None)))


@transaction.atomic
def transfer_contracts(contracts: Iterable[Contract], new_owner: Any, *, actor: Any) -> int:
    """Give every contract in ``contracts`` to ``new_owner``; returns how many changed.

    One UPDATE, one "owner_change" audit entry and one ContractOwnerChanged event per
    changed contract; contracts already owned by ``new_owner`` are left alone.
    """
    return records.transfer_owner(
        Contract, contracts, new_owner, actor=actor,
        event=lambda pk, old: ContractOwnerChanged(contract_id=pk, old_owner_id=old, new_owner_id=new_owner.pk,
                                                   actor_id=actor.pk))


# --- the signed document ----------------------------------------------------------------------


@transaction.atomic
def mark_signed_document(contract: Contract, attachment: Attachment, *, actor: Any) -> Contract:
    """Mark ``attachment`` (a file on the contract's own timeline) as the signed contract.

    Only a PDF or an image qualifies (the upload checks proved the type from the content).
    Raises ValidationFailed on ``signed_document`` for another record's file or another type,
    ContractNotEditable for an expired or terminated contract. Audited as an update.
    """
    contract = _locked(contract)
    _require_status(contract, Contract.EDITABLE_STATUSES,
                    _("A contract that is %(status)s can no longer be changed.")
                    % {"status": contract.get_status_display().lower()})
    content_type = ContentType.objects.get_for_model(Contract)
    if attachment.content_type_id != content_type.pk or attachment.object_id != str(contract.pk):
        message = _("This file is not attached to the contract.")
        raise ValidationFailed(message, code="signed_document_elsewhere", fields={"signed_document": [message]})
    if not is_signed_document_type(attachment.mime_type):
        message = _("The signed document must be a PDF or an image.")
        raise ValidationFailed(message, code="signed_document_type", fields={"signed_document": [message]})
    before = audit.snapshot(contract)
    contract.signed_document = attachment
    contract.save()
    records.updated(contract, before, actor=actor, event=_updated_event(contract, actor))
    return contract


@transaction.atomic
def attach_signed_document(contract: Contract, upload: UploadedFile[Any], *, actor: Any) -> Contract:
    """Upload ``upload`` to the contract's timeline and mark it as the signed document, in one step.

    The extension is checked first (PDF or image only), then the attachment checks (size,
    content matching the extension) run. Raises ValidationFailed on ``file``; nothing is
    stored then.
    """
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not is_signed_document_type(ALLOWED_UPLOADS.get(extension, "")):
        message = _("The signed document must be a PDF or an image.")
        raise ValidationFailed(message, code="signed_document_type", fields={"file": [message]})
    _require_status(contract, Contract.EDITABLE_STATUSES,
                    _("A contract that is %(status)s can no longer be changed.")
                    % {"status": contract.get_status_display().lower()})
    attachment = timeline_services.add_attachment(contract, upload, actor=actor)
    return mark_signed_document(contract, attachment, actor=actor)


# --- the daily job ----------------------------------------------------------------------------


def expire_contracts(*, today: dt.date | None = None) -> int:
    """Move every active contract whose end date is before ``today`` (default: today) to expired.

    One transaction per contract (a failure leaves the others done); each gets a "status
    changed" audit entry by the system and a ContractExpired event. Returns how many expired.
    Running it again the same day does nothing more.
    """
    day = today or timezone.localdate()
    due = list(Contract.objects.filter(status=Contract.Status.ACTIVE, end_date__lt=day)
               .order_by("pk").values_list("pk", flat=True))
    count = 0
    for pk in due:
        with transaction.atomic():
            contract = Contract.objects.select_for_update().filter(pk=pk, status=Contract.Status.ACTIVE,
                                                                   end_date__lt=day).first()
            if contract is None:
                continue
            before = audit.snapshot(contract)
            contract.status = Contract.Status.EXPIRED
            _change_status(contract, before, actor=None)
            publish(ContractExpired(contract_id=contract.pk, account_id=contract.account_id))
            count += 1
    return count


def renewal_due(contract: Contract, today: dt.date) -> bool:
    """Whether ``contract``'s renewal reminder is due on ``today`` (and not sent yet)."""
    return (contract.status == Contract.Status.ACTIVE and contract.renewal_reminded_at is None
            and contract.end_date >= today
            and contract.end_date - dt.timedelta(days=min(contract.renewal_notice_days, MAX_NOTICE_DAYS)) <= today)


def send_renewal_reminders(*, today: dt.date | None = None) -> int:
    """Tell the owner of every active contract that reaches its renewal date (``renewal_notice_days``
    before the end) that it is due for renewal; each contract is reminded once.

    The notification (kind ``crm.contract_renewal``) is in-app and/or e-mail as the owner
    prefers, in the owner's language. Contracts without an owner wait until they get one.
    Returns how many reminders were sent.
    """
    day = today or timezone.localdate()
    candidates = (Contract.objects.filter(status=Contract.Status.ACTIVE, renewal_reminded_at__isnull=True,
                                          owner__isnull=False, end_date__gte=day)
                  .order_by("pk").values_list("pk", "end_date", "renewal_notice_days"))
    due = [pk for pk, end, days in candidates if end - dt.timedelta(days=min(days, MAX_NOTICE_DAYS)) <= day]
    sent = 0
    for pk in due:
        with transaction.atomic():
            contract = (Contract.objects.select_for_update(of=("self",)).select_related("owner", "account")
                        .filter(pk=pk).first())
            if contract is None or contract.owner is None or not renewal_due(contract, day):
                continue
            owner = contract.owner
            with translation.override(getattr(owner, "language", "") or None):
                message = _("Contract %(contract)s with %(account)s ends on %(end)s (in %(days)d days): "
                            "time to talk about renewal.") % {
                    "contract": contract, "account": contract.account, "end": contract.end_date.isoformat(),
                    "days": (contract.end_date - day).days}
            notify(owner, kind=RENEWAL_KIND.key, message=message, target=contract)
            contract.renewal_reminded_at = timezone.now()
            contract.save(update_fields=["renewal_reminded_at"])
            sent += 1
    return sent

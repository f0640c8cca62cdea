"""Lead conversion (issue #4): one action, one transaction, lead → account + contact + opportunity.

Before converting, :func:`conversion_matches` lists the existing accounts (same tax id, or the
same company name once legal forms, width and Traditional/Simplified are folded) and contacts
(same email or phone, or the same name at the matched account) that the user may see, best
first; the user picks "use existing" or "create new" for each and :func:`convert_lead` does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.crm import duplicates
from bizloom.crm import services as crm_services
from bizloom.crm.leads.events import LeadConverted
from bizloom.crm.leads.services import DuplicateHit, matching_accounts, record_lead_change
from bizloom.crm.models import Account, Contact, Lead, Opportunity
from bizloom.platform import access
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events import publish
from bizloom.platform.models import User

MAX_MATCHES = 10
# What a caller may pass for the new opportunity (the pipeline service validates the values).
OPPORTUNITY_KEYS = frozenset({"name", "amount", "currency", "expected_close", "pipeline", "stage", "description"})


class LeadAlreadyConverted(DomainError):
    """The lead was converted before; converting again would create a second account and contact."""

    code = "lead_already_converted"
    status = 409


class LeadNotConvertible(DomainError):
    """The lead's status does not allow conversion (unqualified: qualify it again first)."""

    code = "lead_not_convertible"
    status = 409


@dataclass
class ConversionMatches:
    """Existing records a lead may become, best first; ``account`` / ``contact`` are the
    pre-selected best matches (None: create new)."""

    accounts: list[DuplicateHit] = field(default_factory=list)
    contacts: list[DuplicateHit] = field(default_factory=list)

    @property
    def account(self) -> Account | None:
        """The best matching account, or None."""
        return self.accounts[0].record if self.accounts else None  # type: ignore[return-value]

    @property
    def contact(self) -> Contact | None:
        """The best matching contact, or None."""
        return self.contacts[0].record if self.contacts else None  # type: ignore[return-value]


@dataclass(frozen=True)
class Conversion:
    """What a conversion produced."""

    lead: Lead
    account: Account
    contact: Contact
    opportunity: Opportunity | None
    account_created: bool
    contact_created: bool


def conversion_matches(lead: Lead, *, actor: User) -> ConversionMatches:
    """The accounts and contacts ``actor`` may view that ``lead`` may be converted into.

    Accounts: same tax id first, then the same :func:`duplicates.company_key` of the
    company name (so 华为技术有限公司 matches 華為技術股份有限公司 and "Acme Ltd" matches
    "ACME Inc."). Contacts: same email, then same phone (mobile or office, either field),
    then the same :func:`duplicates.person_key` among the best account's contacts. Contacts of
    the best account come before others with the same rule.
    """
    accounts = matching_accounts(lead.company or "", lead.company_code, actor=actor, limit=MAX_MATCHES)
    best = accounts[0].record if accounts else None
    email = duplicates.email_key(lead.email)
    phones = sorted({key for value in (lead.mobile, lead.phone) if (key := duplicates.phone_key(value))})
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email=email)
    if phones:
        condition |= Q(mobile__in=phones) | Q(phone__in=phones)
    if best is not None:
        condition |= Q(account=best) | Q(accounts=best)
    visible = access.restrict(Contact.objects.filter(condition).distinct(), actor, "view").order_by("pk")
    person = duplicates.person_key(lead.name)
    contacts: list[tuple[int, int, DuplicateHit]] = []
    for contact in visible[:200]:
        at_best = best is not None and (contact.account_id == best.pk)
        if email and contact.email == email:
            hit = DuplicateHit(contact, "email", email)
        elif phones and (shared := [p for p in phones if p in (contact.mobile, contact.phone)]):
            hit = DuplicateHit(contact, "phone", shared[0])
        elif best is not None and person and duplicates.person_key(contact.name) == person:
            hit = DuplicateHit(contact, "name", person)
        else:
            continue
        rank = {"email": 0, "phone": 1, "name": 2}[hit.rule]
        contacts.append((rank, 0 if at_best else 1, hit))
    contacts.sort(key=lambda item: (item[0], item[1], item[2].record.pk))
    return ConversionMatches(accounts=accounts, contacts=[hit for _r, _b, hit in contacts][:MAX_MATCHES])


def _prefixed(error: ValidationFailed, prefix: str) -> ValidationFailed:
    """The same refusal with its field errors under ``<prefix>.<field>`` and named in the message."""
    fields = {f"{prefix}.{name}": messages for name, messages in error.fields.items()}
    detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.fields.items())
    message = _("The %(record)s cannot be created: %(detail)s") % {"record": prefix, "detail": detail or error.message}
    return ValidationFailed(message, code=error.code, fields=fields or {prefix: [error.message]})


def _new_account(lead: Lead, owner: User, *, actor: User) -> Account:
    values: dict[str, Any] = {
        "name": lead.company or lead.name, "code": lead.company_code, "industry": lead.industry, "city": lead.city,
        "website": lead.website, "owner": owner,
    }
    if lead.phone:
        values["phone"] = lead.phone
    try:
        return crm_services.create_account(values, actor=actor)
    except ValidationFailed as error:
        raise _prefixed(error, "account") from error


def _new_contact(lead: Lead, account: Account, owner: User, *, actor: User) -> Contact:
    values = {"name": lead.name, "position": lead.position, "account": account, "mobile": lead.mobile,
              "phone": lead.phone, "email": lead.email, "wechat_id": lead.wechat_id, "owner": owner}
    try:
        # The user saw the matching contacts and chose to create a new one.
        return crm_services.create_contact(values, actor=actor, allow_duplicate=True)
    except ValidationFailed as error:
        raise _prefixed(error, "contact") from error


def _link_contact(contact: Contact, account: Account, *, actor: User) -> None:
    """Give an existing contact the account it was converted with, when the actor may edit it:
    as its primary account when it has none, else as one of its other accounts."""
    if not access.allows(actor, contact, "change"):
        return
    if contact.account_id is None:
        crm_services.update_contact(contact, {"account": account}, actor=actor)
    elif contact.account_id != account.pk and not contact.accounts.filter(pk=account.pk).exists():
        crm_services.update_contact(contact, {"accounts": [*contact.accounts.order_by("pk"), account]}, actor=actor)


def _new_opportunity(lead: Lead, account: Account, contact: Contact | None, owner: User,
                     values: Mapping[str, Any], *, actor: User) -> Opportunity:
    from bizloom.crm.pipeline import services as pipeline_services  # written by the pipeline area

    unknown = set(values) - OPPORTUNITY_KEYS
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields",
                          fields={f"opportunity.{name}": [_("Unknown field.")] for name in unknown})
    data: dict[str, Any] = {
        "name": _("%(company)s – new business") % {"company": account.name},
        "account": account, "contact": contact, "owner": owner, "source": lead.source, "campaign": lead.campaign,
        "description": lead.notes,
    }
    given = {key: value for key, value in values.items() if value not in (None, "")}
    data.update(given)
    try:
        # the values the caller chose obey the field rules of a new opportunity (a role may make
        # the amount read-only); the ones taken from the lead and the account are not theirs
        access.check_fields_writable(actor, Opportunity, given, "add")
        return pipeline_services.create_opportunity(data, actor=actor)
    except ValidationFailed as error:
        raise _prefixed(error, "opportunity") from error


@transaction.atomic
def convert_lead(lead: Lead, *, actor: User, account: Account | None = None, contact: Contact | None = None,
                 create_opportunity: bool = True, opportunity: Mapping[str, Any] | None = None,
                 owner: User | None = None) -> Conversion:
    """Turn ``lead`` into an account, a contact and (unless ``create_opportunity`` is false) an
    opportunity, all in one transaction: a refusal anywhere leaves nothing behind.

    ``account`` / ``contact``: existing records to use (each must be visible to the actor,
    ``access.check_reference``); None creates one from the lead's values (the company, its tax
    id, industry, city and website; the person, position, phones, email and WeChat id), the
    contact at the account. An existing contact without an account gets this one (when the
    actor may edit it). ``opportunity`` holds values for the new opportunity (name, amount,
    currency, expected_close, pipeline, stage, description), created through
    ``crm.pipeline.services.create_opportunity`` with the lead's source and campaign.
    New records belong to ``owner`` (default: the lead's owner, else the actor).

    The actor needs permission to create what is created (PermissionDeniedError). The lead
    becomes "converted" with ``converted_at`` and the three links; converting twice is
    refused (LeadAlreadyConverted, ``lead_already_converted``), and so is an unqualified lead
    (LeadNotConvertible). Records a "state_change" audit entry on the lead and publishes
    LeadUpdated and LeadConverted, besides the created records' own entries and events.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.CONVERTED:
        raise LeadAlreadyConverted(_("%(lead)s was already converted.") % {"lead": lead})
    if lead.status not in Lead.CONVERTIBLE_STATUSES:
        raise LeadNotConvertible(_("%(lead)s is marked as not qualified; change its status before converting it.")
                                 % {"lead": lead})
    owner = owner or lead.owner or actor
    if account is None:
        access.require(actor, Account, "add")
    else:
        access.check_reference(actor, account, field="account")
    if contact is None:
        access.require(actor, Contact, "add")
    else:
        access.check_reference(actor, contact, field="contact")
    if create_opportunity:
        access.require(actor, Opportunity, "add")

    account_created, contact_created = account is None, contact is None
    if account is None:
        account = _new_account(lead, owner, actor=actor)
    if contact is None:
        contact = _new_contact(lead, account, owner, actor=actor)
    else:
        _link_contact(contact, account, actor=actor)
        contact.refresh_from_db()
    belongs = contact.account_id == account.pk or contact.accounts.filter(pk=account.pk).exists()
    new_opportunity = (_new_opportunity(lead, account, contact if belongs else None, owner, opportunity or {},
                                        actor=actor)
                       if create_opportunity else None)

    before = audit.snapshot(lead)
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_account, lead.converted_contact, lead.converted_opportunity = account, contact, new_opportunity
    lead.save(update_fields=["status", "converted_at", "converted_account", "converted_contact",
                             "converted_opportunity", "updated_at"])
    record_lead_change(lead, before, actor=actor, action=AuditEntry.Action.STATE_CHANGE)
    publish(LeadConverted(lead_id=lead.pk, account_id=account.pk, contact_id=contact.pk,
                          opportunity_id=new_opportunity.pk if new_opportunity else None,
                          account_created=account_created, contact_created=contact_created, actor_id=actor.pk))
    return Conversion(lead=lead, account=account, contact=contact, opportunity=new_opportunity,
                      account_created=account_created, contact_created=contact_created)


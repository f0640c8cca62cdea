"""Lead use cases (issue #4): entry with normalisation and duplicate warnings, status changes,
deletion and transfer. Conversion into account, contact and opportunity is in ``conversion``.

Every write records the audit trail and publishes a ``bizloom.crm.leads.events`` event in the
same transaction; a refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.statemachine import check_transition
from bizloom.common.validation import full_clean
from bizloom.crm import duplicates
from bizloom.crm.identifiers import normalize_tax_id, validate_uscc
from bizloom.crm.leads.events import LeadCreated, LeadDeleted, LeadOwnerChanged, LeadUpdated
from bizloom.crm.models import Account, Contact, Lead
from bizloom.crm.normalize import InvalidValue, fold_width, normalize_email, normalize_name, normalize_phone
from bizloom.platform import access, records
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.models import User

LEAD_WRITABLE_FIELDS = frozenset({
    "name", "position", "company", "company_code", "industry", "city", "mobile", "phone", "email", "wechat_id",
    "website", "source", "campaign", "score", "owner", "notes",
})
LEAD_NAME_FIELDS = ("name", "position", "company", "city", "campaign")
LEAD_PHONE_FIELDS = ("mobile", "phone")
USCC_LENGTH = 18
MAX_DUPLICATES = 10


class DuplicateLead(DomainError):
    """A new lead looks like a lead, contact or account the actor may see.

    ``fields`` puts the message on ``allow_duplicate`` (the flag that overrides the check);
    the context names the first match (``duplicate_model``, ``duplicate_of``).
    """

    code = "duplicate_lead"
    status = 409


class LeadNotEditable(DomainError):
    """A converted lead is a historical record: its fields and status no longer change."""

    code = "lead_converted"
    status = 409


@dataclass(frozen=True)
class DuplicateHit:
    """One record a lead's values match: ``record`` (Lead, Contact or Account), by ``rule``."""

    record: models.Model
    rule: str
    value: str

    @property
    def kind(self) -> str:
        """``lead``, ``contact`` or ``account``."""
        return str(self.record._meta.model_name)

    def describe_rule(self) -> str:
        """"same email" in the active language."""
        rules = {"tax_id": _("same tax id"), "email": _("same email"), "phone": _("same phone"),
                 "name": _("same name") if self.kind == "contact" else _("same company name")}
        return rules.get(self.rule, self.rule)

    def describe(self) -> str:
        """"contact 王芳 (same email)" in the active language."""
        return _("%(model)s “%(record)s” (%(rule)s)") % {
            "model": self.record._meta.verbose_name, "record": self.record, "rule": self.describe_rule()}


# --- normalisation ------------------------------------------------------------------------


def normalize_lead(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``data`` in storage form, and the field errors of values that cannot be normalised.

    Names (person, position, company, city, campaign) are trimmed and width-folded, the WeChat
    id width-folded, the email lower-cased and checked, phones turned into E.164 (mainland
    numbers without +86 understood), the company tax id upper-cased without separators and,
    when it has the 18 characters of a unified social credit code, checked as one. A value
    that fails is blanked, so that model validation can still report the other fields.
    """
    result = dict(data)
    errors: dict[str, list[str]] = {}
    for name in LEAD_NAME_FIELDS:
        if isinstance(result.get(name), str):
            result[name] = normalize_name(result[name])
    if isinstance(result.get("wechat_id"), str):
        result["wechat_id"] = fold_width(result["wechat_id"])
    normalizers = [("email", normalize_email), *((name, normalize_phone) for name in LEAD_PHONE_FIELDS),
                   ("company_code", _normalize_company_code)]
    for name, normalize in normalizers:
        if name in result:
            try:
                result[name] = normalize(result[name] or "")
            except InvalidValue as error:
                errors[name] = [str(error)]
                result[name] = ""
    return result, errors


def _normalize_company_code(text: str) -> str:
    code = normalize_tax_id(text)
    if len(code) == USCC_LENGTH and code[0].isdigit():
        return validate_uscc(code)
    return code


def _validate(lead: Lead, errors: dict[str, list[str]]) -> None:
    fields = {name: list(messages) for name, messages in errors.items()}
    try:
        full_clean(lead)
    except ValidationFailed as failure:
        for name, messages in failure.fields.items():
            fields.setdefault(name, []).extend(messages)
    if fields:
        raise ValidationFailed(_("Please correct the errors below."), fields=fields)


# --- duplicates ---------------------------------------------------------------------------


def find_lead_duplicates(values: Mapping[str, Any], *, actor: User, exclude: int | None = None) -> list[DuplicateHit]:
    """Records ``actor`` may view that ``values`` (a lead's, in storage form) look like:

    leads and contacts with the same email or phone (mobile or office, in either field),
    accounts with the same tax id or the same normalised company name (legal forms,
    width and Traditional/Simplified folded, :func:`duplicates.company_key`). At most ten,
    strongest rule first.
    """
    email = duplicates.email_key(values.get("email"))
    phones = sorted({key for name in LEAD_PHONE_FIELDS if (key := duplicates.phone_key(values.get(name)))})
    hits: list[DuplicateHit] = []
    if email or phones:
        for model in (Lead, Contact):
            condition = Q(pk__in=[])
            if email:
                condition |= Q(email=email)
            if phones:
                condition |= Q(mobile__in=phones) | Q(phone__in=phones)
            queryset = access.restrict(model._default_manager.filter(condition), actor, "view")
            if model is Lead and exclude is not None:
                queryset = queryset.exclude(pk=exclude)
            for record in queryset.order_by("pk")[:MAX_DUPLICATES]:
                if email and getattr(record, "email", "") == email:
                    hits.append(DuplicateHit(record, "email", email))
                else:
                    numbers = (getattr(record, "mobile", ""), getattr(record, "phone", ""))
                    shared = next((p for p in phones if p in numbers), phones[0])
                    hits.append(DuplicateHit(record, "phone", shared))
    hits.extend(matching_accounts(values.get("company", ""), values.get("company_code", ""), actor=actor))
    order = {rule: rank for rank, rule in enumerate(duplicates.RULE_ORDER)}
    hits.sort(key=lambda hit: order.get(duplicates.Rule(hit.rule), 9))
    return hits[:MAX_DUPLICATES]


def matching_accounts(company: str | None, tax_id: str | None, *, actor: User,
                      limit: int = MAX_DUPLICATES) -> list[DuplicateHit]:
    """Accounts ``actor`` may view with the tax id ``tax_id`` or a company name whose
    :func:`duplicates.company_key` equals that of ``company``; tax id matches first, then by name.

    Names are compared in Python (the key is not stored): one pass over the visible accounts'
    names, about 10 µs an account.
    """
    code = duplicates.tax_key(tax_id)
    key = duplicates.company_key(company or "") if (company or "").strip() else ""
    if not code and not key:
        return []
    by_code: list[int] = []
    by_name: list[int] = []
    rows = access.restrict(Account.objects.all(), actor, "view").order_by("pk").values_list("pk", "name", "code")
    for pk, name, account_code in rows.iterator(chunk_size=2000):
        if code and account_code and duplicates.tax_key(account_code) == code:
            by_code.append(pk)
        elif key and duplicates.company_key(name) == key:
            by_name.append(pk)
    found = Account.objects.in_bulk([*by_code[:limit], *by_name[:limit]])
    hits = [DuplicateHit(found[pk], "tax_id", code or "") for pk in by_code[:limit]]
    hits += [DuplicateHit(found[pk], "name", key) for pk in by_name[:limit]]
    return hits[:limit]


def _refuse_duplicates(lead: Lead, *, actor: User) -> None:
    found = find_lead_duplicates({name: getattr(lead, name) for name in
                                  ("email", "mobile", "phone", "company", "company_code")}, actor=actor)
    if not found:
        return
    listed = "; ".join(hit.describe() for hit in found[:3])
    message = _("This lead looks like an existing record: %(records)s. "
                "Tick “Create anyway” to create it too.") % {"records": listed}
    raise DuplicateLead(message, fields={"allow_duplicate": [message]}, duplicate_model=found[0].kind,
                        duplicate_of=found[0].record.pk)


# --- writes -------------------------------------------------------------------------------


def _check_owner(lead: Lead, data: Mapping[str, Any]) -> None:
    owner = data.get("owner")
    if owner is not None and not owner.is_active:
        message = _("No active user with this id.")
        raise ValidationFailed(message, fields={"owner": [message]})


@transaction.atomic
def create_lead(data: Mapping[str, Any], *, actor: User, allow_duplicate: bool = False) -> Lead:
    """Create a lead; the actor owns it unless another owner is given. Status starts at "new".

    Values are normalised first (see :func:`normalize_lead`); ``score`` is 0–100;
    ``data["custom_fields"]`` holds custom field values by key. Unless ``allow_duplicate``,
    a lead or contact the actor may see with the same email or phone, or an account with the
    same tax id or company name, refuses the creation (DuplicateLead, code ``duplicate_lead``,
    naming the matches). Records a "create" audit entry and publishes LeadCreated.
    Raises ValidationFailed with per-field messages. A refusal writes nothing.
    """
    lead = Lead()
    values, errors = normalize_lead({"owner": actor, **data})
    _check_owner(lead, values)
    records.assign(lead, values, writable=LEAD_WRITABLE_FIELDS, actor=actor)
    _validate(lead, errors)
    if not allow_duplicate:
        _refuse_duplicates(lead, actor=actor)
    lead.save()
    records.created(lead, actor=actor, event=LeadCreated(lead_id=lead.pk, owner_id=lead.owner_id,
                                                         source=lead.source, actor_id=actor.pk))
    return lead


def _lock(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().get(pk=lead.pk)


def _refuse_converted(lead: Lead) -> None:
    if lead.status not in Lead.EDITABLE_STATUSES:
        raise LeadNotEditable(_("%(lead)s was converted and can no longer be changed.") % {"lead": lead})


def record_lead_change(lead: Lead, before: Mapping[str, Any], *, actor: User,
             action: str = AuditEntry.Action.UPDATE) -> AuditEntry | None:
    """Record the change of ``lead`` since ``before`` and publish LeadUpdated (and LeadOwnerChanged)."""
    return records.updated(
        lead, before, actor=actor, action=action,
        event=lambda changed: LeadUpdated(lead_id=lead.pk, changed=changed, actor_id=actor.pk),
        owner_event=lambda old, new: LeadOwnerChanged(lead_id=lead.pk, old_owner_id=old, new_owner_id=new,
                                                      actor_id=actor.pk))


@transaction.atomic
def update_lead(lead: Lead, data: Mapping[str, Any], *, actor: User) -> Lead:
    """Change the given fields of ``lead`` (normalised as in ``create_lead``; no duplicate check).

    The status changes only through :func:`change_lead_status` and conversion. A converted
    lead is refused (LeadNotEditable, code ``lead_converted``). Records an "update" audit
    entry and publishes LeadUpdated (plus LeadOwnerChanged); an update that changes nothing
    records and publishes nothing. Raises ValidationFailed; a refusal writes nothing.
    """
    lead = _lock(lead)
    _refuse_converted(lead)
    before = audit.snapshot(lead)
    values, errors = normalize_lead(data)
    _check_owner(lead, values)
    records.assign(lead, values, writable=LEAD_WRITABLE_FIELDS, actor=actor)
    _validate(lead, errors)
    lead.save()
    record_lead_change(lead, before, actor=actor)
    return lead


@transaction.atomic
def change_lead_status(lead: Lead, status: str, *, actor: User, reason: str = "") -> Lead:
    """Move ``lead`` to ``status`` along ``Lead.TRANSITIONS`` (new → contacted → qualified, or
    unqualified, and back; "converted" only through conversion).

    Unqualified needs a ``reason`` (ValidationFailed on ``reason``), kept in
    ``unqualified_reason``; any other status clears it. Raises InvalidTransition
    (``invalid_transition``) for a move the workflow does not allow. Records a
    "state_change" audit entry and publishes LeadUpdated.
    """
    lead = _lock(lead)
    if status == Lead.Status.CONVERTED:
        raise DomainError(_("A lead is converted with the Convert action, which creates its account and contact."),
                          code="use_convert")
    check_transition(lead, status)
    reason = normalize_name(reason or "")
    if status == Lead.Status.UNQUALIFIED and not reason:
        message = _("Say why the lead is not qualified.")
        raise ValidationFailed(message, fields={"reason": [message]})
    before = audit.snapshot(lead)
    lead.status = status
    lead.unqualified_reason = reason[:200] if status == Lead.Status.UNQUALIFIED else ""
    lead.save(update_fields=["status", "unqualified_reason", "updated_at"])
    record_lead_change(lead, before, actor=actor, action=AuditEntry.Action.STATE_CHANGE)
    return lead


@transaction.atomic
def delete_lead(lead: Lead, *, actor: User) -> None:
    """Delete ``lead``. Refused while other records refer to it (DomainError ``lead_in_use``).

    Records a "delete" audit entry with the last values and publishes LeadDeleted.
    """
    records.delete(lead, actor=actor, in_use_code="lead_in_use",
                   event=LeadDeleted(lead_id=lead.pk, lead_name=str(lead), actor_id=actor.pk))


@transaction.atomic
def transfer_leads(leads: Iterable[Lead], new_owner: User, *, actor: User) -> int:
    """Give every lead in ``leads`` to ``new_owner``; returns how many changed.

    One UPDATE, one "owner_change" audit entry and one LeadOwnerChanged event per changed
    lead; leads already owned by ``new_owner`` are left alone.
    """
    return records.transfer_owner(
        Lead, leads, new_owner, actor=actor,
        event=lambda pk, old: LeadOwnerChanged(lead_id=pk, old_owner_id=old, new_owner_id=new_owner.pk,
                                               actor_id=actor.pk))

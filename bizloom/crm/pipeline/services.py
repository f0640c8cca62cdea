"""Pipeline use cases: opportunities (create, edit, product lines, stage moves, delete, transfer)
and the pipeline settings (pipelines, stages, loss reasons, competitors).

Every write is one transaction that records the audit trail and publishes the
``bizloom.crm.pipeline.events`` events; a refusal (DomainError) writes nothing.

Rules of an opportunity:

* It belongs to an account the actor may view, to one pipeline and to one of its stages.
* ``amount`` follows the product lines whenever there are lines (sum of the line totals).
* Entering a stage needs the stage's required fields (opportunity fields, ``cf_<key>``
  custom fields, ``lines`` = at least one product line); a lost stage needs a loss reason.
* Won and lost stages set ``closed_at`` and the probability to 100 / 0; reopening clears
  ``closed_at`` and takes the stage's default probability.
* Every stay in a stage is a StageHistory row (entered/left, by whom, amount and probability
  on entry).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.validation import full_clean
from bizloom.crm.models import (
    Account,
    Competitor,
    Contact,
    LossReason,
    Opportunity,
    OpportunityLine,
    Pipeline,
    Stage,
    StageHistory,
)
from bizloom.crm.pipeline.events import (
    OpportunityCreated,
    OpportunityDeleted,
    OpportunityLost,
    OpportunityOwnerChanged,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
)
from bizloom.platform import access, records
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields import selectors as custom_selectors
from bizloom.platform.customfields.values import is_empty
from bizloom.platform.events import publish
from bizloom.platform.models import User

Kind = Stage.Kind

OPPORTUNITY_WRITABLE_FIELDS = frozenset({
    "name", "account", "contact", "owner", "pipeline", "stage", "probability", "amount", "currency",
    "expected_close", "source", "campaign", "next_step", "description", "competitors", "lines", "loss_reason",
    "loss_note",
})
# handled by the service itself, not set by records.assign
_SPECIAL_FIELDS = ("pipeline", "stage", "competitors", "lines", "loss_reason", "loss_note", "probability")

LINE_FIELDS = ("product_name", "description", "quantity", "unit_price", "discount_percent", "delivery_date")
MAX_LINES = 200
# amount columns hold 19 digits with 4 decimals
MAX_AMOUNT = Decimal(10) ** 15
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")

# Opportunity fields a stage may require (besides ``lines`` and active custom fields).
REQUIRABLE_FIELDS = ("contact", "amount", "expected_close", "source", "campaign", "next_step", "description",
                     "competitors")
LINES_REQUIREMENT = "lines"


# --- errors ------------------------------------------------------------------------------------


class StageRequirementsMissing(DomainError):
    """Entering a stage whose required fields are not filled; ``fields`` names each one."""

    code = "stage_requirements_missing"
    status = 422


class LossReasonRequired(ValidationFailed):
    """Entering a lost stage without a loss reason."""

    code = "loss_reason_required"


class WrongPipeline(ValidationFailed):
    """A stage of another pipeline than the opportunity's."""

    code = "stage_not_in_pipeline"


# --- helpers -----------------------------------------------------------------------------------


def _label(name: str) -> str:
    """A requirable field's name in the user's language (``cf_<key>`` → the custom field's label)."""
    if name == LINES_REQUIREMENT:
        return _("Product lines")
    if name.startswith("cf_"):
        definition = custom_selectors.definition_map(Opportunity).get(name[3:])
        return definition.label if definition is not None else name
    try:
        return str(capfirst(Opportunity._meta.get_field(name).verbose_name))  # type: ignore[union-attr]
    except Exception:  # FieldDoesNotExist
        return name


def requirable_fields() -> list[tuple[str, str]]:
    """(name, label) of everything a stage may require: opportunity fields, ``lines`` and the
    active custom fields of opportunities (``cf_<key>``)."""
    names = [*REQUIRABLE_FIELDS, LINES_REQUIREMENT,
             *(f.name for f in custom_selectors.definitions_for(Opportunity))]
    return [(name, _label(name)) for name in names]


def default_pipeline() -> Pipeline | None:
    """The default pipeline (else the first active one), or None when there is no active pipeline."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "pk").first()


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    """The first active open stage of ``pipeline`` (where new opportunities start)."""
    return pipeline.stages.filter(is_active=True, kind=Kind.OPEN).order_by("position", "pk").first()


def _line_snapshot(line: OpportunityLine) -> dict[str, Any]:
    def dec(value: Decimal, places: int) -> str:
        return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))

    return {"repr": f"{line.product_name} × {Decimal(line.quantity).normalize():f}",  # how the timeline shows it
            "product_name": line.product_name, "description": line.description,
            "quantity": dec(line.quantity, 4), "unit_price": dec(line.unit_price, 4),
            "discount_percent": dec(line.discount_percent, 2),
            "delivery_date": line.delivery_date.isoformat() if line.delivery_date else None}


def snapshot(opportunity: Opportunity) -> dict[str, Any]:
    """The audited state of ``opportunity``: its fields, the competitors (by id) and the product lines."""
    return {**audit.snapshot(opportunity),
            "competitors": [audit.reference(c) for c in opportunity.competitors.order_by("pk")],
            "lines": [_line_snapshot(line) for line in opportunity.lines.order_by("position", "pk")]}


def _amount_str(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.0001")))


def build_lines(lines: Sequence[Mapping[str, Any]] | None) -> list[OpportunityLine]:
    """Unsaved, validated product lines from dicts of :data:`LINE_FIELDS`.

    Raises ValidationFailed with errors keyed ``lines.<index>.<field>`` (``lines`` for the list
    itself): unknown keys, a missing product name, a quantity that is not positive, a negative
    price, a discount outside 0–100, an invalid date, or totals too large to store.
    """
    if lines is None:
        return []
    if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence):
        message = _("Give the product lines as a list.")
        raise ValidationFailed(message, fields={"lines": [message]})
    if len(lines) > MAX_LINES:
        message = _("At most %(n)s product lines.") % {"n": MAX_LINES}
        raise ValidationFailed(message, fields={"lines": [message]})
    errors: dict[str, list[str]] = {}
    built: list[OpportunityLine] = []
    for index, raw in enumerate(lines):
        prefix = f"lines.{index}"
        if not isinstance(raw, Mapping):
            errors[prefix] = [_("Give each product line as an object.")]
            continue
        unknown = sorted(set(raw) - set(LINE_FIELDS))
        for name in unknown:
            errors[f"{prefix}.{str(name)[:40]}"] = [_("Unknown field.")]
        line = OpportunityLine(position=index + 1)
        for name in LINE_FIELDS:
            if name in raw:
                value = raw[name]
                if isinstance(value, str):
                    value = value.strip()
                if value is None and name in ("description", "product_name"):
                    value = ""
                if value in ("", None) and name in ("quantity", "unit_price", "discount_percent"):
                    value = {"quantity": None, "unit_price": Decimal(0), "discount_percent": Decimal(0)}[name]
                if isinstance(value, float):
                    value = str(value)
                setattr(line, name, value)
        try:
            line.full_clean(exclude=["opportunity"])
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[f"{prefix}.{name}"] = [str(m) for m in messages]
        if f"{prefix}.quantity" not in errors and line.quantity is not None and line.quantity <= 0:
            errors[f"{prefix}.quantity"] = [_("The quantity must be greater than zero.")]
        if not any(key.startswith(prefix) for key in errors) and line.total >= MAX_AMOUNT:
            errors[f"{prefix}.unit_price"] = [_("This line's total is too large.")]
        built.append(line)
    if not errors and sum((line.total for line in built), Decimal(0)) >= MAX_AMOUNT:
        errors["lines"] = [_("The total of the product lines is too large.")]
    if errors:
        raise ValidationFailed(_("Please correct the product lines."), fields=errors)
    return built


def _save_lines(opportunity: Opportunity, lines: list[OpportunityLine]) -> None:
    """Replace the lines of ``opportunity`` and make the amount follow them when there are any."""
    opportunity.lines.all().delete()
    for line in lines:
        line.opportunity = opportunity
    OpportunityLine.objects.bulk_create(lines)
    if lines:
        opportunity.amount = sum((line.total for line in lines), Decimal(0))
        opportunity.save(update_fields=["amount", "updated_at"])


def missing_requirements(opportunity: Opportunity, stage: Stage) -> list[str]:
    """The names among ``stage.required_fields`` that ``opportunity`` has not filled (custom
    fields that are no longer active are not required)."""
    missing = []
    active_custom = custom_selectors.definition_map(Opportunity)
    for name in stage.required_fields or []:
        if name == LINES_REQUIREMENT:
            empty = not opportunity.lines.exists()
        elif name.startswith("cf_"):
            if name[3:] not in active_custom:
                continue
            value = (opportunity.custom_data or {}).get(name[3:])
            empty = is_empty(value) or value is False  # a required yes/no must be "yes"
        elif name == "competitors":
            empty = not opportunity.competitors.exists()
        elif name == "amount":
            empty = not opportunity.amount
        elif name in REQUIRABLE_FIELDS:
            empty = is_empty(getattr(opportunity, name, None))
        else:
            continue
        if empty:
            missing.append(name)
    return missing


def _check_requirements(opportunity: Opportunity, stage: Stage) -> None:
    missing = missing_requirements(opportunity, stage)
    if not missing:
        return
    labels = ", ".join(_label(name) for name in missing)
    message = _("To move to “%(stage)s”, first fill in: %(fields)s.") % {"stage": stage, "fields": labels}
    required = _("Required to enter the stage “%(stage)s”.") % {"stage": stage}
    raise StageRequirementsMissing(message, fields={name: [required] for name in missing}, stage=stage.pk,
                                   missing=", ".join(missing))


def _check_target_stage(opportunity: Opportunity, stage: Stage) -> None:
    if stage.pipeline_id != opportunity.pipeline_id:
        message = _("The stage “%(stage)s” belongs to another pipeline.") % {"stage": stage}
        raise WrongPipeline(message, fields={"stage": [message]})
    if not stage.is_active:
        message = _("The stage “%(stage)s” is no longer in use.") % {"stage": stage}
        raise ValidationFailed(message, code="stage_inactive", fields={"stage": [message]})


def _check_loss_reason(stage: Stage, loss_reason: LossReason | None, *, current: LossReason | None = None) -> None:
    if stage.kind == Kind.LOST and loss_reason is None:
        message = _("Choose why the opportunity was lost.")
        raise LossReasonRequired(message, fields={"loss_reason": [message]})
    if stage.kind != Kind.LOST and loss_reason is not None:
        message = _("Only lost opportunities have a loss reason.")
        raise ValidationFailed(message, fields={"loss_reason": [message]})
    if loss_reason is not None and not loss_reason.is_active and (current is None or current.pk != loss_reason.pk):
        message = _("This loss reason is no longer in use.")
        raise ValidationFailed(message, fields={"loss_reason": [message]})


def _apply_stage(opportunity: Opportunity, stage: Stage, *, probability: int | None, now: dt.datetime) -> None:
    """Set the stage and what follows from its kind (closed_at, probability)."""
    opportunity.stage = stage
    opportunity.stage_changed_at = now
    if stage.kind == Kind.WON:
        opportunity.probability = 100
    elif stage.kind == Kind.LOST:
        opportunity.probability = 0
    else:
        opportunity.probability = stage.probability if probability is None else probability
    if stage.kind == Kind.OPEN:
        opportunity.closed_at = None
        opportunity.loss_reason = None
        opportunity.loss_note = ""
    else:
        opportunity.closed_at = now


def _open_history(opportunity: Opportunity, stage: Stage, *, actor: User | None, now: dt.datetime) -> None:
    StageHistory.objects.filter(opportunity=opportunity, left_at__isnull=True).update(
        left_at=now, left_by=actor)
    StageHistory.objects.create(opportunity=opportunity, stage=stage, entered_at=now, entered_by=actor,
                                amount=opportunity.amount, probability=opportunity.probability)


def _stage_events(opportunity: Opportunity, old_stage: Stage | None, *, actor: User | None) -> None:
    stage = opportunity.stage
    publish(OpportunityStageChanged(
        opportunity_id=opportunity.pk, pipeline_id=opportunity.pipeline_id,
        old_stage_id=old_stage.pk if old_stage else None, new_stage_id=stage.pk,
        old_kind=old_stage.kind if old_stage else "", new_kind=stage.kind, probability=opportunity.probability,
        amount=_amount_str(opportunity.amount), currency=opportunity.currency,
        actor_id=actor.pk if actor else None))
    if stage.kind == Kind.WON:
        publish(OpportunityWon(
            opportunity_id=opportunity.pk, account_id=opportunity.account_id, owner_id=opportunity.owner_id,
            amount=_amount_str(opportunity.amount), currency=opportunity.currency,
            actor_id=actor.pk if actor else None))
    elif stage.kind == Kind.LOST:
        publish(OpportunityLost(
            opportunity_id=opportunity.pk, account_id=opportunity.account_id, owner_id=opportunity.owner_id,
            loss_reason_id=opportunity.loss_reason_id,
            competitor_ids=tuple(opportunity.competitors.order_by("pk").values_list("pk", flat=True)),
            actor_id=actor.pk if actor else None))


def _decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _check_amount(opportunity: Opportunity) -> None:
    amount = opportunity.amount
    if isinstance(amount, Decimal | int) and (amount < 0 or amount >= MAX_AMOUNT):
        message = _("Give an amount between 0 and 999,999,999,999,999.")
        raise ValidationFailed(message, fields={"amount": [message]})


def _check_currency(value: Any) -> None:
    if not isinstance(value, str) or not CURRENCY_PATTERN.match(value):
        message = _("Give a three-letter ISO currency code, e.g. CNY.")
        raise ValidationFailed(message, fields={"currency": [message]})


def _check_contact(actor: User, opportunity: Opportunity, data: Mapping[str, Any]) -> None:
    """A newly set contact must be visible to the actor and belong to the opportunity's account."""
    contact: Contact | None = opportunity.contact if opportunity.contact_id else None
    if contact is None:
        return
    if "contact" in data:
        access.check_reference(actor, contact, field="contact")
    if contact.account_id != opportunity.account_id and not contact.accounts.filter(
            pk=opportunity.account_id).exists():
        message = _("This contact does not belong to the opportunity's account.")
        raise ValidationFailed(message, code="contact_not_of_account", fields={"contact": [message]})


def _check_competitors(competitors: Iterable[Competitor], current: set[int]) -> list[Competitor]:
    chosen = sorted({c.pk: c for c in competitors}.values(), key=lambda c: c.pk)
    if any(not c.is_active and c.pk not in current for c in chosen):
        message = _("This competitor is no longer in use.")
        raise ValidationFailed(message, fields={"competitors": [message]})
    return chosen


def _resolve_pipeline_and_stage(data: Mapping[str, Any]) -> tuple[Pipeline, Stage]:
    """The pipeline and stage of a new opportunity from ``data`` (defaults: the default pipeline
    and its first open stage)."""
    pipeline: Pipeline | None = data.get("pipeline")
    stage: Stage | None = data.get("stage")
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else default_pipeline()
    if pipeline is None:
        message = _("There is no active pipeline: create one in the pipeline settings first.")
        raise ValidationFailed(message, code="no_pipeline", fields={"pipeline": [message]})
    if not pipeline.is_active:
        message = _("This pipeline is no longer in use.")
        raise ValidationFailed(message, fields={"pipeline": [message]})
    if stage is None:
        stage = first_open_stage(pipeline)
        if stage is None:
            message = _("The pipeline “%(pipeline)s” has no open stage.") % {"pipeline": pipeline}
            raise ValidationFailed(message, fields={"stage": [message]})
    return pipeline, stage


# --- opportunities -----------------------------------------------------------------------------


@transaction.atomic
def create_opportunity(data: Mapping[str, Any], *, actor: User) -> Opportunity:
    """Create an opportunity; the actor owns it unless another owner is given.

    ``data`` keys: name, account (required; the actor must be able to view it), contact (of
    that account), owner, pipeline (default: the default pipeline), stage (default: its first
    open stage), probability (default: the stage's), amount, currency, expected_close, source,
    campaign, next_step, description, competitors, custom_fields, loss_reason and loss_note
    (for a lost stage) and ``lines``: a list of dicts of :data:`LINE_FIELDS`. With lines the
    amount is the sum of their totals.

    The stage's entry rules apply (required fields, loss reason). Writes the first StageHistory
    row, records a "create" audit entry and publishes OpportunityCreated. Raises
    ValidationFailed (per-field messages, lines as ``lines.<i>.<field>``) or
    StageRequirementsMissing; a refusal writes nothing.
    """
    owner_given = data.get("owner") is not None
    data = {"owner": actor, **data}
    if data.get("account") is None:
        message = _("Choose the account.")
        raise ValidationFailed(message, fields={"account": [message]})
    if not isinstance(data["account"], Account):
        raise ValidationFailed(_("Choose the account."), fields={"account": [_("Choose the account.")]})
    access.check_reference(actor, data["account"], field="account")
    pipeline, stage = _resolve_pipeline_and_stage(data)
    lines = build_lines(data.get("lines"))
    opportunity = Opportunity(pipeline=pipeline)
    records.assign(opportunity, data, writable=OPPORTUNITY_WRITABLE_FIELDS, actor=actor, skip=_SPECIAL_FIELDS)
    _check_currency(opportunity.currency)
    _check_amount(opportunity)
    if owner_given:
        access.check_reference(actor, opportunity.owner, field="owner")
    _check_contact(actor, opportunity, data)
    _check_target_stage(opportunity, stage)
    loss_reason = data.get("loss_reason")
    _check_loss_reason(stage, loss_reason)
    competitors = _check_competitors(data.get("competitors") or (), set())
    now = timezone.now()
    _apply_stage(opportunity, stage, probability=data.get("probability"), now=now)
    if stage.kind == Kind.LOST:
        opportunity.loss_reason = loss_reason
        opportunity.loss_note = (data.get("loss_note") or "").strip()
    if lines:
        opportunity.amount = sum((line.total for line in lines), Decimal(0))
    full_clean(opportunity)
    opportunity.save()
    if competitors:
        opportunity.competitors.set(competitors)
    _save_lines(opportunity, lines)
    _check_requirements(opportunity, stage)
    _open_history(opportunity, stage, actor=actor, now=now)
    records.created(opportunity, actor=actor, snapshot=snapshot(opportunity), event=OpportunityCreated(
        opportunity_id=opportunity.pk, account_id=opportunity.account_id, pipeline_id=pipeline.pk,
        stage_id=stage.pk, owner_id=opportunity.owner_id, amount=_amount_str(opportunity.amount),
        currency=opportunity.currency, actor_id=actor.pk))
    return opportunity


def _lock(opportunity: Opportunity) -> Opportunity:
    return Opportunity.objects.select_for_update().select_related("stage", "pipeline").get(pk=opportunity.pk)


@transaction.atomic
def update_opportunity(opportunity: Opportunity, data: Mapping[str, Any], *, actor: User) -> Opportunity:
    """Change the given fields of ``opportunity`` (keys as in :func:`create_opportunity`).

    ``lines`` replaces all product lines; an ``amount`` that differs from the lines' total is
    refused while there are lines. ``probability`` may change only in open stages. A new
    ``stage`` (or ``pipeline``: then its first open stage unless a stage of it is given) is a
    stage move with the rules of :func:`move_stage`, recorded as its own "state_change"
    entry. ``loss_reason``/``loss_note`` may change on lost opportunities.

    Records an "update" audit entry with the changed fields and publishes OpportunityUpdated
    (plus OpportunityOwnerChanged when the owner changed); nothing is recorded when nothing
    changed. Raises ValidationFailed / StageRequirementsMissing; a refusal writes nothing.
    """
    opportunity = _lock(opportunity)
    before = snapshot(opportunity)
    if "account" in data:
        if data["account"] is None:
            message = _("Choose the account.")
            raise ValidationFailed(message, fields={"account": [message]})
        if data["account"].pk != opportunity.account_id:
            access.check_reference(actor, data["account"], field="account")
    current_stage = opportunity.stage
    target_pipeline: Pipeline = data.get("pipeline") or opportunity.pipeline
    target_stage: Stage | None = data.get("stage")
    if "pipeline" in data and data["pipeline"] is not None and data["pipeline"].pk != opportunity.pipeline_id:
        if not target_pipeline.is_active:
            message = _("This pipeline is no longer in use.")
            raise ValidationFailed(message, fields={"pipeline": [message]})
        if target_stage is None:
            target_stage = first_open_stage(target_pipeline)
            if target_stage is None:
                message = _("The pipeline “%(pipeline)s” has no open stage.") % {"pipeline": target_pipeline}
                raise ValidationFailed(message, fields={"stage": [message]})
    moving = target_stage is not None and target_stage.pk != current_stage.pk
    lines = build_lines(data["lines"]) if data.get("lines") is not None else None
    records.assign(opportunity, data, writable=OPPORTUNITY_WRITABLE_FIELDS, actor=actor, skip=_SPECIAL_FIELDS)
    _check_currency(opportunity.currency)
    _check_amount(opportunity)
    if data.get("owner") is not None:
        access.check_reference(actor, opportunity.owner, field="owner")
    if "contact" in data or "account" in data:
        _check_contact(actor, opportunity, data)
    if "probability" in data and data["probability"] is not None and not moving:
        if current_stage.kind != Kind.OPEN and data["probability"] != opportunity.probability:
            message = _("The probability of a closed opportunity is fixed (won 100 %, lost 0 %).")
            raise ValidationFailed(message, fields={"probability": [message]})
        opportunity.probability = data["probability"]
    loss_fields = {k: data[k] for k in ("loss_reason", "loss_note") if k in data}
    if loss_fields and not moving:
        if current_stage.kind != Kind.LOST:
            if loss_fields.get("loss_reason") is not None or (loss_fields.get("loss_note") or "").strip():
                message = _("Only lost opportunities have a loss reason.")
                raise ValidationFailed(message, fields={name: [message] for name in loss_fields})
        else:
            if "loss_reason" in loss_fields:
                _check_loss_reason(current_stage, loss_fields["loss_reason"], current=opportunity.loss_reason)
                opportunity.loss_reason = loss_fields["loss_reason"]
            if "loss_note" in loss_fields:
                opportunity.loss_note = (loss_fields["loss_note"] or "").strip()
    has_lines = bool(lines) if lines is not None else opportunity.lines.exists()
    if has_lines and "amount" in data and data["amount"] is not None:
        total = (sum((line.total for line in lines), Decimal(0)) if lines is not None
                 else sum((line.total for line in opportunity.lines.all()), Decimal(0)))
        if _decimal_or_none(data["amount"]) != total:
            message = _("The amount is the total of the product lines (%(total)s); change the lines instead.") % {
                "total": total}
            raise ValidationFailed(message, fields={"amount": [message]})
    full_clean(opportunity)
    opportunity.save()
    if "competitors" in data:
        current = set(opportunity.competitors.values_list("pk", flat=True))
        opportunity.competitors.set(_check_competitors(data["competitors"] or (), current))
    if lines is not None:
        _save_lines(opportunity, lines)
    records.updated(
        opportunity, before, actor=actor, after=snapshot(opportunity),
        event=lambda changed: OpportunityUpdated(opportunity_id=opportunity.pk, changed=changed, actor_id=actor.pk),
        owner_event=lambda old, new: OpportunityOwnerChanged(opportunity_id=opportunity.pk, old_owner_id=old,
                                                             new_owner_id=new, actor_id=actor.pk))
    if moving:
        assert target_stage is not None
        target_stage = Stage.objects.select_related("pipeline").get(pk=target_stage.pk)
        _move(opportunity, target_stage, actor=actor, loss_reason=data.get("loss_reason"),
              loss_note=data.get("loss_note") or "", probability=data.get("probability"),
              pipeline=target_pipeline if target_pipeline.pk != opportunity.pipeline_id else None)
    return opportunity


def _move(opportunity: Opportunity, stage: Stage, *, actor: User | None, loss_reason: LossReason | None,
          loss_note: str, probability: int | None = None, pipeline: Pipeline | None = None) -> Opportunity:
    """Move the (locked, saved) ``opportunity`` to ``stage`` (of ``pipeline`` when it changes
    pipeline): rules, history, "state_change" audit entry and events."""
    before = snapshot(opportunity)
    old_stage = opportunity.stage
    if pipeline is not None:
        opportunity.pipeline = pipeline
    _check_target_stage(opportunity, stage)
    _check_loss_reason(stage, loss_reason)
    _check_requirements(opportunity, stage)
    if probability is not None and stage.kind != Kind.OPEN and probability != (100 if stage.kind == Kind.WON else 0):
        message = _("The probability of a closed opportunity is fixed (won 100 %, lost 0 %).")
        raise ValidationFailed(message, fields={"probability": [message]})
    now = timezone.now()
    _apply_stage(opportunity, stage, probability=probability, now=now)
    if stage.kind == Kind.LOST:
        opportunity.loss_reason = loss_reason
        opportunity.loss_note = (loss_note or "").strip()
    full_clean(opportunity)
    opportunity.save()
    _open_history(opportunity, stage, actor=actor, now=now)
    records.updated(opportunity, before, actor=actor, after=snapshot(opportunity),
                    action=AuditEntry.Action.STATE_CHANGE, event=None)
    _stage_events(opportunity, old_stage, actor=actor)
    return opportunity


@transaction.atomic
def move_stage(opportunity: Opportunity, stage: Stage, *, actor: User, loss_reason: LossReason | None = None,
               loss_note: str = "") -> Opportunity:
    """Move ``opportunity`` to ``stage`` of its own pipeline.

    Refused when the actor may not change this opportunity (PermissionDeniedError), the stage
    belongs to another pipeline (WrongPipeline, ``stage_not_in_pipeline``) or is inactive
    (``stage_inactive``), the stage's required fields are not filled (StageRequirementsMissing
    naming them in the user's language), or a lost stage is entered without ``loss_reason``
    (LossReasonRequired). Won/lost set ``closed_at`` and probability 100/0; an open stage clears
    ``closed_at``, the loss reason and note, and takes the stage's default probability.

    Closes the open StageHistory row (left_at/left_by) and opens one for ``stage`` (amount and
    probability on entry), sets ``stage_changed_at``, records a "state_change" audit entry and
    publishes OpportunityStageChanged, then OpportunityWon or OpportunityLost. Moving to the
    stage it is already in changes nothing.
    """
    if actor is not None:
        access.require_record(actor, opportunity, "change")
    opportunity = _lock(opportunity)
    stage = Stage.objects.select_related("pipeline").get(pk=stage.pk)  # its current rules
    if stage.pk == opportunity.stage_id:
        return opportunity
    return _move(opportunity, stage, actor=actor, loss_reason=loss_reason, loss_note=loss_note)


@transaction.atomic
def set_lines(opportunity: Opportunity, lines: Sequence[Mapping[str, Any]], *, actor: User) -> Opportunity:
    """Replace all product lines of ``opportunity`` (dicts of :data:`LINE_FIELDS`); with lines the
    amount becomes their total (without lines the amount is left as it was).

    Records an "update" audit entry (``lines``, ``amount``) and publishes OpportunityUpdated when
    something changed. Raises ValidationFailed keyed ``lines.<i>.<field>``; a refusal writes nothing.
    """
    opportunity = _lock(opportunity)
    before = snapshot(opportunity)
    built = build_lines(lines)
    _save_lines(opportunity, built)
    records.updated(
        opportunity, before, actor=actor, after=snapshot(opportunity),
        event=lambda changed: OpportunityUpdated(opportunity_id=opportunity.pk, changed=changed, actor_id=actor.pk))
    return opportunity


@transaction.atomic
def delete_opportunity(opportunity: Opportunity, *, actor: User) -> None:
    """Delete ``opportunity`` with its product lines and stage history. Refused while other
    records (contracts, quotes) refer to it (DomainError ``opportunity_in_use``).

    Records a "delete" audit entry with the last values and publishes OpportunityDeleted.
    """
    records.delete(opportunity, actor=actor, in_use_code="opportunity_in_use", snapshot=snapshot(opportunity),
                   event=OpportunityDeleted(opportunity_id=opportunity.pk, opportunity_name=str(opportunity),
                                            account_id=opportunity.account_id, actor_id=actor.pk))


@transaction.atomic
def transfer_opportunities(opportunities: Iterable[Opportunity], new_owner: User, *, actor: User) -> int:
    """Give every opportunity in ``opportunities`` to ``new_owner``; returns how many changed.

    One UPDATE, one "owner_change" audit entry and one OpportunityOwnerChanged event per changed
    opportunity; those already owned by ``new_owner`` are left alone.
    """
    return records.transfer_owner(
        Opportunity, opportunities, new_owner, actor=actor,
        event=lambda pk, old: OpportunityOwnerChanged(opportunity_id=pk, old_owner_id=old,
                                                      new_owner_id=new_owner.pk, actor_id=actor.pk))


# --- pipeline settings -------------------------------------------------------------------------

PIPELINE_WRITABLE_FIELDS = frozenset({"name", "name_zh_hans", "name_zh_hant", "is_default", "is_active", "position"})
STAGE_WRITABLE_FIELDS = frozenset({"name", "name_zh_hans", "name_zh_hant", "position", "kind", "probability",
                                   "required_fields", "is_active"})
LOSS_REASON_WRITABLE_FIELDS = frozenset({"name", "name_zh_hans", "name_zh_hant", "is_active"})
COMPETITOR_WRITABLE_FIELDS = frozenset({"name", "website", "strengths", "weaknesses", "is_active"})

# The stages a new pipeline starts with unless others are given (as in migration 0006).
STARTER_STAGES = [
    {"name": en, "name_zh_hans": hans, "name_zh_hant": hant, "kind": kind, "probability": p}
    for en, hans, hant, kind, p in [
        ("Prospecting", "初步接触", "初步接觸", "open", 10),
        ("Qualification", "需求确认", "需求確認", "open", 20),
        ("Proposal", "方案报价", "方案報價", "open", 50),
        ("Negotiation", "商务谈判", "商務談判", "open", 75),
        ("Won", "赢单", "贏單", "won", 100),
        ("Lost", "输单", "輸單", "lost", 0),
    ]
]


class PipelineIncomplete(DomainError):
    """A pipeline would be left without an active open, won or lost stage."""

    code = "pipeline_incomplete"
    status = 422


def _check_names(instance: Any) -> None:
    if not (instance.name or instance.name_zh_hans or instance.name_zh_hant):
        message = _("Give a name in at least one language.")
        raise ValidationFailed(message, fields={"name": [message]})


def _check_pipeline_complete(pipeline: Pipeline, stages: Iterable[Stage] | None = None) -> None:
    """Refuse unless ``pipeline`` has at least one active open, won and lost stage."""
    rows = list(stages) if stages is not None else list(pipeline.stages.all())
    kinds = {s.kind for s in rows if s.is_active}
    missing = [label for kind, label in Kind.choices if kind not in kinds]
    if missing:
        message = _("A pipeline needs at least one active stage of each kind; missing: %(kinds)s.") % {
            "kinds": ", ".join(str(label) for label in missing)}
        raise PipelineIncomplete(message, fields={"stages": [message]})


def _check_required_fields(value: Any) -> list[str]:
    allowed = {name for name, _label in requirable_fields()}
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        message = _("Give the required fields as a list of field names.")
        raise ValidationFailed(message, fields={"required_fields": [message]})
    unknown = sorted(set(value) - allowed)
    if unknown:
        message = _("These fields cannot be required: %(fields)s.") % {"fields": ", ".join(v[:60] for v in unknown)}
        raise ValidationFailed(message, fields={"required_fields": [message]})
    return list(dict.fromkeys(value))


def _build_stage(pipeline: Pipeline, data: Mapping[str, Any], *, actor: User, position: int) -> Stage:
    stage = Stage(pipeline=pipeline, position=position)
    records.assign(stage, data, writable=STAGE_WRITABLE_FIELDS, actor=actor)
    stage.required_fields = _check_required_fields(stage.required_fields)
    _check_names(stage)
    if stage.kind == Kind.WON:
        stage.probability = 100
    elif stage.kind == Kind.LOST:
        stage.probability = 0
    full_clean(stage, exclude=["pipeline"])
    return stage


def _set_default(pipeline: Pipeline) -> None:
    Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)


@transaction.atomic
def create_pipeline(data: Mapping[str, Any], *, actor: User) -> Pipeline:
    """Create a pipeline with ``data["stages"]`` (dicts of stage fields, in order) or, without
    stages, the standard six (prospecting … won, lost).

    A name in at least one language; stages need an active open, won and lost stage. With
    ``is_default`` it becomes the only default pipeline; the first pipeline is always the
    default. Records "create" audit entries. Raises ValidationFailed / PipelineIncomplete.
    """
    stage_data = data.get("stages")
    fields = {k: v for k, v in data.items() if k != "stages"}
    pipeline = Pipeline()
    records.assign(pipeline, fields, writable=PIPELINE_WRITABLE_FIELDS, actor=actor)
    _check_names(pipeline)
    if "position" not in fields:
        pipeline.position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 10
    if not Pipeline.objects.filter(is_default=True, is_active=True).exists():
        pipeline.is_default = True
    if pipeline.is_default and not pipeline.is_active:
        message = _("The default pipeline must be active.")
        raise ValidationFailed(message, fields={"is_active": [message]})
    full_clean(pipeline)
    stage_rows = STARTER_STAGES if stage_data is None else stage_data
    if not isinstance(stage_rows, list | tuple) or not all(isinstance(row, Mapping) for row in stage_rows):
        message = _("Give the stages as a list.")
        raise ValidationFailed(message, fields={"stages": [message]})
    pipeline.save()
    stages = []
    for index, row in enumerate(stage_rows):
        try:
            stages.append(_build_stage(pipeline, row, actor=actor, position=(index + 1) * 10))
        except ValidationFailed as error:
            error.fields = {f"stages.{index}.{name}": messages for name, messages in error.fields.items()}
            raise
    _check_pipeline_complete(pipeline, stages)
    for stage in stages:
        stage.save()
        records.created(stage, actor=actor, event=None)
    if pipeline.is_default:
        _set_default(pipeline)
    records.created(pipeline, actor=actor, event=None)
    return pipeline


@transaction.atomic
def update_pipeline(pipeline: Pipeline, data: Mapping[str, Any], *, actor: User) -> Pipeline:
    """Change a pipeline's names, position, default flag or active flag.

    Making it the default takes the flag from the others; the default pipeline cannot be
    un-defaulted (make another one the default) nor deactivated. Records an "update" entry.
    """
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    before = audit.snapshot(pipeline)
    was_default = pipeline.is_default
    records.assign(pipeline, data, writable=PIPELINE_WRITABLE_FIELDS, actor=actor)
    _check_names(pipeline)
    if was_default and not pipeline.is_default:
        message = _("Make another pipeline the default instead.")
        raise ValidationFailed(message, fields={"is_default": [message]})
    if pipeline.is_default and not pipeline.is_active:
        message = _("The default pipeline must be active.")
        raise ValidationFailed(message, fields={"is_active": [message]})
    full_clean(pipeline)
    pipeline.save()
    if pipeline.is_default:
        _set_default(pipeline)
    records.updated(pipeline, before, actor=actor, event=None)
    return pipeline


@transaction.atomic
def delete_pipeline(pipeline: Pipeline, *, actor: User) -> None:
    """Delete a pipeline and its stages. Refused for the default pipeline and while
    opportunities use it (``pipeline_in_use``: deactivate it instead)."""
    if pipeline.is_default:
        raise DomainError(_("The default pipeline cannot be deleted."), code="pipeline_is_default")
    if Opportunity.objects.filter(pipeline=pipeline).exists() or StageHistory.objects.filter(
            stage__pipeline=pipeline).exists():
        raise DomainError(_("“%(pipeline)s” has opportunities and cannot be deleted; deactivate it instead.")
                          % {"pipeline": pipeline}, code="pipeline_in_use")
    records.delete(pipeline, actor=actor, in_use_code="pipeline_in_use", event=None)


@transaction.atomic
def create_stage(pipeline: Pipeline, data: Mapping[str, Any], *, actor: User) -> Stage:
    """Add a stage to ``pipeline`` (at the end unless ``position`` is given).

    ``required_fields`` may name the fields of :func:`requirable_fields`. Won stages have
    probability 100, lost ones 0. Records a "create" entry.
    """
    position = (pipeline.stages.aggregate(m=Max("position"))["m"] or 0) + 10
    stage = _build_stage(pipeline, data, actor=actor, position=position)
    stage.save()
    records.created(stage, actor=actor, event=None)
    return stage


def stage_in_use(stage: Stage) -> bool:
    """Whether opportunities are in ``stage`` or have been (history)."""
    return Opportunity.objects.filter(stage=stage).exists() or StageHistory.objects.filter(stage=stage).exists()


@transaction.atomic
def update_stage(stage: Stage, data: Mapping[str, Any], *, actor: User) -> Stage:
    """Change a stage (names, position, kind, probability, required fields, active).

    The kind of a stage in use cannot change; the pipeline must keep an active open, won and
    lost stage (PipelineIncomplete). Records an "update" entry.
    """
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    before = audit.snapshot(stage)
    old_kind = stage.kind
    records.assign(stage, data, writable=STAGE_WRITABLE_FIELDS, actor=actor)
    stage.required_fields = _check_required_fields(stage.required_fields)
    _check_names(stage)
    if stage.kind != old_kind and stage_in_use(stage):
        message = _("Opportunities are or were in this stage, so its kind cannot change.")
        raise ValidationFailed(message, code="stage_in_use", fields={"kind": [message]})
    if stage.kind == Kind.WON:
        stage.probability = 100
    elif stage.kind == Kind.LOST:
        stage.probability = 0
    full_clean(stage)
    stage.save()
    _check_pipeline_complete(stage.pipeline)
    records.updated(stage, before, actor=actor, event=None)
    return stage


@transaction.atomic
def delete_stage(stage: Stage, *, actor: User) -> None:
    """Delete a stage never used by an opportunity (``stage_in_use`` otherwise: deactivate it
    instead). The pipeline must keep an active open, won and lost stage."""
    if stage_in_use(stage):
        raise DomainError(_("Opportunities are or were in “%(stage)s”, so it cannot be deleted; deactivate it "
                            "instead.") % {"stage": stage}, code="stage_in_use")
    pipeline = stage.pipeline
    _check_pipeline_complete(pipeline, [s for s in pipeline.stages.all() if s.pk != stage.pk])
    records.delete(stage, actor=actor, in_use_code="stage_in_use", event=None)


@transaction.atomic
def reorder_stages(pipeline: Pipeline, stage_ids: Sequence[int], *, actor: User) -> Pipeline:
    """Put the stages of ``pipeline`` in the order of ``stage_ids`` (all of its stages, once each)."""
    stages = {s.pk: s for s in pipeline.stages.select_for_update()}
    if sorted(stage_ids) != sorted(stages):
        message = _("List every stage of the pipeline once.")
        raise ValidationFailed(message, fields={"stages": [message]})
    for index, pk in enumerate(stage_ids):
        stage = stages[pk]
        if stage.position != (index + 1) * 10:
            before = audit.snapshot(stage)
            stage.position = (index + 1) * 10
            stage.save(update_fields=["position"])
            records.updated(stage, before, actor=actor, event=None)
    return pipeline


@transaction.atomic
def create_loss_reason(data: Mapping[str, Any], *, actor: User) -> LossReason:
    """Create a loss reason (a name in at least one language)."""
    reason = LossReason()
    records.assign(reason, data, writable=LOSS_REASON_WRITABLE_FIELDS, actor=actor)
    _check_names(reason)
    full_clean(reason)
    reason.save()
    records.created(reason, actor=actor, event=None)
    return reason


@transaction.atomic
def update_loss_reason(reason: LossReason, data: Mapping[str, Any], *, actor: User) -> LossReason:
    """Change a loss reason's names or active flag."""
    reason = LossReason.objects.select_for_update().get(pk=reason.pk)
    before = audit.snapshot(reason)
    records.assign(reason, data, writable=LOSS_REASON_WRITABLE_FIELDS, actor=actor)
    _check_names(reason)
    full_clean(reason)
    reason.save()
    records.updated(reason, before, actor=actor, event=None)
    return reason


@transaction.atomic
def delete_loss_reason(reason: LossReason, *, actor: User) -> None:
    """Delete a loss reason no opportunity uses (``loss_reason_in_use`` otherwise: deactivate it)."""
    if reason.opportunities.exists():
        raise DomainError(_("Lost opportunities give “%(reason)s” as their reason, so it cannot be deleted; "
                            "deactivate it instead.") % {"reason": reason}, code="loss_reason_in_use")
    records.delete(reason, actor=actor, in_use_code="loss_reason_in_use", event=None)


def _check_competitor_name(competitor: Competitor) -> None:
    if Competitor.objects.filter(name__iexact=competitor.name).exclude(pk=competitor.pk).exists():
        message = _("A competitor with this name exists already.")
        raise ValidationFailed(message, fields={"name": [message]})


@transaction.atomic
def create_competitor(data: Mapping[str, Any], *, actor: User) -> Competitor:
    """Create a competitor (unique name, case-insensitive)."""
    competitor = Competitor()
    records.assign(competitor, data, writable=COMPETITOR_WRITABLE_FIELDS, actor=actor)
    _check_competitor_name(competitor)
    full_clean(competitor)
    competitor.save()
    records.created(competitor, actor=actor, event=None)
    return competitor


@transaction.atomic
def update_competitor(competitor: Competitor, data: Mapping[str, Any], *, actor: User) -> Competitor:
    """Change a competitor's fields."""
    competitor = Competitor.objects.select_for_update().get(pk=competitor.pk)
    before = audit.snapshot(competitor)
    records.assign(competitor, data, writable=COMPETITOR_WRITABLE_FIELDS, actor=actor)
    _check_competitor_name(competitor)
    full_clean(competitor)
    competitor.save()
    records.updated(competitor, before, actor=actor, event=None)
    return competitor


@transaction.atomic
def delete_competitor(competitor: Competitor, *, actor: User) -> None:
    """Delete a competitor no opportunity names (``competitor_in_use`` otherwise: deactivate it)."""
    if competitor.opportunities.exists():
        raise DomainError(_("Opportunities name “%(competitor)s”, so it cannot be deleted; deactivate it instead.")
                          % {"competitor": competitor}, code="competitor_in_use")
    records.delete(competitor, actor=actor, in_use_code="competitor_in_use", event=None)

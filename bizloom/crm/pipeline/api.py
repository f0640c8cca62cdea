"""REST API of this area, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors
read, services write, access decides)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Status

from bizloom.crm import apidata
from bizloom.crm.models import Account, Competitor, Contact, LossReason, Opportunity, Pipeline, Stage, StageHistory
from bizloom.crm.pipeline import selectors, services
from bizloom.crm.pipeline.schemas import (
    OPPORTUNITY_ORDERING,
    CompetitorIn,
    CompetitorOut,
    CompetitorPatch,
    HistoryOut,
    LinesIn,
    LossReasonIn,
    LossReasonOut,
    MoveIn,
    OpportunityFilters,
    OpportunityIn,
    OpportunityOrdering,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    PipelineIn,
    PipelineOut,
    PipelinePatch,
    StageIn,
    StageOut,
    StagePatch,
)
from bizloom.platform import access
from bizloom.platform.api.records import RecordOperations
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.models import User

router = Router(tags=["crm"])

M = TypeVar("M", bound=Model)


def _one(queryset: QuerySet[Any], pk: int, field: str) -> Any:
    return apidata.record(queryset, pk, field, _("No record with this id."))


def _opportunity_data(payload: OpportunityPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the services take them: ids become records. Accounts and
    contacts are looked up only among those ``user`` may view (one outside their scope reads like
    one that does not exist)."""
    data = apidata.sent_fields(payload)
    for name in ("account", "pipeline", "stage", "owner"):
        if name in data and data[name] is None:
            del data[name]  # null: keep the current value (these cannot be cleared)
    missing = _("No record with this id.")
    apidata.resolve_record(data, "account", Account.objects.all(), user, missing)
    apidata.resolve_record(data, "contact", Contact.objects.all(), user, missing)
    for name, queryset in (("owner", User.objects.filter(is_active=True)), ("pipeline", Pipeline.objects.all()),
                           ("stage", Stage.objects.all()), ("loss_reason", LossReason.objects.all())):
        if data.get(name) is not None:
            data[name] = _one(queryset, data[name], name)
    if "competitors" in data:
        data["competitors"] = apidata.records(Competitor.objects.all(), data["competitors"], "competitors", missing)
    if data.get("lines") is None:
        data.pop("lines", None)
    return data


opportunities = RecordOperations(router, Opportunity, "/opportunities", app="crm", name="opportunity",
                                 out=OpportunityOut, get_record=selectors.get_opportunity, services=services,
                                 to_data=_opportunity_data)
opportunities.list(page=OpportunityPage, filters=OpportunityFilters, ordering=OpportunityOrdering,
                   allowed=OPPORTUNITY_ORDERING, default=["-created_at"],
                   records=lambda user: selectors.list_opportunities(user).prefetch_related("lines", "competitors"),
                   description="Opportunities you may see.")
opportunities.get()
opportunities.create(OpportunityIn)
opportunities.update(OpportunityPatch)
opportunities.delete()


@router.get("/opportunities/{opportunity_id}/history", response=list[HistoryOut],
            operation_id="crm_opportunity_history")
def opportunity_history(request: HttpRequest, opportunity_id: RecordId) -> list[StageHistory]:
    """The opportunity's stays in its stages, oldest first (who moved it in and out, and when)."""
    access.require(request.user, Opportunity, "view")
    return list(selectors.stage_history(selectors.get_opportunity(request.user, opportunity_id)))


@router.put("/opportunities/{opportunity_id}/lines", response=OpportunityOut,
            operation_id="crm_opportunity_lines_replace")
def replace_lines(request: HttpRequest, opportunity_id: RecordId, payload: LinesIn) -> Opportunity:
    """Replace every product line; with lines the amount becomes their total."""
    access.require(request.user, Opportunity, "change")
    opportunity = selectors.get_opportunity(request.user, opportunity_id, "change")
    lines = [line.model_dump() for line in payload.lines]
    services.set_lines(opportunity, lines, actor=request.user)  # type: ignore[arg-type]
    return selectors.get_opportunity(request.user, opportunity_id)


@router.post("/opportunities/{opportunity_id}/move", response=OpportunityOut, operation_id="crm_opportunity_move")
def move_opportunity(request: HttpRequest, opportunity_id: RecordId, payload: MoveIn) -> Opportunity:
    """Move to a stage of the opportunity's pipeline. Refused with 422 problem+json naming the
    reason: ``stage_requirements_missing`` (the missing fields in ``errors``),
    ``loss_reason_required``, ``stage_not_in_pipeline``, ``stage_inactive``."""
    access.require(request.user, Opportunity, "change")
    opportunity = selectors.get_opportunity(request.user, opportunity_id, "change")
    stage = _one(Stage.objects.all(), payload.stage, "stage")
    reason = _one(LossReason.objects.all(), payload.loss_reason, "loss_reason") if payload.loss_reason else None
    services.move_stage(opportunity, stage, actor=request.user,  # type: ignore[arg-type]
                        loss_reason=reason, loss_note=payload.loss_note)
    return selectors.get_opportunity(request.user, opportunity_id)


# --- settings ---------------------------------------------------------------------------------------


def _settings_read(user: Any) -> None:
    """Pipelines are read by everyone who works opportunities, and by the settings' administrators."""
    if not access.can(user, Opportunity, "view"):
        access.require(user, Pipeline, "view")


def _get(model: type[M], pk: int) -> M:
    return get_object_or_404(model, pk=pk)


def _setting(model: type[M]) -> Callable[[Any, int, str], M]:
    """``get_record`` of a setting: settings are not scoped, whoever has the model permission
    reaches every row (404 for no row)."""
    return lambda user, pk, action: _get(model, pk)


@router.get("/pipelines", response=list[PipelineOut], operation_id="crm_pipeline_list")
def list_pipelines(request: HttpRequest) -> list[Pipeline]:
    """Every pipeline with its stages, in order."""
    _settings_read(request.user)
    return list(selectors.list_pipelines())


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, operation_id="crm_pipeline_get")
def get_pipeline(request: HttpRequest, pipeline_id: RecordId) -> Pipeline:
    _settings_read(request.user)
    return selectors.get_pipeline(pipeline_id)


@router.post("/pipelines", response={201: PipelineOut}, operation_id="crm_pipeline_create")
def create_pipeline(request: HttpRequest, payload: PipelineIn) -> Status[Pipeline]:
    access.require(request.user, Pipeline, "add")
    data = payload.model_dump(exclude_unset=True)
    pipeline = services.create_pipeline(data, actor=request.user)  # type: ignore[arg-type]
    return Status(201, selectors.get_pipeline(pipeline.pk))


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut, operation_id="crm_pipeline_update")
def update_pipeline(request: HttpRequest, pipeline_id: RecordId, payload: PipelinePatch) -> Pipeline:
    access.require(request.user, Pipeline, "change")
    pipeline = _get(Pipeline, pipeline_id)
    services.update_pipeline(pipeline, payload.model_dump(exclude_unset=True), actor=request.user)  # type: ignore[arg-type]
    return selectors.get_pipeline(pipeline_id)


@router.delete("/pipelines/{pipeline_id}", response={204: None}, operation_id="crm_pipeline_delete")
def delete_pipeline(request: HttpRequest, pipeline_id: RecordId) -> Status[None]:
    access.require(request.user, Pipeline, "delete")
    services.delete_pipeline(_get(Pipeline, pipeline_id), actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut}, operation_id="crm_stage_create")
def create_stage(request: HttpRequest, pipeline_id: RecordId, payload: StageIn) -> Status[Stage]:
    """Add a stage (stages are part of their pipeline's settings: crm.change_pipeline)."""
    access.require(request.user, Pipeline, "change")
    pipeline = _get(Pipeline, pipeline_id)
    stage = services.create_stage(pipeline, payload.model_dump(exclude_unset=True), actor=request.user)  # type: ignore[arg-type]
    return Status(201, stage)


@router.patch("/stages/{stage_id}", response=StageOut, operation_id="crm_stage_update")
def update_stage(request: HttpRequest, stage_id: RecordId, payload: StagePatch) -> Stage:
    access.require(request.user, Pipeline, "change")
    return services.update_stage(_get(Stage, stage_id), payload.model_dump(exclude_unset=True),
                                 actor=request.user)  # type: ignore[arg-type]


@router.delete("/stages/{stage_id}", response={204: None}, operation_id="crm_stage_delete")
def delete_stage(request: HttpRequest, stage_id: RecordId) -> Status[None]:
    access.require(request.user, Pipeline, "change")
    services.delete_stage(_get(Stage, stage_id), actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


@router.get("/loss-reasons", response=list[LossReasonOut], operation_id="crm_loss_reason_list")
def list_loss_reasons(request: HttpRequest) -> list[LossReason]:
    if not access.can(request.user, Opportunity, "view"):
        access.require(request.user, LossReason, "view")
    return list(selectors.list_loss_reasons())


loss_reasons = RecordOperations(router, LossReason, "/loss-reasons", app="crm", name="loss_reason",
                                out=LossReasonOut, get_record=_setting(LossReason), services=services,
                                id_param="reason_id")
loss_reasons.create(LossReasonIn)
loss_reasons.update(LossReasonIn)
loss_reasons.delete()


@router.get("/competitors", response=list[CompetitorOut], operation_id="crm_competitor_list")
def list_competitors(request: HttpRequest) -> list[Competitor]:
    if not access.can(request.user, Opportunity, "view"):
        access.require(request.user, Competitor, "view")
    return list(selectors.list_competitors())


competitors = RecordOperations(router, Competitor, "/competitors", app="crm", name="competitor", out=CompetitorOut,
                               get_record=_setting(Competitor), services=services)
competitors.create(CompetitorIn)
competitors.update(CompetitorPatch)
competitors.delete()

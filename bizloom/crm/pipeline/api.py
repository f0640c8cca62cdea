"""REST API of this area, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors
read, services write, access decides)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from bizloom.common.errors import ValidationFailed
from bizloom.crm import selectors as crm_selectors
from bizloom.crm.models import Competitor, LossReason, Opportunity, Pipeline, Stage, StageHistory
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
from bizloom.platform.api.listing import describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api
from bizloom.platform.models import User

router = Router(tags=["crm"])


def _missing(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _one(queryset: QuerySet[Any], pk: int, field: str) -> Any:
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise _missing(field, _("No record with this id."))
    return found


def _opportunity_data(payload: OpportunityPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the services take them: ids become records. Accounts and
    contacts are looked up only among those ``user`` may view (one outside their scope reads like
    one that does not exist)."""
    data = payload.model_dump(exclude_unset=True)
    references: dict[str, Callable[[], QuerySet[Any]]] = {
        "account": lambda: crm_selectors.list_accounts(user),
        "contact": lambda: crm_selectors.list_contacts(user),
        "owner": lambda: User.objects.filter(is_active=True),
        "pipeline": lambda: Pipeline.objects.all(),
        "stage": lambda: Stage.objects.all(),
        "loss_reason": lambda: LossReason.objects.all(),
    }
    for name, queryset in references.items():
        if data.get(name) is not None:
            data[name] = _one(queryset(), data[name], name)
        elif name in data and name in ("account", "pipeline", "stage", "owner"):
            del data[name]  # null: keep the current value (these cannot be cleared)
    if "competitors" in data:
        wanted = set(data["competitors"])
        found = list(Competitor.objects.filter(pk__in=wanted))
        if len(found) != len(wanted):
            raise _missing("competitors", _("No record with this id."))
        data["competitors"] = found
    if data.get("lines") is None:
        data.pop("lines", None)
    return data


def _view_opportunities(user: Any) -> None:
    access.require(user, Opportunity, "view")


@router.get("/opportunities", response=OpportunityPage, operation_id="crm_opportunity_list",
            description="Opportunities you may see. " + describe_ordering(OPPORTUNITY_ORDERING) + " "
            + custom_api.describe())
def list_opportunities(request: HttpRequest, filters: Query[OpportunityFilters],
                       ordering: Query[OpportunityOrdering], page: Query[PageParams]) -> dict[str, Any]:
    _view_opportunities(request.user)
    queryset = selectors.list_opportunities(request.user).prefetch_related("lines", "competitors")
    return list_page(request, queryset, filters=filters, ordering=ordering.ordering, allowed=OPPORTUNITY_ORDERING,
                     default=["-created_at"], page=page)


@router.get("/opportunities/{opportunity_id}", response=OpportunityOut, operation_id="crm_opportunity_get")
def get_opportunity(request: HttpRequest, opportunity_id: RecordId) -> Opportunity:
    _view_opportunities(request.user)
    return selectors.get_opportunity(request.user, opportunity_id)


@router.get("/opportunities/{opportunity_id}/history", response=list[HistoryOut],
            operation_id="crm_opportunity_history")
def opportunity_history(request: HttpRequest, opportunity_id: RecordId) -> list[StageHistory]:
    """The opportunity's stays in its stages, oldest first (who moved it in and out, and when)."""
    _view_opportunities(request.user)
    return list(selectors.stage_history(selectors.get_opportunity(request.user, opportunity_id)))


@router.post("/opportunities", response={201: OpportunityOut}, operation_id="crm_opportunity_create")
def create_opportunity(request: HttpRequest, payload: OpportunityIn) -> Status[Opportunity]:
    access.require(request.user, Opportunity, "add")
    data = _opportunity_data(payload, request.user)
    custom_api.check_writable(request.user, Opportunity, data.get("custom_fields"), "add")
    with custom_api.body_errors():
        opportunity = services.create_opportunity(data, actor=request.user)  # type: ignore[arg-type]
    return Status(201, opportunity)


@router.patch("/opportunities/{opportunity_id}", response=OpportunityOut, operation_id="crm_opportunity_update")
def update_opportunity(request: HttpRequest, opportunity_id: RecordId, payload: OpportunityPatch) -> Opportunity:
    access.require(request.user, Opportunity, "change")
    opportunity = selectors.get_opportunity(request.user, opportunity_id, "change")
    data = _opportunity_data(payload, request.user)
    custom_api.check_writable(request.user, Opportunity, data.get("custom_fields"), "change")
    with custom_api.body_errors():
        return services.update_opportunity(opportunity, data, actor=request.user)  # type: ignore[arg-type]


@router.delete("/opportunities/{opportunity_id}", response={204: None}, operation_id="crm_opportunity_delete")
def delete_opportunity(request: HttpRequest, opportunity_id: RecordId) -> Status[None]:
    access.require(request.user, Opportunity, "delete")
    opportunity = selectors.get_opportunity(request.user, opportunity_id, "delete")
    services.delete_opportunity(opportunity, actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


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


def _get(model: type[Model], pk: int) -> Any:
    return get_object_or_404(model, pk=pk)


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


@router.post("/loss-reasons", response={201: LossReasonOut}, operation_id="crm_loss_reason_create")
def create_loss_reason(request: HttpRequest, payload: LossReasonIn) -> Status[LossReason]:
    access.require(request.user, LossReason, "add")
    return Status(201, services.create_loss_reason(payload.model_dump(exclude_unset=True),
                                                   actor=request.user))  # type: ignore[arg-type]


@router.patch("/loss-reasons/{reason_id}", response=LossReasonOut, operation_id="crm_loss_reason_update")
def update_loss_reason(request: HttpRequest, reason_id: RecordId, payload: LossReasonIn) -> LossReason:
    access.require(request.user, LossReason, "change")
    return services.update_loss_reason(_get(LossReason, reason_id), payload.model_dump(exclude_unset=True),
                                       actor=request.user)  # type: ignore[arg-type]


@router.delete("/loss-reasons/{reason_id}", response={204: None}, operation_id="crm_loss_reason_delete")
def delete_loss_reason(request: HttpRequest, reason_id: RecordId) -> Status[None]:
    access.require(request.user, LossReason, "delete")
    services.delete_loss_reason(_get(LossReason, reason_id), actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


@router.get("/competitors", response=list[CompetitorOut], operation_id="crm_competitor_list")
def list_competitors(request: HttpRequest) -> list[Competitor]:
    if not access.can(request.user, Opportunity, "view"):
        access.require(request.user, Competitor, "view")
    return list(selectors.list_competitors())


@router.post("/competitors", response={201: CompetitorOut}, operation_id="crm_competitor_create")
def create_competitor(request: HttpRequest, payload: CompetitorIn) -> Status[Competitor]:
    access.require(request.user, Competitor, "add")
    return Status(201, services.create_competitor(payload.model_dump(exclude_unset=True),
                                                  actor=request.user))  # type: ignore[arg-type]


@router.patch("/competitors/{competitor_id}", response=CompetitorOut, operation_id="crm_competitor_update")
def update_competitor(request: HttpRequest, competitor_id: RecordId, payload: CompetitorPatch) -> Competitor:
    access.require(request.user, Competitor, "change")
    return services.update_competitor(_get(Competitor, competitor_id), payload.model_dump(exclude_unset=True),
                                      actor=request.user)  # type: ignore[arg-type]


@router.delete("/competitors/{competitor_id}", response={204: None}, operation_id="crm_competitor_delete")
def delete_competitor(request: HttpRequest, competitor_id: RecordId) -> Status[None]:
    access.require(request.user, Competitor, "delete")
    services.delete_competitor(_get(Competitor, competitor_id), actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)

"""REST API of this area, mounted under /api/v1/crm/ by ``bizloom.crm.api``: the forecast, the
pipeline analysis and sales targets (thin: selectors read, services write)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm.forecast import schemas, selectors, services
from bizloom.crm.models import Opportunity, SalesTarget
from bizloom.platform import access
from bizloom.platform.api.pagination import PageParams, paginate
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.models import User

router = Router(tags=["crm"])


def _filters(params: schemas.ReportParams, *, default_to_pipeline: bool = False) -> selectors.Filters:
    return selectors.resolve_filters(**params.model_dump(), default_to_pipeline=default_to_pipeline)


@router.get("/forecast", response=schemas.ForecastOut, operation_id="crm_forecast_get",
            description="Open (weighted and unweighted), won and target figures of a period by expected-close "
            "month and by salesperson, per currency, over the opportunities you may see. Targets overlapping "
            "the period count prorated by days; attainment = won ÷ target; gap = target − won − weighted.")
def get_forecast(request: HttpRequest, params: Query[schemas.ReportParams]) -> dict[str, Any]:
    access.require(request.user, Opportunity, "view")
    return schemas.forecast_out(selectors.forecast(request.user, _filters(params)))


@router.get("/pipeline-analysis", response=schemas.AnalysisOut, operation_id="crm_pipeline_analysis_get",
            description="Per stage of a pipeline (default: the default pipeline): entries in the period, "
            "conversion to a later stage and to won, days in stage; win rate and sales cycle of the "
            "opportunities closed in the period. Only opportunities you may see count.")
def get_pipeline_analysis(request: HttpRequest, params: Query[schemas.ReportParams]) -> dict[str, Any]:
    access.require(request.user, Opportunity, "view")
    filters = _filters(params, default_to_pipeline=True)
    return schemas.analysis_out(selectors.pipeline_analysis(request.user, filters))


def _require_view_targets(user: Any) -> None:
    if not selectors.may_view_targets(user):
        access.require(user, SalesTarget, "view")  # raises, naming the rule


@router.get("/targets", response=schemas.TargetPage, operation_id="crm_target_list",
            description="Sales targets you may see (your own, your team's or department's by your role, and "
                        "those you may set), by period start.")
def list_targets(request: HttpRequest, filters: Query[schemas.TargetFilters],
                 page: Query[PageParams]) -> dict[str, Any]:
    _require_view_targets(request.user)
    targets = selectors.list_targets(request.user)
    if filters.user is not None:
        targets = targets.filter(user=filters.user)
    if filters.start is not None:
        targets = targets.filter(period_end__gte=filters.start)
    if filters.end is not None:
        targets = targets.filter(period_start__lte=filters.end)
    return paginate(targets.order_by("period_start", "user__username", "pk"), page)


def _target(user: Any, target_id: int) -> SalesTarget:
    try:
        return selectors.get_target(user, target_id)
    except SalesTarget.DoesNotExist as error:
        raise Http404 from error


@router.get("/targets/{target_id}", response=schemas.TargetOut, operation_id="crm_target_get")
def get_target(request: HttpRequest, target_id: RecordId) -> SalesTarget:
    _require_view_targets(request.user)
    return _target(request.user, target_id)


@router.put("/targets", response={200: schemas.TargetOut, 201: schemas.TargetOut}, operation_id="crm_target_set",
            description="Set a salesperson's target for a period: creates it, or replaces the amount of the "
                        "target with exactly that period. Needs crm.manage_targets; managers reach their "
                        "department subtree, administrators everyone. 422 when the period overlaps another "
                        "target of the salesperson (code target_overlap).")
def set_target(request: HttpRequest, payload: schemas.TargetIn) -> Status[SalesTarget]:
    if not selectors.may_manage_targets(request.user):
        raise PermissionDeniedError(_("You do not have permission to set sales targets."),
                                    rule=f"permission:{selectors.MANAGE_PERMISSION}")
    person = User.objects.filter(pk=payload.user, is_active=True).first()
    if person is None:
        message = _("No active user with this id.")
        raise ValidationFailed(message, fields={"user": [message]})
    existed = SalesTarget.objects.filter(user=person, period_start=payload.period_start,
                                         period_end=payload.period_end).exists()
    target = services.set_target(person, payload.period_start, payload.period_end, payload.amount,
                                 payload.currency or selectors.company_currency(),
                                 actor=request.user)  # type: ignore[arg-type]
    return Status(200 if existed else 201, target)


@router.delete("/targets/{target_id}", response={204: None}, operation_id="crm_target_delete")
def delete_target(request: HttpRequest, target_id: RecordId) -> Status[None]:
    _require_view_targets(request.user)
    target = _target(request.user, target_id)
    services.delete_target(target, actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)

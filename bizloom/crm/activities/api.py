"""REST API of activities, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors read,
services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from bizloom.common.errors import ValidationFailed
from bizloom.crm import apidata
from bizloom.crm.activities import selectors, services
from bizloom.crm.activities.schemas import (
    ACTIVITY_ORDERING,
    ActivityCancelIn,
    ActivityCheckInIn,
    ActivityCompleteIn,
    ActivityFilters,
    ActivityIn,
    ActivityOrdering,
    ActivityOut,
    ActivityPage,
    ActivityPatch,
    MyDayOut,
    MyDayParams,
)
from bizloom.crm.models import Activity, Contact
from bizloom.platform import access
from bizloom.platform.api.listing import describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.problem import ApiProblem
from bizloom.platform.api.records import RecordOperations
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api
from bizloom.platform.models import User

router = Router(tags=["crm"])


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _activity_data(payload: ActivityPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the services expect them: ids become records and users.

    Records and contacts are looked up only among those ``user`` may view, so one outside their
    scope reads exactly like one that does not exist (no existence oracle).
    """
    data = apidata.sent_fields(payload)
    if "record_type" in data or "record_id" in data:
        name, pk = data.pop("record_type", None), data.pop("record_id", None)
        if name is None and pk is None:
            data["record"] = None
        elif name is None or pk is None:
            raise _invalid("record_id" if pk is None else "record_type", _("Send record_type and record_id together."))
        else:
            if selectors.linkable_model(name) is None:
                raise _invalid("record_type", _("Activities cannot be linked to this kind of record."))
            record = selectors.resolve_record(user, name, pk)
            if record is None:
                raise _invalid("record_id", _("No record with this id."))
            data["record"] = record
    if "owner" in data and data["owner"] is None:
        data.pop("owner")  # null: keep the current owner
    apidata.resolve_owner(data)
    if "attendees" in data:
        data["attendees"] = apidata.records(User.objects.filter(is_active=True), data["attendees"], "attendees",
                                            _("No active user with this id."))
    apidata.resolve_records(data, "contact_attendees", Contact.objects.all(), user, _("No contact with this id."))
    return data


def _filter_record(queryset: QuerySet[Activity], filters: ActivityFilters) -> QuerySet[Activity]:
    if filters.record_type is None and filters.record_id is None:
        return queryset
    model = selectors.linkable_model(filters.record_type or "")
    if model is None or filters.record_id is None:
        message = _("Send record_type (a linkable type) and record_id together.")
        raise ApiProblem(422, message, errors={"record_type": [message]})
    return queryset.filter(content_type=ContentType.objects.get_for_model(model), object_id=str(filters.record_id))


@router.get("/activities", response=ActivityPage, operation_id="crm_activity_list",
            description="Activities you may see. " + describe_ordering(ACTIVITY_ORDERING) + " "
            + custom_api.describe())
def list_activities(request: HttpRequest, filters: Query[ActivityFilters], ordering: Query[ActivityOrdering],
                    page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, Activity, "view")
    queryset = _filter_record(selectors.list_activities(request.user, "view").prefetch_related(
        "attendees", "contact_attendees"), filters)
    return list_page(request, queryset, filters=filters, ordering=ordering.ordering, allowed=ACTIVITY_ORDERING,
                     default=["-due_at"], page=page)


activities = RecordOperations(router, Activity, "/activities", app="crm", name="activity", out=ActivityOut,
                              get_record=selectors.get_activity, services=services, to_data=_activity_data)
activities.get()
activities.create(ActivityIn)
activities.update(ActivityPatch)
activities.delete()


@router.post("/activities/{activity_id}/complete", response=ActivityOut, operation_id="crm_activity_complete",
             description="Mark a planned activity done (409 otherwise); a recurring one schedules the next.")
def complete_activity(request: HttpRequest, activity_id: RecordId, payload: ActivityCompleteIn) -> Activity:
    access.require(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, activity_id, "change")
    return services.complete_activity(activity, actor=request.user, result=payload.result)  # type: ignore[arg-type]


@router.post("/activities/{activity_id}/cancel", response=ActivityOut, operation_id="crm_activity_cancel",
             description="Cancel a planned activity (409 otherwise).")
def cancel_activity(request: HttpRequest, activity_id: RecordId, payload: ActivityCancelIn) -> Activity:
    access.require(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, activity_id, "change")
    return services.cancel_activity(activity, actor=request.user,  # type: ignore[arg-type]
                                    end_series=payload.end_series)


@router.post("/activities/{activity_id}/check-in", response=ActivityOut, operation_id="crm_activity_check_in",
             description="Check in at a planned visit now (409 for other kinds or a second check-in).")
def check_in(request: HttpRequest, activity_id: RecordId, payload: ActivityCheckInIn) -> Activity:
    access.require(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, activity_id, "change")
    return services.check_in(activity, actor=request.user,  # type: ignore[arg-type]
                             location=payload.location or None)


@router.get("/my-day", response=MyDayOut, operation_id="crm_my_day",
            description="Your overdue, today's and next 7 days' open activities, and your accounts and open "
            "opportunities without activity for `days` days.")
def my_day(request: HttpRequest, params: Query[MyDayParams]) -> dict[str, Any]:
    access.require(request.user, Activity, "view")
    day = selectors.my_day(request.user, days=params.days)
    return {
        "days": day.days, "overdue": day.overdue, "today": day.today, "upcoming": day.upcoming,
        "stale_accounts": [{"id": r.record.pk, "name": str(r.record), "last_activity_at": r.last}
                           for r in day.stale_accounts],
        "stale_opportunities": [{"id": r.record.pk, "name": str(r.record), "last_activity_at": r.last}
                                for r in day.stale_opportunities],
    }

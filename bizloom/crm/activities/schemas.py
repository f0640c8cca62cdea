"""API schemas of activities and my day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from django.db.models import Q
from ninja import Field, FilterLookup, Schema

from bizloom.crm.models import Activity
from bizloom.crm.schemas import CustomFields
from bizloom.platform.api.listing import ListFilters, OrderingParams
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema
from bizloom.platform.customfields import api as custom_api

Kind = Annotated[str, OneOf(Activity.Kind)]
Status = Annotated[str, OneOf(Activity.Status)]
Recurrence = Annotated[str, OneOf(Activity.Recurrence, blank=True)]
RecordType = Annotated[str, Field(max_length=100, description="Type of the linked record, e.g. crm.account, "
                                  "crm.contact, crm.lead, crm.opportunity, crm.contract.")]
Text = Annotated[str, Field(max_length=20_000)]

ACTIVITY_ORDERING = {
    "due_at": "due_at",
    "subject": "subject",
    "kind": "kind",
    "status": "status",
    "owner": "owner__username",
    "account": "account__name",
    "completed_at": "completed_at",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class ActivityOut(ReadSchema):
    id: int
    kind: str
    subject: str
    description: str
    status: str
    due_at: datetime | None
    duration_minutes: int | None
    all_day: bool
    remind_at: datetime | None
    reminded_at: datetime | None
    result: str
    location: str
    checked_in_at: datetime | None
    record_type: str | None = Field(description="Type of the linked record (crm.account, crm.opportunity, …).")
    record_id: int | None = Field(description="Id of the linked record.")
    record_label: str = Field(description="Name of the linked record.")
    account: int | None = Field(description="Id of the account, derived from the linked record.")
    contact: int | None = Field(description="Id of the contact, derived from the linked record.")
    attendees: list[int] = Field(description="Ids of the attending users.")
    contact_attendees: list[int] = Field(description="Ids of the attending contacts.")
    recurrence: str
    recurrence_until: date | None
    series: int | None = Field(description="Id of the first activity of a recurring series.")
    owner: int | None = Field(description="Id of the user it is assigned to.")
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_custom_fields(obj: Activity, context: dict[str, Any] | None = None) -> dict[str, Any]:
        request = (context or {}).get("request")
        return custom_api.output(obj, getattr(request, "user", None))

    @staticmethod
    def resolve_record_type(obj: Activity) -> str | None:
        model = obj.content_type.model_class() if obj.content_type is not None else None
        return model._meta.label_lower if model is not None else None

    @staticmethod
    def resolve_record_id(obj: Activity) -> int | None:
        return int(obj.object_id) if obj.content_type_id and obj.object_id.isdigit() else None

    @staticmethod
    def resolve_record_label(obj: Activity) -> str:
        record = obj.record if obj.content_type_id else None
        return str(record) if record is not None else ""

    @staticmethod
    def resolve_account(obj: Activity) -> int | None:
        return obj.account_id

    @staticmethod
    def resolve_contact(obj: Activity) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_attendees(obj: Activity) -> list[int]:
        return sorted(user.pk for user in obj.attendees.all())

    @staticmethod
    def resolve_contact_attendees(obj: Activity) -> list[int]:
        return sorted(contact.pk for contact in obj.contact_attendees.all())

    @staticmethod
    def resolve_series(obj: Activity) -> int | None:
        return obj.series_id

    @staticmethod
    def resolve_owner(obj: Activity) -> int | None:
        return obj.owner_id


class ActivityPage(Page[ActivityOut]):
    """A page of activities."""


class ActivityPatch(WriteSchema):
    """Any subset of an activity's fields; fields left out keep their value (custom fields too).

    ``record_type`` + ``record_id`` link it to a record you may see (its account and contact
    follow); ``record_type: null`` unlinks it. Moving ``due_at`` or ``remind_at`` re-arms the
    reminder. The status changes only through complete, cancel (and check-in for visits).
    """

    access_model: ClassVar[str] = "crm.Activity"

    kind: Kind = Activity.Kind.TASK.value
    subject: str = Field("", min_length=1, max_length=200)
    description: Text = ""
    due_at: datetime | None = None
    duration_minutes: int | None = Field(None, ge=0, le=7 * 24 * 60)
    all_day: bool = False
    remind_at: datetime | None = None
    result: Text = ""
    location: str = Field("", max_length=300)
    record_type: RecordType | None = None
    record_id: RecordId | None = None
    owner: RecordId | None = None
    attendees: list[RecordId] = Field(default_factory=list, max_length=100)
    contact_attendees: list[RecordId] = Field(default_factory=list, max_length=100)
    recurrence: Recurrence = ""
    recurrence_until: date | None = None
    custom_fields: CustomFields = Field(default_factory=dict)


class ActivityIn(ActivityPatch):
    """A new activity: scheduled (``status`` planned, the default) or logged as done. You own it
    unless ``owner`` is given."""

    subject: str = Field(min_length=1, max_length=200)
    status: Annotated[str, OneOf([Activity.Status.PLANNED, Activity.Status.DONE])] = Activity.Status.PLANNED.value


class ActivityCompleteIn(WriteSchema):
    """What came of the activity."""

    access_model: ClassVar[str] = "crm.Activity"

    result: Text = ""


class ActivityCancelIn(WriteSchema):
    """``end_series`` ends a repetition here instead of scheduling the next occurrence."""

    access_model: ClassVar[str] = "crm.Activity"

    end_series: bool = False


class ActivityCheckInIn(WriteSchema):
    """Where the rep is when checking in (optional; the planned address stays otherwise)."""

    access_model: ClassVar[str] = "crm.Activity"

    location: str = Field("", max_length=300)


class ActivityFilters(ListFilters):
    search_fields = ("subject__icontains", "description__icontains", "result__icontains")

    kind: Annotated[Kind | None, FilterLookup("kind")] = None
    status: Annotated[Status | None, FilterLookup("status")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    account: Annotated[RecordId | None, FilterLookup("account_id")] = None
    due_from: Annotated[datetime | None, FilterLookup("due_at__gte")] = Field(
        None, description="Due at or after (ISO 8601; a date means its midnight).")
    due_to: Annotated[datetime | None, FilterLookup("due_at__lt")] = Field(
        None, description="Due before (ISO 8601).")
    record_type: RecordType | None = None
    record_id: RecordId | None = None

    def filter_record_type(self, value: str | None) -> Q:
        return Q()  # applied together with record_id in ``record_condition``

    def filter_record_id(self, value: int | None) -> Q:
        return Q()


class ActivityOrdering(OrderingParams):
    pass


class MyDayItem(ReadSchema):
    id: int
    kind: str
    subject: str
    status: str
    due_at: datetime | None
    all_day: bool
    account: int | None = None
    account_name: str = ""

    @staticmethod
    def resolve_account(obj: Activity) -> int | None:
        return obj.account_id

    @staticmethod
    def resolve_account_name(obj: Activity) -> str:
        return str(obj.account) if obj.account_id else ""


class StaleRecordOut(Schema):
    id: int
    name: str
    last_activity_at: datetime | None


class MyDayOut(Schema):
    days: int = Field(description="Records count as untouched after this many days without activity.")
    overdue: list[MyDayItem]
    today: list[MyDayItem]
    upcoming: list[MyDayItem]
    stale_accounts: list[StaleRecordOut]
    stale_opportunities: list[StaleRecordOut]


class MyDayParams(Schema):
    days: int = Field(30, ge=1, le=365, description="Days without activity (1–365).")

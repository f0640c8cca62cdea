"""Declarations of the activity list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from bizloom.crm.activities import selectors, services
from bizloom.crm.models import Activity
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import ChoiceFilter, Column, DateRangeFilter, ListConfig, OwnerFilter
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action
from bizloom.platform.listing.filters import TextFilter


def linked_record(activity: Activity) -> str:
    """The name of the record the activity is about ("" when none, or when it was deleted)."""
    record = activity.record if activity.content_type_id else None
    return str(record) if record is not None else ""


ACTIVITY_LIST = ListConfig(
    key="crm.activity",
    model=Activity,
    queryset=selectors.list_activities,
    url_prefix="crm:activity",
    columns=[
        Column("subject", link=True),
        Column("kind"),
        Column("status"),
        Column("due_at"),
        Column("owner", sort_field="owner__username"),
        Column("account", sort_field="account__name"),
        Column("record", label=_("Linked record"), value=linked_record, sortable=False),
        Column("contact", sort_field="contact__name"),
        Column("location"),
        Column("result", sortable=False),
        Column("completed_at"),
        Column("created_at"),
    ],
    default_columns=("subject", "kind", "status", "due_at", "owner", "account", "record"),
    search_fields=("subject", "description", "result"),
    filters=[
        ChoiceFilter("kind"),
        ChoiceFilter("status"),
        OwnerFilter("owner"),
        DateRangeFilter("due_at"),
        TextFilter("account__name", label=_("Account")),
    ],
    default_sort="-due_at",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_activities),
                  delete_action(services.delete_activity, confirm=_("Delete the selected activities?"))],
)


def _status(activity: Activity) -> Any:
    return {"value": activity.status, "label": activity.get_status_display()}


ACTIVITY_DETAIL = DetailConfig(
    model=Activity,
    back_url_name="crm:activity_list",
    status=_status,
    groups=[
        FieldGroup(_("Activity"), ["kind", "due_at", "all_day", "duration_minutes", "remind_at", "owner",
                                   "recurrence", "recurrence_until"]),
        FieldGroup(_("About"), ["account", "contact", "location", "checked_in_at"]),
        FieldGroup(_("Details"), ["description", "result", "completed_at"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:activity_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:activity_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this activity?")),
    ],
    template="crm/activities/activity_detail.html",
)

"""The import declaration of activities (issue #5): calls, visits, meetings, tasks, emails, notes.

Plain keyword arguments of ``ImportDeclaration`` (CRM sits below integration in the layers),
registered through ``integration.imports.declarations.EXTRA_MODULES``. Writes go through
``bizloom.crm.activities.services``: an activity is linked to the row's contact (when given)
or account, and the services derive its account and contact from that record and refuse a
record the importer may not see. Accounts are named by tax id, external id or name, contacts
by name within the account, email, external id or name — only among records the importer
may see. A new activity is planned or done (logged); "cancelled" cancels it after creating
it. An existing one moves planned → done (``complete_activity``, with the result) or
planned → cancelled; a finished activity does not go back. A row updates the activity with
its external id (of the batch's source), else the one readable activity with the same subject,
due time and account (so an exported list re-imported gives "unchanged" rows); two equal rows
of one file create two activities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.crm import importkit
from bizloom.crm.activities import selectors, services
from bizloom.crm.models import Activity

ACTIVITY_IMPORT_FIELDS = ["kind", "subject", "description", "status", "due_at", "duration_minutes", "all_day",
                          "location", "result", "account", "contact", "owner"]
SYNONYMS = {
    "kind": ("类型", "活动类型", "方式", "跟进方式", "type", "activity type"),
    "subject": ("主题", "标题", "事项", "内容摘要", "title", "topic"),
    "description": ("描述", "详情", "内容", "说明", "details", "notes"),
    "status": ("状态", "完成状态", "activity status"),
    "due_at": ("时间", "日期", "截止时间", "计划时间", "跟进时间", "开始时间", "due date", "date", "when", "start"),
    "duration_minutes": ("时长", "时长(分钟)", "分钟", "duration", "minutes"),
    "all_day": ("全天", "是否全天", "all day event"),
    "location": ("地点", "地址", "拜访地点", "place", "where"),
    "result": ("结果", "跟进结果", "沟通结果", "outcome"),
    "account": ("客户", "客户名称", "公司", "公司名称", "company", "account name", "customer"),
    "contact": ("联系人", "联系人姓名", "contact name", "person"),
    "owner": ("负责人", "执行人", "跟进人", "销售", "assigned to", "assignee", "owner"),
}
STATUS_KEYS = ("status",)
LINK_KEYS = ("account", "contact")


def build_activity(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The activity service data of one row (account and contact as records, due as a local time)."""
    data: dict[str, Any] = {}
    cells = dict(importkit.clean(values))
    account = importkit.row_account(cells, data, context, errors)
    for key, text in cells.items():
        try:
            if key == "account":
                continue
            if key == "contact":
                contact = importkit.find_contact(text, context, account)
                if account is not None and contact.account_id != account.pk and not contact.accounts.filter(
                        pk=account.pk).exists():
                    raise ValueError(gettext("%(contact)s is not a contact of %(account)s.")
                                     % {"contact": contact, "account": account})
                data[key] = contact
            elif key == "kind":
                data[key] = context.parse_choice(text, Activity.Kind.choices)
            elif key == "status":
                data[key] = context.parse_choice(text, Activity.Status.choices)
            elif key == "due_at":
                data[key] = importkit.parse_datetime(text, context)
            elif key == "duration_minutes":
                data[key] = importkit.parse_int(text, context, low=0, high=services.MAX_DURATION_MINUTES)
            elif key == "all_day":
                data[key] = context.parse_bool(text)
            elif key == "owner":
                data[key] = context.resolve_user(text, Activity)
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    if data.get("subject") and data.get("due_at") is not None:
        found = _existing(context).get((data["subject"], data["due_at"], getattr(account, "pk", None)))
        if found is not None:
            data["id"] = found
    return data


def _existing(context: Any) -> dict[tuple[Any, ...], Any]:
    """(subject, due, account id) → id of the readable activities for which it is unique (read once a run)."""
    lookup: dict[tuple[Any, ...], Any] | None = context.cache.get("crm.activity:existing")
    if lookup is None:
        lookup = {}
        rows = selectors.list_activities(context.user, "view").select_related(None).prefetch_related(None).filter(
            due_at__isnull=False).order_by("pk").values_list("pk", "subject", "due_at", "account_id")
        for pk, subject, due_at, account_id in rows.iterator(chunk_size=5000):
            for key in ((subject, due_at, account_id), (subject, due_at, None)):
                lookup[key] = None if key in lookup else pk
        context.cache["crm.activity:existing"] = lookup
    return lookup


def _record(data: Mapping[str, Any]) -> Any:
    """The record the activity is about: the contact when given, else the account."""
    return data.get("contact") or data.get("account")


def create_activity(data: Mapping[str, Any], actor: Any) -> Activity:
    """``create_activity`` (planned or done), linked to the row's contact or account; a cancelled
    row is created planned and cancelled."""
    values = {key: value for key, value in data.items() if key not in (*LINK_KEYS, *STATUS_KEYS, "id")}
    record = _record(data)
    if record is not None:
        values["record"] = record
    status = data.get("status") or Activity.Status.PLANNED
    values["status"] = Activity.Status.PLANNED if status == Activity.Status.CANCELLED else status
    activity = services.create_activity(values, actor=actor)
    if status == Activity.Status.CANCELLED:
        activity = services.cancel_activity(activity, actor=actor, end_series=True)
    return activity


def update_activity(activity: Activity, data: Mapping[str, Any], actor: Any) -> Activity:
    """``update_activity`` with the values that differ (a new contact or account relinks it), then
    complete or cancel it when the row says so."""
    values = importkit.changed(activity, data, skip=(*LINK_KEYS, *STATUS_KEYS, "id"))
    links = importkit.changed(activity, {key: data[key] for key in LINK_KEYS if key in data})
    if links:
        values["record"] = _record(data)
    status = data.get("status")
    result = values.pop("result", None) if status == Activity.Status.DONE and activity.status != status else None
    if values:
        activity = services.update_activity(activity, values, actor=actor)
    if status and status != activity.status:
        if activity.status != Activity.Status.PLANNED:
            message = gettext("A %(status)s activity cannot become %(new)s.") % {
                "status": activity.get_status_display().lower(), "new": Activity.Status(status).label.lower()}
            raise ValidationFailed(message, fields={"status": [message]})
        if status == Activity.Status.DONE:
            activity = services.complete_activity(activity, actor=actor, result=result or "")
        elif status == Activity.Status.CANCELLED:
            activity = services.cancel_activity(activity, actor=actor, end_series=True)
    return activity


IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.activity",
    "model": Activity,
    "label": _("Activities"),
    "field_names": ACTIVITY_IMPORT_FIELDS,
    "required": ("subject",),
    "synonyms": SYNONYMS,
    "build": build_activity,
    "create": create_activity,
    "update": update_activity,
    "delete": lambda activity, actor: services.delete_activity(activity, actor=actor),
    "natural_keys": ("id",),
    "custom_fields": True,
}]

"""The "Activities" block under a record's fields and the done activities on its timeline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bizloom.crm.activities import selectors
from bizloom.crm.activities.forms import CompleteForm, QuickActivityForm
from bizloom.crm.models import Account, Activity
from bizloom.platform import access
from bizloom.platform.detail import RelatedSection, TimelineEntry

SECTION_KEY = "activities"
SECTION_TEMPLATE = "crm/activities/_section.html"
SECTION_ORDER = 30
OPEN_SHOWN = 20
RECENT_SHOWN = 10
TIMELINE_SHOWN = 50


def record_url(obj: models.Model | None) -> str:
    """The detail page of ``obj`` (``<app>:<model>_detail``), or "" when it has none (yet)."""
    if obj is None:
        return ""
    meta = obj._meta
    try:
        return reverse(f"{meta.app_label}:{meta.model_name}_detail", args=[obj.pk])
    except NoReverseMatch:
        return ""


def record_key(obj: models.Model) -> str:
    """``crm.account:12``: how the section's forms name their record."""
    return f"{selectors.record_type(type(obj))}:{obj.pk}"


def section_context(obj: models.Model, user: Any, form: QuickActivityForm | None = None) -> dict[str, Any] | None:
    """The block's data: open activities (by due time), the recently done ones, and the quick form.

    None (no block) when ``user`` may not view activities.
    """
    if not access.can(user, Activity, "view"):
        return None
    activities = selectors.record_activities(user, obj).select_related(None).select_related("owner")
    open_ = activities.filter(status=Activity.Status.PLANNED).order_by("due_at", "pk")
    recent = activities.filter(status=Activity.Status.DONE).order_by("-completed_at", "-pk")
    can_add = access.can(user, Activity, "add") and selectors.linkable_model(
        selectors.record_type(type(obj))) is not None
    key = record_key(obj)
    return {
        "open": list(open_[:OPEN_SHOWN]),
        "open_total": open_.count(),
        "recent": list(recent[:RECENT_SHOWN]),
        "can_add": can_add,
        "can_change": access.can(user, Activity, "change"),
        "show_result": access.field_policy(user, Activity, "view").shows("result"),
        "form": form or (QuickActivityForm(auto_id="id_quick_%s") if can_add else None),
        "complete_form": CompleteForm(),
        "record_key": key,
        "now": timezone.now(),
        "quick_url": reverse("crm:activity_quick_create", args=[selectors.record_type(type(obj)), obj.pk]),
        "list_url": reverse("crm:activity_list") + (f"?{urlencode({'account__name': str(obj)})}"
                                                    if isinstance(obj, Account) else ""),
        "new_url": reverse("crm:activity_create") + "?" + urlencode(
            {"record_type": selectors.record_type(type(obj)), "record_id": obj.pk}),
    }


def section_for(obj: models.Model, user: Any, form: QuickActivityForm | None = None) -> dict[str, Any]:
    """What the section template receives when re-rendered on its own (HTMX)."""
    return {"key": SECTION_KEY, "title": _("Activities"), "template": SECTION_TEMPLATE,
            "data": section_context(obj, user, form) or {}}


ACTIVITY_SECTION = RelatedSection(SECTION_KEY, _("Activities"), SECTION_TEMPLATE, section_context, order=SECTION_ORDER)


def timeline_entries(obj: models.Model, user: Any) -> list[TimelineEntry]:
    """One entry per done activity about ``obj`` that ``user`` may view (latest 50)."""
    if isinstance(obj, Activity) or not access.can(user, Activity, "view"):
        return []
    if ContentType.objects.get_for_model(type(obj)).app_label not in access.BUSINESS_APPS:
        return []
    done = (selectors.record_activities(user, obj).select_related(None).select_related("owner")
            .filter(status=Activity.Status.DONE, completed_at__isnull=False).order_by("-completed_at", "-pk"))
    policy = access.field_policy(user, Activity, "view")
    shown = [name for name in ("result", "description") if policy.shows(name)]
    entries = []
    for activity in done[:TIMELINE_SHOWN]:
        title = f"{activity.get_kind_display()}: {activity.subject}"
        body = next((text for name in shown if (text := getattr(activity, name))), "")
        entries.append(TimelineEntry(at=activity.completed_at, title=title,  # type: ignore[arg-type]
                                     body=body, actor=activity.owner,
                                     kind="activity", url=reverse("crm:activity_detail", args=[activity.pk])))
    return entries

"""Activity pages: list/detail/form through the shared kits, the workflow buttons, the section
under every record, my day, the calendar and the calendar feed. Thin: selectors read, services write."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bizloom.common.errors import DomainError
from bizloom.crm.activities import ical, sections, selectors, services
from bizloom.crm.activities.forms import (
    ActivityForm,
    CheckInForm,
    CompleteForm,
    QuickActivityForm,
    activity_service_data,
)
from bizloom.crm.activities.lists import ACTIVITY_DETAIL
from bizloom.crm.models import Activity, CalendarFeed
from bizloom.platform import access
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import form_page, htmx_redirect, require_or_403
from bizloom.platform.models import User
from bizloom.platform.requests import actor_of


def _detail_url(activity: Activity) -> str:
    return reverse("crm:activity_detail", args=[activity.pk])


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` address of the form when it stays on this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --- detail and forms ----------------------------------------------------------------------------


def _workflow(user: Any, activity: Activity) -> dict[str, Any]:
    """Which workflow buttons the detail page shows."""
    may_change = access.can(user, Activity, "change")
    planned = activity.status == Activity.Status.PLANNED
    return {
        "can_complete": may_change and planned,
        "can_cancel": may_change and planned,
        "can_check_in": (may_change and planned and activity.kind == Activity.Kind.VISIT
                         and activity.checked_in_at is None),
        "complete_form": CompleteForm(),
        "check_in_form": CheckInForm(),
        "shows_location": access.field_policy(user, Activity, "view").shows("location"),
    }


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One activity: fields, workflow buttons (complete, cancel, check in), linked record and timeline."""
    require_or_403(request.user, Activity, "view")
    activity = selectors.get_activity(request.user, pk)
    record = activity.record if activity.content_type_id else None
    visible = record is not None and access.allows(request.user, record, "view")
    linked = {"name": str(record) if record is not None else "", "url": sections.record_url(record) if visible else "",
              "type": record._meta.verbose_name if record is not None else ""}
    attendees = list(activity.attendees.order_by("username"))
    contacts = list(selectors.visible_contact_attendees(request.user, activity))
    return render_detail(request, with_custom_fields(ACTIVITY_DETAIL), activity, extra_context={
        "linked": linked, "attendee_users": attendees, "attendee_contacts": contacts,
        "workflow": _workflow(request.user, activity)})


def _save_data(form_data: Mapping[str, Any]) -> dict[str, Any]:
    return split_custom_values(activity_service_data(dict(form_data)))


@login_required
def activity_create(request: HttpRequest) -> HttpResponse:
    """New activity form; ``?record_type=crm.account&record_id=12`` links it to that record. The
    creator is the owner unless another one is chosen."""
    require_or_403(request.user, Activity, "add")
    record = selectors.resolve_record(request.user, request.GET.get("record_type", ""),
                                      request.GET.get("record_id", ""))
    initial: dict[str, Any] = {}
    kind = request.GET.get("kind", "")
    if kind in Activity.Kind.values:
        initial["kind"] = kind
    day = request.GET.get("date", "")
    try:
        initial["due_at"] = timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9)))
    except ValueError:
        pass

    def save(data: Mapping[str, Any]) -> Activity:
        values = _save_data({k: v for k, v in data.items() if k != "owner" or v is not None})
        return services.create_activity(values, actor=actor_of(request))

    return form_page(request, ActivityForm, save=save, success_url=_detail_url, title=_("New activity"),
                     cancel_url=sections.record_url(record) or reverse("crm:activity_list"),
                     success_message=_("%(object)s was created."),
                     form_kwargs={"user": request.user, "record": record, "initial": initial})


@login_required
def activity_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of an activity the user may change."""
    require_or_403(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, pk, action="change")
    return form_page(request, ActivityForm, instance=activity,
                     save=lambda data: services.update_activity(activity, _save_data(data), actor=actor_of(request)),
                     success_url=_detail_url, title=_("Edit %(activity)s") % {"activity": activity},
                     cancel_url=_detail_url(activity), success_message=_("%(object)s was saved."),
                     form_kwargs={"user": request.user})


@login_required
@require_POST
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an activity."""
    require_or_403(request.user, Activity, "delete")
    activity = selectors.get_activity(request.user, pk, action="delete")
    subject = str(activity)
    try:
        services.delete_activity(activity, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, _detail_url(activity))
    messages.success(request, _("%(activity)s was deleted.") % {"activity": subject})
    return htmx_redirect(request, reverse("crm:activity_list"))


# --- workflow buttons ----------------------------------------------------------------------------


def _section_record(request: HttpRequest) -> Any:
    """The record whose activities section posted (``section=crm.account:12``), if the user may view it."""
    value = request.POST.get("section", "")
    name, _sep, pk = value.partition(":")
    return selectors.resolve_record(request.user, name, pk) if name else None


def _after_action(request: HttpRequest, activity: Activity, error: DomainError | None, done_message: str
                  ) -> HttpResponse:
    """Re-render what the button sat in: the record's section, a my-day list, or go back to the page."""
    record = _section_record(request)
    if record is not None and _is_htmx(request):
        context = {"section": sections.section_for(record, request.user), "object": record,
                   "error": error.message if error else ""}
        return render(request, "crm/activities/_section_body.html", context)
    if request.POST.get("from") == "my-day" and _is_htmx(request):
        return _render_my_day(request, partial=True, error=error.message if error else "")
    if error is not None:
        messages.error(request, error.message)
    else:
        messages.success(request, done_message)
    fallback = sections.record_url(record) if record is not None else _detail_url(activity)
    return htmx_redirect(request, _safe_next(request, fallback))


@login_required
@require_POST
def activity_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a planned activity done (with its result); a recurring one schedules the next."""
    require_or_403(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, pk, action="change")
    form = CompleteForm(request.POST)
    result = form.cleaned_data["result"] if form.is_valid() else ""
    error = None
    try:
        services.complete_activity(activity, actor=actor_of(request), result=result)
    except DomainError as failure:
        error = failure
    return _after_action(request, activity, error, _("%(activity)s is done.") % {"activity": activity})


@login_required
@require_POST
def activity_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a planned activity (``end_series`` ends a repetition)."""
    require_or_403(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, pk, action="change")
    error = None
    try:
        services.cancel_activity(activity, actor=actor_of(request), end_series=bool(request.POST.get("end_series")))
    except DomainError as failure:
        error = failure
    return _after_action(request, activity, error, _("%(activity)s was cancelled.") % {"activity": activity})


@login_required
@require_POST
def activity_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Check in at a planned visit now, optionally with the current address."""
    require_or_403(request.user, Activity, "change")
    activity = selectors.get_activity(request.user, pk, action="change")
    form = CheckInForm(request.POST)
    error: DomainError | None = None
    if not form.is_valid():
        error = DomainError(_("The address is too long (at most 300 characters)."), code="validation_failed")
    else:
        try:
            services.check_in(activity, actor=actor_of(request), location=form.cleaned_data["location"] or None)
        except DomainError as failure:
            error = failure
    return _after_action(request, activity, error, _("Checked in at %(activity)s.") % {"activity": activity})


@login_required
@require_http_methods(["GET", "POST"])
def activity_quick_create(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    """The section's "log activity / schedule" form: posts here, answers with the refreshed section."""
    require_or_403(request.user, Activity, "view")
    record = selectors.resolve_record(request.user, record_type, record_id)
    if record is None:
        raise Http404
    form = None
    if request.method == "POST":
        require_or_403(request.user, Activity, "add")
        form = QuickActivityForm(request.POST, auto_id="id_quick_%s")
        if form.is_valid():
            try:
                services.create_activity(form.service_data(record), actor=actor_of(request))
            except DomainError as error:
                form.add_error(None, error.message)
                for name, field_messages in error.fields.items():
                    for message in field_messages:
                        form.add_error(name if name in form.fields else None, message)
            else:
                form = None
                if not _is_htmx(request):
                    messages.success(request, _("The activity was saved."))
                    return htmx_redirect(request, sections.record_url(record) or reverse("crm:activity_list"))
    return render(request, "crm/activities/_section_body.html",
                  {"section": sections.section_for(record, request.user, form), "object": record})


# --- my day --------------------------------------------------------------------------------------


def _render_my_day(request: HttpRequest, *, partial: bool = False, error: str = "") -> HttpResponse:
    days = selectors.bound_days(request.GET.get("days") or request.POST.get("days"))
    day = selectors.my_day(request.user, days=days)
    context = {"day": day, "days": days, "error": error, "today": timezone.localdate(),
               "can_change": access.can(request.user, Activity, "change"),
               "can_add": access.can(request.user, Activity, "add"),
               "complete_form": CompleteForm(), "title": _("My day")}
    template = "crm/activities/_my_day_body.html" if partial else "crm/activities/my_day.html"
    return render(request, template, context)


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """My overdue, today's and upcoming activities, and my records nobody touched for ``?days=N`` (1–365)."""
    require_or_403(request.user, Activity, "view")
    return _render_my_day(request, partial=_is_htmx(request))


# --- calendar ------------------------------------------------------------------------------------

VIEWS = ("week", "month")


def _month_start(day: dt.date, months: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def calendar_range(view: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """The days a view shows: the Monday-to-Sunday week of ``anchor``, or the whole weeks
    (Monday first) covering its month; ``end`` is exclusive."""
    if view == "month":
        first = _month_start(anchor)
        last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
        return first - dt.timedelta(days=first.weekday()), last + dt.timedelta(days=7 - last.weekday())
    start = anchor - dt.timedelta(days=anchor.weekday())
    return start, start + dt.timedelta(days=7)


def _calendar_url(view: str, day: dt.date, subject: User, viewer: Any) -> str:
    params = {"view": view, "date": day.isoformat()}
    if subject.pk != viewer.pk:
        params["user"] = str(subject.pk)
    return reverse("crm:activity_calendar") + "?" + urlencode(params)


@login_required
@require_GET
def activity_calendar(request: HttpRequest) -> HttpResponse:
    """Week (default) or month view of a user's planned and done activities.

    ``?view=week|month``, ``?date=YYYY-MM-DD`` (default today), ``?user=<id>`` for managers:
    only people whose activities the viewer may see are offered and accepted.
    """
    require_or_403(request.user, Activity, "view")
    viewer = actor_of(request)
    view = request.GET.get("view", "week")
    view = view if view in VIEWS else "week"
    today = timezone.localdate()
    try:
        anchor = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        anchor = today
    people = list(selectors.calendar_users(viewer))
    subject = viewer
    wanted = request.GET.get("user", "")
    if wanted.isdigit():
        subject = next((p for p in people if p.pk == int(wanted)), viewer)
    start, end = calendar_range(view, anchor)
    by_day: dict[dt.date, list[Activity]] = {}
    for activity in selectors.calendar_activities(viewer, subject, start, end):
        by_day.setdefault(timezone.localdate(activity.due_at), []).append(activity)
    days = []
    for offset in range((end - start).days):
        day = start + dt.timedelta(days=offset)
        items = by_day.get(day, [])
        days.append({"date": day, "is_today": day == today, "in_month": view == "week" or day.month == anchor.month,
                     "all_day": [a for a in items if a.all_day], "timed": [a for a in items if not a.all_day],
                     "new_url": reverse("crm:activity_create") + f"?date={day.isoformat()}"})
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    if view == "month":
        title = formats.date_format(_month_start(anchor), "YEAR_MONTH_FORMAT")
        prev_day, next_day = _month_start(anchor, -1), _month_start(anchor, 1)
    else:
        title = _("%(start)s – %(end)s") % {"start": formats.date_format(start, "SHORT_DATE_FORMAT"),
                                            "end": formats.date_format(end - dt.timedelta(days=1),
                                                                       "SHORT_DATE_FORMAT")}
        prev_day, next_day = anchor - dt.timedelta(days=7), anchor + dt.timedelta(days=7)
    context = {
        "title": _("Calendar"), "period": title, "view": view, "weeks": weeks, "weekdays": days[:7],
        "subject": subject, "people": people if len(people) > 1 else [],
        "prev_url": _calendar_url(view, prev_day, subject, viewer),
        "next_url": _calendar_url(view, next_day, subject, viewer),
        "today_url": _calendar_url(view, today, subject, viewer),
        "week_url": _calendar_url("week", anchor, subject, viewer),
        "month_url": _calendar_url("month", anchor, subject, viewer),
        "anchor": anchor, "can_add": access.can(viewer, Activity, "add") and subject.pk == viewer.pk,
        "has_all_day": any(d["all_day"] for d in days),
    }
    template = "crm/activities/_calendar.html" if _is_htmx(request) else "crm/activities/calendar.html"
    return render(request, template, context)


# --- the calendar feed ---------------------------------------------------------------------------


def _feed_url(request: HttpRequest, token: str) -> str:
    path = reverse("crm:activity_calendar_feed_ics", args=[token])
    base = str(getattr(settings, "BIZLOOM_SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Create, regenerate or remove my secret calendar feed address. The address (with its
    token) is shown once, right after it is made; only the token's SHA-256 is kept."""
    require_or_403(request.user, Activity, "view")
    user = actor_of(request)
    token = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.revoke_calendar_feed(user, actor=user)
            messages.success(request, _("Your calendar feed was removed; its address no longer works."))
        else:
            token = services.regenerate_calendar_feed(user, actor=user)
    feed = CalendarFeed.objects.filter(user=user).first()
    return render(request, "crm/activities/calendar_feed.html", {
        "title": _("Calendar feed"), "feed": feed, "feed_url": _feed_url(request, token) if token else "",
        "past_days": selectors.FEED_PAST_DAYS, "future_days": selectors.FEED_FUTURE_DAYS})


@require_GET
def calendar_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar document of the feed ``token`` (no session: the secret address is the key).
    404 for an unknown token; only activities the feed's user may view are listed."""
    user = services.calendar_feed_user(token)
    if user is None:
        raise Http404
    base = str(getattr(settings, "BIZLOOM_SITE_URL", "") or "").rstrip("/")
    domain = urlsplit(base).hostname if base else request.get_host().split(":")[0]

    def url_for(activity: Activity) -> str:
        path = _detail_url(activity)
        return f"{base}{path}" if base else request.build_absolute_uri(path)

    body = ical.build_feed(selectors.feed_activities(user), name=_("Bizloom activities of %(user)s") % {
        "user": user.get_full_name() or user.get_username()}, domain=domain or "bizloom", url_for=url_for,
        hidden=access.field_policy(user, Activity, "view").hidden)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="bizloom-activities.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response

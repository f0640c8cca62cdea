"""Permission-scoped reads of activities: lists, a record's activities, my day, the calendar and the feed.

Every read goes through ``access.restrict(..., user, "view")``: a rep sees the activities they
own (own scope), a manager those of their department, and so on. "My" activities are the
ones a user owns or attends, still only among those they may view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bizloom.crm.models import Account, Activity, Contact, Opportunity
from bizloom.platform import access
from bizloom.platform.models import User

UPCOMING_DAYS = 7
STALE_DAYS_DEFAULT, STALE_DAYS_MIN, STALE_DAYS_MAX = 30, 1, 365
STALE_SHOWN = 50
FEED_PAST_DAYS, FEED_FUTURE_DAYS = 90, 365


# --- records an activity can be linked to ----------------------------------------------------


def linkable_models() -> list[type[models.Model]]:
    """Business models an activity may be linked to: those with an owner (accounts, contacts,
    leads, opportunities, contracts, and later orders or tickets), activities excepted."""
    return [m for m in access.business_models() if m is not Activity and access.owner_field(m) is not None]


def record_type(model: type[models.Model]) -> str:
    """The public name of a linkable model: ``crm.account``."""
    return model._meta.label_lower


def linkable_model(name: str) -> type[models.Model] | None:
    """The linkable model called ``name`` (``crm.account``), or None."""
    return next((m for m in linkable_models() if record_type(m) == (name or "").strip().lower()), None)


def resolve_record(user: Any, name: str, pk: Any) -> models.Model | None:
    """The record ``name``/``pk`` when it exists and ``user`` may view it, else None (a record
    outside the user's scope reads exactly like one that does not exist)."""
    model = linkable_model(name)
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    if model is None or not 0 < key < 2**63:
        return None
    return access.restrict(model._default_manager.filter(pk=key), user, "view").first()


def record_condition(obj: models.Model) -> Q:
    """Activities about ``obj``: an account's are all those carrying it as their account (its
    contacts', opportunities', contracts' too); a contact's those linked to it or naming it as
    their contact; any other record's those linked to it."""
    if isinstance(obj, Account):
        return Q(account=obj)
    linked = Q(content_type=ContentType.objects.get_for_model(type(obj)), object_id=str(obj.pk))
    if isinstance(obj, Contact):
        return linked | Q(contact=obj)
    return linked


# --- lists ------------------------------------------------------------------------------------


def list_activities(user: Any, action: str = "view") -> QuerySet[Activity]:
    """Activities ``user`` may ``action``, with owner, account, contact and the linked record loaded."""
    queryset = Activity.objects.select_related("owner", "account", "contact", "content_type").prefetch_related(
        "record")
    return access.restrict(queryset, user, action)


def get_activity(user: Any, pk: int, action: str = "view") -> Activity:
    """One activity, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_activities(user, action), pk=pk)


def record_activities(user: Any, obj: models.Model) -> QuerySet[Activity]:
    """The activities about ``obj`` (see :func:`record_condition`) that ``user`` may view."""
    return list_activities(user).filter(record_condition(obj))


def mine(user: Any, subject: Any = None) -> QuerySet[Activity]:
    """Activities ``subject`` (default ``user``) owns or attends, among those ``user`` may view."""
    subject = subject or user
    attended = Activity.attendees.through.objects.filter(user=subject.pk).values("activity_id")
    return list_activities(user).filter(Q(owner=subject.pk) | Q(pk__in=attended))


def visible_contact_attendees(user: Any, activity: Activity) -> QuerySet[Contact]:
    """The contacts attending ``activity`` that ``user`` may view, by name."""
    return access.restrict(activity.contact_attendees.all(), user, "view").order_by("name", "pk")


# --- time ----------------------------------------------------------------------------------------


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the current time zone, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def today() -> dt.date:
    """Today in the current time zone."""
    return timezone.localdate()


# --- my day ------------------------------------------------------------------------------------


@dataclass
class StaleRecord:
    """A record of mine with no activity for a while; ``last`` is the last activity's time (or None)."""

    record: models.Model
    last: dt.datetime | None


@dataclass
class MyDay:
    """What a user has to do: overdue, today's and the next days' open activities, and records
    that nobody has touched for ``days`` days."""

    overdue: list[Activity]
    today: list[Activity]
    upcoming: list[Activity]
    stale_accounts: list[StaleRecord]
    stale_opportunities: list[StaleRecord]
    days: int


def bound_days(value: Any, default: int = STALE_DAYS_DEFAULT) -> int:
    """``value`` as a number of days within 1–365 (``default`` when it is not a number)."""
    try:
        days = int(value)
    except (TypeError, ValueError):
        return default
    return max(STALE_DAYS_MIN, min(STALE_DAYS_MAX, days))


def _touch_time() -> Any:
    """When an activity touched its record: done → completed, else due, else created."""
    return Coalesce(F("completed_at"), F("due_at"), F("created_at"))


def _stale(queryset: QuerySet[Any], condition: Q, since: dt.datetime) -> list[StaleRecord]:
    """Records of ``queryset`` with no activity (done or planned, not cancelled) touching them since
    ``since``; ``condition`` links an activity to the outer record. Oldest contact first."""
    touching = (Activity.objects.exclude(status=Activity.Status.CANCELLED).filter(condition)
                .annotate(touched=_touch_time()))
    recent = touching.filter(touched__gte=since)
    rows = (queryset.annotate(has_recent=Exists(recent),
                              last=models.Subquery(touching.order_by("-touched").values("touched")[:1]))
            .filter(has_recent=False).order_by(F("last").asc(nulls_first=True), "pk")[:STALE_SHOWN])
    return [StaleRecord(record=row, last=row.last) for row in rows]


def my_day(user: Any, *, days: int = STALE_DAYS_DEFAULT, now: dt.datetime | None = None) -> MyDay:
    """``user``'s day: open activities they own or attend, overdue (due before today), today's
    and the next :data:`UPCOMING_DAYS` days', plus their accounts and open opportunities with no
    activity in the last ``days`` days (bounded 1–365; a planned one in the future counts)."""
    now = now or timezone.now()
    days = bound_days(days)
    start = local_midnight(timezone.localdate(now))
    tomorrow = local_midnight(timezone.localdate(now) + dt.timedelta(days=1))
    horizon = local_midnight(timezone.localdate(now) + dt.timedelta(days=UPCOMING_DAYS + 1))
    open_ = mine(user).filter(status=Activity.Status.PLANNED, due_at__isnull=False).order_by("due_at", "pk")
    since = now - dt.timedelta(days=days)
    stale_accounts: list[StaleRecord] = []
    if access.can(user, Account, "view"):
        accounts = access.restrict(Account.objects.filter(owner=user.pk), user, "view")
        stale_accounts = _stale(accounts, Q(account=OuterRef("pk")), since)
    stale_opportunities: list[StaleRecord] = []
    if access.can(user, Opportunity, "view"):
        opportunities = access.restrict(
            Opportunity.objects.filter(owner=user.pk, stage__kind="open").select_related("account"), user, "view")
        link = Q(content_type=ContentType.objects.get_for_model(Opportunity),
                 object_id=Cast(OuterRef("pk"), models.CharField()))
        stale_opportunities = _stale(opportunities, link, since)
    return MyDay(
        overdue=list(open_.filter(due_at__lt=start)),
        today=list(open_.filter(due_at__gte=start, due_at__lt=tomorrow)),
        upcoming=list(open_.filter(due_at__gte=tomorrow, due_at__lt=horizon)),
        stale_accounts=stale_accounts,
        stale_opportunities=stale_opportunities,
        days=days,
    )


# --- calendar --------------------------------------------------------------------------------


def calendar_users(user: Any) -> QuerySet[User]:
    """People whose calendar ``user`` may open: themselves and every owner of an activity they may
    view (a manager's department, everyone for "all" scope), by name."""
    owners = access.restrict(Activity.objects.filter(owner__isnull=False), user, "view").values("owner")
    return User.objects.filter(Q(pk=user.pk) | Q(pk__in=owners, is_active=True)).order_by(
        "last_name", "first_name", "username")


def calendar_activities(user: Any, subject: Any, start: dt.date, end: dt.date) -> list[Activity]:
    """``subject``'s planned and done activities due from ``start`` up to (not including) ``end``,
    among those ``user`` may view, in time order."""
    return list(mine(user, subject).filter(
        status__in=[Activity.Status.PLANNED, Activity.Status.DONE],
        due_at__gte=local_midnight(start), due_at__lt=local_midnight(end)).order_by("due_at", "pk"))


def feed_activities(user: Any, now: dt.datetime | None = None) -> QuerySet[Activity]:
    """The activities of ``user``'s calendar feed: planned and done ones they own or attend,
    due from 90 days ago to a year ahead, among those they may view."""
    now = now or timezone.now()
    return mine(user).filter(
        status__in=[Activity.Status.PLANNED, Activity.Status.DONE],
        due_at__gte=now - dt.timedelta(days=FEED_PAST_DAYS),
        due_at__lte=now + dt.timedelta(days=FEED_FUTURE_DAYS)).prefetch_related(None).order_by("due_at", "pk")

"""The iCalendar (RFC 5545) feed of a user's activities, written with the ``icalendar`` library.

Tasks become VTODOs (due time, completion), everything else VEVENTs (start, end from the
duration; all-day ones as dates). The library escapes commas, semicolons, backslashes and
newlines and folds lines at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, Todo

from bizloom.crm.models import Activity

PRODUCT_ID = "-//Bizloom//Activities//EN"
DEFAULT_DURATION = dt.timedelta(minutes=30)


def _uid(activity: Activity, domain: str) -> str:
    return f"activity-{activity.pk}@{domain}"


def _description(activity: Activity, hidden: Collection[str] = ()) -> str:
    parts = [getattr(activity, name).strip() for name in ("description", "result") if name not in hidden]
    return "\n\n".join(part for part in parts if part)


def _component(activity: Activity, *, domain: str, url: str, hidden: Collection[str] = ()) -> Event | Todo:
    due = activity.due_at
    assert due is not None  # the feed's selector only returns scheduled activities
    local = timezone.localtime(due)
    done = activity.status == Activity.Status.DONE
    if activity.kind == Activity.Kind.TASK:
        item: Event | Todo = Todo()
        item.add("due", local.date() if activity.all_day else due)
        item.add("status", "COMPLETED" if done else "NEEDS-ACTION")
        if done and activity.completed_at is not None:
            item.add("completed", activity.completed_at)
    else:
        item = Event()
        if activity.all_day:
            item.add("dtstart", local.date())
            days = max(1, -(-(activity.duration_minutes or 0) // (24 * 60)))
            item.add("dtend", local.date() + dt.timedelta(days=days))
            item.add("transp", "TRANSPARENT")
        else:
            minutes = activity.duration_minutes
            item.add("dtstart", due)
            item.add("dtend", due + (dt.timedelta(minutes=minutes) if minutes else DEFAULT_DURATION))
        item.add("status", "CONFIRMED")
    item.add("uid", _uid(activity, domain))
    item.add("dtstamp", activity.updated_at or timezone.now())
    item.add("summary", activity.subject)
    item.add("categories", [str(activity.get_kind_display())])
    description = _description(activity, hidden)
    if description:
        item.add("description", description)
    if activity.location and "location" not in hidden:
        item.add("location", activity.location)
    if url:
        item.add("url", url)
    return item


def build_feed(activities: Iterable[Activity], *, name: str, domain: str, url_for: Callable[[Activity], str],
               hidden: Collection[str] = ()) -> bytes:
    """The ``.ics`` document of ``activities`` (calendar ``name``; UIDs ``activity-<id>@<domain>``;
    ``url_for(activity)`` the absolute address of its page). The description, result and address
    are left out when named in ``hidden`` (the fields the feed's user's roles hide)."""
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    for activity in activities:
        if activity.due_at is None:
            continue
        cal.add_component(_component(activity, domain=domain, url=url_for(activity), hidden=hidden))
    return bytes(cal.to_ical())

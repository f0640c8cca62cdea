"""The activity calendar (week and month views, user picker) and the iCalendar feed (issue #4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from bizloom.crm.activities import services
from bizloom.crm.activities.views import calendar_range
from bizloom.crm.models import CalendarFeed
from bizloom.crm.tests.activities_fixtures import *  # noqa: F403
from bizloom.crm.tests.activities_fixtures import hours_from_now
from bizloom.platform.models import Department

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2030, 1, 16)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _text(response) -> str:
    return response.content.decode()


# --- ranges -------------------------------------------------------------------------------------


def test_weeks_start_on_monday_and_months_cover_whole_weeks():
    # then
    assert calendar_range("week", WEDNESDAY) == (dt.date(2030, 1, 14), dt.date(2030, 1, 21))
    assert calendar_range("week", dt.date(2030, 1, 20)) == (dt.date(2030, 1, 14), dt.date(2030, 1, 21))
    # January 2030 starts on a Tuesday and ends on a Thursday
    assert calendar_range("month", WEDNESDAY) == (dt.date(2029, 12, 31), dt.date(2030, 2, 4))


# --- pages --------------------------------------------------------------------------------------


def test_week_view_shows_the_weeks_activities_with_an_all_day_row(login, rep, rep_account):
    # given
    meeting = services.create_activity({"subject": "技术交流会", "kind": "meeting", "record": rep_account,
                                        "due_at": _at(WEDNESDAY, 14, 30)}, actor=rep)
    thursday = WEDNESDAY + dt.timedelta(days=1)
    services.create_activity({"subject": "展会全天", "all_day": True, "due_at": _at(thursday, 0)}, actor=rep)
    services.create_activity({"subject": "下周的电话", "due_at": _at(WEDNESDAY + dt.timedelta(days=7), 9)}, actor=rep)
    cancelled = services.create_activity({"subject": "取消的会", "due_at": _at(WEDNESDAY, 9)}, actor=rep)
    services.cancel_activity(cancelled, actor=rep)
    # when
    response = login(rep).get(reverse("crm:activity_calendar") + f"?view=week&date={WEDNESDAY.isoformat()}")
    # then
    page = _text(response)
    assert "技术交流会" in page
    assert "14:30" in page
    assert 'class="calendar-all-day"' in page
    assert "展会全天" in page
    assert "下周的电话" not in page
    assert "取消的会" not in page
    assert reverse("crm:activity_detail", args=[meeting.pk]) in page
    assert [d["date"] for d in response.context["weekdays"]][0] == dt.date(2030, 1, 14)
    assert "date=2030-01-09" in response.context["prev_url"]
    assert "date=2030-01-23" in response.context["next_url"]


def test_month_view_places_activities_on_their_days(login, rep):
    # given
    services.create_activity({"subject": "月初例会", "due_at": _at(dt.date(2030, 1, 2), 10)}, actor=rep)
    services.create_activity({"subject": "月末结账", "due_at": _at(dt.date(2030, 1, 31), 16)}, actor=rep)
    services.create_activity({"subject": "二月的事", "due_at": _at(dt.date(2030, 2, 12), 16)}, actor=rep)
    # when
    response = login(rep).get(reverse("crm:activity_calendar") + f"?view=month&date={WEDNESDAY.isoformat()}")
    # then
    weeks = response.context["weeks"]
    assert len(weeks) == 5
    placed = {day["date"]: [a.subject for a in day["timed"]] for week in weeks for day in week if day["timed"]}
    assert placed == {dt.date(2030, 1, 2): ["月初例会"], dt.date(2030, 1, 31): ["月末结账"]}
    assert "date=2029-12-01" in response.context["prev_url"]
    assert "date=2030-02-01" in response.context["next_url"]


def test_htmx_navigation_returns_only_the_calendar(login, rep):
    # when
    response = login(rep).get(reverse("crm:activity_calendar") + "?view=month", HTTP_HX_REQUEST="true")
    # then
    page = _text(response)
    assert page.lstrip().startswith('<div id="calendar"')
    assert "<html" not in page


def test_rep_cannot_open_another_reps_calendar(login, rep, other_rep):
    # given
    services.create_activity({"subject": "她的秘密会议", "due_at": _at(WEDNESDAY, 10)}, actor=other_rep)
    # when
    response = login(rep).get(reverse("crm:activity_calendar") + f"?date={WEDNESDAY}&user={other_rep.pk}")
    # then
    assert response.context["subject"] == rep
    assert response.context["people"] == []
    assert "她的秘密会议" not in _text(response)


def test_manager_picks_people_of_their_department_only(login, root, rep_role, rep, other_rep):
    # given: a manager role with department scope over activities; rep is in the department, other_rep is not
    from django.contrib.auth.models import Group

    from bizloom.crm.models import Activity
    from bizloom.platform.org import services as org

    role = Group.objects.create(name="Manager")
    org.set_role_grant(role, Activity, "view", "department", actor=root)
    department = Department.objects.create(name="华东销售组", path="/1/")
    manager = type(rep).objects.create_user("manager", password="pw-secret-123", department=department)
    manager.groups.add(role)
    department.manager = manager
    department.save()
    rep.department = department
    rep.save()
    services.create_activity({"subject": "李雷的拜访", "due_at": _at(WEDNESDAY, 10)}, actor=rep)
    services.create_activity({"subject": "韩梅梅的拜访", "due_at": _at(WEDNESDAY, 11)}, actor=other_rep)
    client = login(type(rep).objects.get(pk=manager.pk))
    # when
    response = client.get(reverse("crm:activity_calendar") + f"?date={WEDNESDAY}&user={rep.pk}")
    refused = client.get(reverse("crm:activity_calendar") + f"?date={WEDNESDAY}&user={other_rep.pk}")
    # then
    assert {p.username for p in response.context["people"]} == {"manager", "li.lei"}
    assert response.context["subject"] == rep
    assert "李雷的拜访" in _text(response)
    assert refused.context["subject"].username == "manager"
    assert "韩梅梅的拜访" not in _text(refused)


# --- the iCalendar feed ---------------------------------------------------------------------------


def _make_feed(client) -> str:
    response = client.post(reverse("crm:activity_calendar_feed"), {"action": "regenerate"})
    match = re.search(r'value="(https?://[^"]+\.ics)"', _text(response))
    assert match, "the new address is shown"
    return match.group(1).split("testserver", 1)[1]


def test_feed_address_is_shown_once_and_only_its_hash_is_stored(login, rep):
    # given
    client = login(rep)
    # when
    path = _make_feed(client)
    # then
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=rep)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in _text(client.get(reverse("crm:activity_calendar_feed")))


def test_feed_lists_my_activities_as_events_and_todos_with_escaping(login, client, rep, other_rep, rep_account):
    # given
    meeting = services.create_activity({
        "subject": "技术交流会, 第二轮; 报价\\方案", "kind": "meeting", "record": rep_account,
        "due_at": hours_from_now(48), "duration_minutes": 90, "location": "杭州市滨江区江南大道1008号, 3楼",
        "description": "议程：\n1. 需求确认；2. 报价, 交期\n" + "很长的说明" * 30}, actor=rep)
    task = services.create_activity({"subject": "准备报价单", "kind": "task", "due_at": hours_from_now(24)}, actor=rep)
    done = services.create_activity({"subject": "电话回访", "kind": "call", "status": "done",
                                     "due_at": hours_from_now(-30), "result": "客户对报价基本认可"}, actor=rep)
    services.create_activity({"subject": "太久以前", "due_at": hours_from_now(-24 * 100)}, actor=rep)
    services.create_activity({"subject": "别人的会", "due_at": hours_from_now(5)}, actor=other_rep)
    cancelled = services.create_activity({"subject": "已取消", "due_at": hours_from_now(5)}, actor=rep)
    services.cancel_activity(cancelled, actor=rep, end_series=True)
    path = _make_feed(login(rep))
    client.logout()
    # when
    response = client.get(path)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "lines are folded at 75 octets"
    assert "技术交流会\\, 第二轮\\; 报价\\\\方案".encode() in raw.replace(b"\r\n ", b"")
    calendar = Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    todos = {str(t["UID"]): t for t in calendar.walk("VTODO")}
    event = events[f"activity-{meeting.pk}@testserver"]
    assert str(event["SUMMARY"]) == "技术交流会, 第二轮; 报价\\方案"
    assert str(event["LOCATION"]) == "杭州市滨江区江南大道1008号, 3楼"
    assert str(event["DESCRIPTION"]).startswith("议程：\n1. 需求确认；2. 报价, 交期\n")
    assert event.decoded("DTSTART") == meeting.due_at
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(minutes=90)
    assert str(event["URL"]) == f"http://testserver/crm/activities/{meeting.pk}/"
    assert "DTSTAMP" in event
    assert str(todos[f"activity-{task.pk}@testserver"]["STATUS"]) == "NEEDS-ACTION"
    assert str(events[f"activity-{done.pk}@testserver"]["DESCRIPTION"]) == "客户对报价基本认可"
    assert len(events) + len(todos) == 3


def test_feed_applies_access_of_its_user(login, client, rep, rep_account):
    # given: the rep loses permission to view activities
    services.create_activity({"subject": "秘密", "due_at": hours_from_now(5)}, actor=rep)
    path = _make_feed(login(rep))
    rep.groups.clear()
    client.logout()
    # when
    raw = client.get(path).content
    # then
    assert "秘密".encode() not in raw
    assert Calendar.from_ical(raw).walk("VEVENT") == []


def test_wrong_or_regenerated_token_is_404(login, client, rep):
    # given
    first = _make_feed(login(rep))
    second = _make_feed(login(rep))
    client.logout()
    # then
    assert client.get(reverse("crm:activity_calendar_feed_ics", args=["not-a-token"])).status_code == 404
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_removed_feed_stops_working(login, client, rep):
    # given
    path = _make_feed(login(rep))
    # when
    login(rep).post(reverse("crm:activity_calendar_feed"), {"action": "revoke"})
    client.logout()
    # then
    assert client.get(path).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_all_day_activity_is_a_date_event(login, client, rep):
    # given
    activity = services.create_activity({"subject": "广交会", "kind": "visit", "all_day": True,
                                         "due_at": hours_from_now(72)}, actor=rep)
    path = _make_feed(login(rep))
    # when
    calendar = Calendar.from_ical(client.get(path).content)
    # then
    event = calendar.walk("VEVENT")[0]
    start = timezone.localdate(activity.due_at)
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + dt.timedelta(days=1)

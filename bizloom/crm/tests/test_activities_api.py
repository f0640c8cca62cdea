"""The activities API (issue #4): CRUD with filters, complete / check-in / cancel, my day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bizloom.crm.activities import services
from bizloom.crm.models import Activity
from bizloom.crm.tests.activities_fixtures import *  # noqa: F403
from bizloom.crm.tests.activities_fixtures import hours_from_now

pytestmark = pytest.mark.django_db

BASE = "/api/v1/crm"


def _post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_create_links_the_record_and_derives_the_account(login, rep, rep_account, rep_contact):
    # when
    response = _post(login(rep), f"{BASE}/activities", {
        "kind": "meeting", "subject": "技术交流会", "record_type": "crm.contact", "record_id": rep_contact.pk,
        "due_at": "2030-03-04T10:00:00+08:00", "duration_minutes": 60, "contact_attendees": [rep_contact.pk]})
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["record_type"], body["record_id"], body["record_label"]) == ("crm.contact", rep_contact.pk, "张伟")
    assert (body["account"], body["contact"], body["owner"]) == (rep_account.pk, rep_contact.pk, rep.pk)
    assert body["status"] == "planned"
    assert body["contact_attendees"] == [rep_contact.pk]
    assert dt.datetime.fromisoformat(body["due_at"]) == dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)


def test_create_refuses_a_record_out_of_scope_like_a_missing_one(login, rep, other_account):
    # when
    hidden = _post(login(rep), f"{BASE}/activities", {"subject": "x", "record_type": "crm.account",
                                                      "record_id": other_account.pk})
    missing = _post(login(rep), f"{BASE}/activities", {"subject": "x", "record_type": "crm.account",
                                                       "record_id": 987654})
    bad_type = _post(login(rep), f"{BASE}/activities", {"subject": "x", "record_type": "auth.user",
                                                        "record_id": rep.pk})
    # then
    assert hidden.status_code == missing.status_code == bad_type.status_code == 422
    assert hidden.json()["errors"] == missing.json()["errors"] == {"record_id": ["No record with this id."]}
    assert "record_type" in bad_type.json()["errors"]
    assert not Activity.objects.exists()


def test_rule_violations_are_422_with_field_errors(login, rep):
    # when
    response = _post(login(rep), f"{BASE}/activities", {"subject": "每周跟进", "recurrence": "weekly"})
    unknown = _post(login(rep), f"{BASE}/activities", {"subject": "x", "reminded_at": "2030-01-01T00:00:00Z"})
    # then
    assert response.status_code == 422
    assert "due_at" in response.json()["errors"]
    assert unknown.status_code == 422
    assert not Activity.objects.exists()


def test_list_filters_by_kind_status_due_range_record_and_account(login, rep, rep_account, rep_contact):
    # given
    call = services.create_activity({"subject": "电话", "kind": "call", "record": rep_contact,
                                     "due_at": timezone.make_aware(dt.datetime(2030, 1, 10, 10))}, actor=rep)
    visit = services.create_activity({"subject": "拜访", "kind": "visit", "record": rep_account,
                                      "due_at": timezone.make_aware(dt.datetime(2030, 2, 10, 10))}, actor=rep)
    services.create_activity({"subject": "无关任务", "kind": "task"}, actor=rep)
    client = login(rep)

    def ids(query: str) -> list[int]:
        response = client.get(f"{BASE}/activities?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # then
    assert ids("kind=call") == [call.pk]
    assert ids(f"account={rep_account.pk}&ordering=due_at") == [call.pk, visit.pk]
    assert ids("due_from=2030-02-01T00:00:00%2B08:00&due_to=2030-03-01T00:00:00%2B08:00") == [visit.pk]
    assert ids(f"record_type=crm.contact&record_id={rep_contact.pk}") == [call.pk]
    assert ids("status=done") == []
    assert client.get(f"{BASE}/activities?record_type=crm.contact").status_code == 422


def test_rep_lists_only_own_activities_and_gets_404_for_others(login, rep, other_rep):
    # given
    mine = services.create_activity({"subject": "我的"}, actor=rep)
    theirs = services.create_activity({"subject": "她的"}, actor=other_rep)
    client = login(rep)
    # then
    assert [row["id"] for row in client.get(f"{BASE}/activities").json()["results"]] == [mine.pk]
    assert client.get(f"{BASE}/activities/{theirs.pk}").status_code == 404
    assert _post(client, f"{BASE}/activities/{theirs.pk}/complete").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Activity.Status.PLANNED


def test_update_and_delete(login, rep, rep_account):
    # given
    activity = services.create_activity({"subject": "旧主题", "record": rep_account}, actor=rep)
    client = login(rep)
    # when
    patched = client.patch(f"{BASE}/activities/{activity.pk}", {"subject": "新主题", "record_type": None},
                           content_type="application/json")
    # then
    assert patched.status_code == 200, patched.content
    assert (patched.json()["subject"], patched.json()["record_type"], patched.json()["account"]) == (
        "新主题", None, None)
    assert client.delete(f"{BASE}/activities/{activity.pk}").status_code == 204
    assert not Activity.objects.exists()


def test_complete_with_result_and_recurrence(login, rep):
    # given
    activity = services.create_activity({"subject": "每周跟进电话", "kind": "call", "due_at": hours_from_now(1),
                                         "recurrence": "weekly"}, actor=rep)
    client = login(rep)
    # when
    response = _post(client, f"{BASE}/activities/{activity.pk}/complete", {"result": "客户要求下周再报价"})
    again = _post(client, f"{BASE}/activities/{activity.pk}/complete")
    # then
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["result"]) == ("done", "客户要求下周再报价")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    following = Activity.objects.get(series_id=activity.pk)
    assert following.status == Activity.Status.PLANNED


def test_check_in_and_cancel(login, rep):
    # given
    visit = services.create_activity({"subject": "拜访", "kind": "visit", "due_at": hours_from_now(1)}, actor=rep)
    call = services.create_activity({"subject": "电话", "kind": "call"}, actor=rep)
    client = login(rep)
    # when
    checked = _post(client, f"{BASE}/activities/{visit.pk}/check-in", {"location": "上海市浦东新区世纪大道100号"})
    twice = _post(client, f"{BASE}/activities/{visit.pk}/check-in")
    not_visit = _post(client, f"{BASE}/activities/{call.pk}/check-in")
    cancelled = _post(client, f"{BASE}/activities/{call.pk}/cancel", {"end_series": True})
    # then
    assert checked.status_code == 200
    assert checked.json()["location"] == "上海市浦东新区世纪大道100号"
    assert checked.json()["checked_in_at"] is not None
    assert (twice.status_code, twice.json()["code"]) == (409, "already_checked_in")
    assert (not_visit.status_code, not_visit.json()["code"]) == (409, "not_a_visit")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_my_day(login, rep, rep_account):
    # given
    services.create_activity({"subject": "逾期", "due_at": hours_from_now(-48)}, actor=rep)
    services.create_activity({"subject": "明天", "due_at": timezone.make_aware(dt.datetime.combine(
        timezone.localdate() + dt.timedelta(days=1), dt.time(10)))}, actor=rep)
    # when
    response = login(rep).get(f"{BASE}/my-day?days=10")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 10
    assert [row["subject"] for row in body["overdue"]] == ["逾期"]
    assert [row["subject"] for row in body["upcoming"]] == ["明天"]
    assert [row["name"] for row in body["stale_accounts"]] == [rep_account.name]
    assert login(rep).get(f"{BASE}/my-day?days=0").status_code == 422


def test_anonymous_and_unauthorised_callers_are_refused(client, login, outsider, rep):
    # given
    activity = services.create_activity({"subject": "x"}, actor=rep)
    # then
    assert client.get(f"{BASE}/my-day").status_code == 401
    assert login(outsider).get(f"{BASE}/my-day").status_code == 403
    assert _post(login(outsider), f"{BASE}/activities/{activity.pk}/cancel").status_code == 403
    activity.refresh_from_db()
    assert activity.status == Activity.Status.PLANNED

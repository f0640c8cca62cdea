"""Activity pages (issue #4): the section on record pages, the timeline, the list/detail/form pages,
the workflow buttons and my day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bizloom.crm.activities import services
from bizloom.crm.models import Activity, Contract, Lead
from bizloom.crm.tests.activities_fixtures import *  # noqa: F403
from bizloom.crm.tests.activities_fixtures import hours_from_now
from bizloom.platform.detail import sections

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _text(response) -> str:
    return response.content.decode()


# --- the section on record pages ----------------------------------------------------------------


def test_account_page_shows_open_and_done_activities_of_the_account_its_contacts_and_opportunities(
        login, rep, rep_account, rep_contact, rep_opportunity):
    # given
    services.create_activity({"subject": "准备报价单", "kind": "task", "record": rep_account,
                              "due_at": hours_from_now(24)}, actor=rep)
    services.create_activity({"subject": "电话回访张伟", "kind": "call", "record": rep_contact, "status": "done",
                              "due_at": hours_from_now(-3), "result": "客户对报价基本认可，下周安排技术交流"},
                             actor=rep)
    services.create_activity({"subject": "方案评审会", "kind": "meeting", "record": rep_opportunity,
                              "due_at": hours_from_now(48)}, actor=rep)
    # when
    page = _text(login(rep).get(reverse("crm:account_detail", args=[rep_account.pk])))
    # then
    assert 'id="section-activities"' in page
    assert "准备报价单" in page
    assert "方案评审会" in page
    assert "客户对报价基本认可，下周安排技术交流" in page
    assert reverse("crm:activity_quick_create", args=["crm.account", rep_account.pk]) in page


def test_contact_page_shows_its_activities_only(login, rep, rep_account, rep_contact):
    # given
    services.create_activity({"subject": "只属于客户的任务", "record": rep_account}, actor=rep)
    services.create_activity({"subject": "约张伟吃饭", "record": rep_contact}, actor=rep)
    # when
    page = _text(login(rep).get(reverse("crm:contact_detail", args=[rep_contact.pk])))
    # then
    assert 'id="section-activities"' in page
    assert "约张伟吃饭" in page
    assert "只属于客户的任务" not in page


def test_section_is_left_out_without_permission_to_view_activities(login, boss, rep_account):
    # given
    boss.user_permissions.remove(*boss.user_permissions.filter(codename__endswith="_activity"))
    boss = type(boss).objects.get(pk=boss.pk)
    # when
    page = _text(login(boss).get(reverse("crm:account_detail", args=[rep_account.pk])))
    # then
    assert 'id="section-activities"' not in page


def test_section_shows_only_activities_the_user_may_view(login, rep, other_rep, boss, rep_account):
    # given: the boss logged a call on the rep's account; the rep cannot see the boss's activity
    services.create_activity({"subject": "经理亲自致电", "record": rep_account}, actor=boss)
    # when
    page = _text(login(rep).get(reverse("crm:account_detail", args=[rep_account.pk])))
    # then
    assert "经理亲自致电" not in page


def test_quick_log_from_the_section_rerenders_it_with_the_new_activity(login, rep, rep_account):
    # given
    url = reverse("crm:activity_quick_create", args=["crm.account", rep_account.pk])
    # when
    response = login(rep).post(url, {"kind": "call", "subject": "电话沟通交期", "notes": "交期可以提前一周",
                                     "mode": "log"}, **HTMX)
    # then
    assert response.status_code == 200
    assert 'id="activities-section-body"' in _text(response)
    activity = Activity.objects.get()
    assert (activity.status, activity.result, activity.account) == (Activity.Status.DONE, "交期可以提前一周",
                                                                     rep_account)
    assert "交期可以提前一周" in _text(response)


def test_quick_schedule_needs_a_time(login, rep, rep_account):
    # given
    url = reverse("crm:activity_quick_create", args=["crm.account", rep_account.pk])
    # when
    response = login(rep).post(url, {"kind": "task", "subject": "发送资料", "mode": "schedule"}, **HTMX)
    # then
    assert response.status_code == 200
    assert "has-error" in _text(response)
    assert not Activity.objects.exists()
    # and with a time it is planned
    login(rep).post(url, {"kind": "task", "subject": "发送资料", "mode": "schedule",
                          "due_at": "2030-05-06T10:30"}, **HTMX)
    activity = Activity.objects.get()
    assert activity.status == Activity.Status.PLANNED
    assert timezone.localtime(activity.due_at).strftime("%Y-%m-%d %H:%M") == "2030-05-06 10:30"


def test_quick_form_on_a_record_out_of_scope_is_404(login, rep, other_account):
    # when
    response = login(rep).post(reverse("crm:activity_quick_create", args=["crm.account", other_account.pk]),
                               {"kind": "call", "subject": "x", "mode": "log"}, **HTMX)
    # then
    assert response.status_code == 404
    assert not Activity.objects.exists()


def test_complete_button_in_the_section_completes_and_rerenders(login, rep, rep_account):
    # given
    activity = services.create_activity({"subject": "确认合同条款", "record": rep_account,
                                         "due_at": hours_from_now(2)}, actor=rep)
    # when
    response = login(rep).post(reverse("crm:activity_complete", args=[activity.pk]),
                               {"section": f"crm.account:{rep_account.pk}"}, **HTMX)
    # then
    assert response.status_code == 200
    assert 'id="activities-section-body"' in _text(response)
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DONE


def test_done_activities_appear_on_the_records_timeline(login, rep, rep_account):
    # given
    services.create_activity({"subject": "上门拜访", "kind": "visit", "record": rep_account, "status": "done",
                              "due_at": hours_from_now(-5), "result": "了解到明年有扩产计划"}, actor=rep)
    services.create_activity({"subject": "还没做的任务", "record": rep_account}, actor=rep)
    # when
    response = login(rep).get(reverse("crm:account_detail", args=[rep_account.pk]))
    # then
    titles = [str(entry.title) for entry in response.context["timeline"] if entry.kind == "activity"]
    assert titles == ["Visit: 上门拜访"]


# --- list, detail, form ----------------------------------------------------------------------


def test_list_shows_the_reps_activities_with_their_linked_record(login, rep, other_rep, rep_account, other_account):
    # given
    services.create_activity({"subject": "我的拜访", "kind": "visit", "record": rep_account}, actor=rep)
    services.create_activity({"subject": "别人的拜访", "record": other_account}, actor=other_rep)
    # when
    page = _text(login(rep).get(reverse("crm:activity_list")))
    # then
    assert "我的拜访" in page
    assert "杭州恒瑞机械制造有限公司" in page
    assert "别人的拜访" not in page


def test_list_filters_by_kind_and_status(login, rep):
    # given
    services.create_activity({"subject": "电话A", "kind": "call"}, actor=rep)
    done = services.create_activity({"subject": "任务B", "kind": "task"}, actor=rep)
    services.complete_activity(done, actor=rep)
    # when
    page = _text(login(rep).get(reverse("crm:activity_list") + "?kind=task&status=done"))
    # then
    assert "任务B" in page
    assert "电话A" not in page


def test_create_form_links_to_the_record_given_in_the_address(login, rep, rep_contact, rep_account):
    # given
    url = reverse("crm:activity_create") + f"?record_type=crm.contact&record_id={rep_contact.pk}"
    # when
    form = _text(login(rep).get(url))
    response = login(rep).post(url, {"kind": "meeting", "subject": "技术交流会", "record_type": "crm.contact",
                                     "record_id": rep_contact.pk, "due_at": "2030-01-02T09:30",
                                     "duration_minutes": "60", "contact_attendees": [rep_contact.pk]})
    # then
    assert f'value="{rep_contact.pk}"' in form
    activity = Activity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:activity_detail", args=[activity.pk])
    assert (activity.contact, activity.account, activity.owner) == (rep_contact, rep_account, rep)
    assert list(activity.contact_attendees.all()) == [rep_contact]


def test_create_form_refuses_a_record_out_of_scope_like_a_missing_one(login, rep, other_account):
    # when
    response = login(rep).post(reverse("crm:activity_create"), {
        "kind": "call", "subject": "偷偷记录", "record_type": "crm.account", "record_id": other_account.pk})
    # then
    assert response.status_code == 200
    assert "No record with this id." in _text(response)
    assert not Activity.objects.exists()


def test_detail_check_in_and_complete_buttons(login, rep, rep_account):
    # given
    visit = services.create_activity({"subject": "拜访总经理", "kind": "visit", "record": rep_account,
                                      "due_at": hours_from_now(1)}, actor=rep)
    client = login(rep)
    page = _text(client.get(reverse("crm:activity_detail", args=[visit.pk])))
    assert reverse("crm:activity_check_in", args=[visit.pk]) in page
    # when
    client.post(reverse("crm:activity_check_in", args=[visit.pk]), {"location": "杭州市西湖区文三路"})
    client.post(reverse("crm:activity_complete", args=[visit.pk]), {"result": "总经理同意试用"})
    # then
    visit.refresh_from_db()
    assert visit.checked_in_at is not None
    assert visit.location == "杭州市西湖区文三路"
    assert (visit.status, visit.result) == (Activity.Status.DONE, "总经理同意试用")
    page = _text(client.get(reverse("crm:activity_detail", args=[visit.pk])))
    assert reverse("crm:activity_check_in", args=[visit.pk]) not in page
    assert rep_account.name in page


def test_workflow_buttons_need_the_change_permission(login, outsider, rep):
    # given
    activity = services.create_activity({"subject": "x"}, actor=rep)
    # when
    response = login(outsider).post(reverse("crm:activity_complete", args=[activity.pk]))
    # then
    assert response.status_code == 403
    activity.refresh_from_db()
    assert activity.status == Activity.Status.PLANNED


# --- my day --------------------------------------------------------------------------------------


def test_my_day_sorts_my_open_activities_into_overdue_today_and_upcoming(login, rep, other_rep, rep_account):
    # given
    today = timezone.localdate()
    at = lambda day, hour: timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=day),  # noqa: E731
                                                                   dt.time(hour, 0)))
    services.create_activity({"subject": "逾期任务", "due_at": at(-2, 10)}, actor=rep)
    services.create_activity({"subject": "今天的电话", "due_at": at(0, 12)}, actor=rep)
    services.create_activity({"subject": "下周三会议", "due_at": at(5, 9)}, actor=rep)
    services.create_activity({"subject": "太远的任务", "due_at": at(20, 9)}, actor=rep)
    services.create_activity({"subject": "别人的任务", "due_at": at(0, 9)}, actor=other_rep)
    services.create_activity({"subject": "我参加的会", "kind": "meeting", "due_at": at(1, 15)}, actor=rep)
    done = services.create_activity({"subject": "已完成", "due_at": at(0, 8)}, actor=rep)
    services.complete_activity(done, actor=rep)
    # when
    response = login(rep).get(reverse("crm:activity_my_day"))
    # then
    day = response.context["day"]
    assert [a.subject for a in day.overdue] == ["逾期任务"]
    assert [a.subject for a in day.today] == ["今天的电话"]
    assert [a.subject for a in day.upcoming] == ["我参加的会", "下周三会议"]
    assert "逾期任务" in _text(response)


def test_my_day_lists_my_records_without_recent_activity(login, rep, rep_account, rep_opportunity):
    # given: another account of mine had a call 40 days ago; the first one has a planned call
    quiet = type(rep_account).objects.create(name="苏州博远电子有限公司", owner=rep)
    services.create_activity({"subject": "老电话", "record": quiet, "status": "done",
                              "due_at": hours_from_now(-24 * 40)}, actor=rep)
    services.create_activity({"subject": "计划电话", "record": rep_account, "due_at": hours_from_now(48)}, actor=rep)
    # when
    default = login(rep).get(reverse("crm:activity_my_day")).context["day"]
    wide = login(rep).get(reverse("crm:activity_my_day") + "?days=60").context["day"]
    clamped = login(rep).get(reverse("crm:activity_my_day") + "?days=9999").context["day"]
    # then
    assert [row.record for row in default.stale_accounts] == [quiet]
    assert default.stale_accounts[0].last is not None
    assert [row.record for row in default.stale_opportunities] == [rep_opportunity]
    assert wide.stale_accounts == []
    assert wide.days == 60
    assert clamped.days == 365


def test_my_day_complete_button_rerenders_my_day(login, rep):
    # given
    activity = services.create_activity({"subject": "今天要做", "due_at": hours_from_now(0.5)}, actor=rep)
    # when
    response = login(rep).post(reverse("crm:activity_complete", args=[activity.pk]), {"from": "my-day"}, **HTMX)
    # then
    assert response.status_code == 200
    assert 'id="my-day"' in _text(response)
    assert "今天要做" not in _text(response)
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DONE


def test_my_day_is_in_the_navigation(login, rep):
    # when
    page = _text(login(rep).get(reverse("crm:activity_my_day")))
    # then
    assert f'href="{reverse("crm:activity_my_day")}"' in page
    assert f'href="{reverse("crm:activity_calendar")}"' in page


def test_section_is_registered_on_leads_opportunities_and_contracts(rep, rep_opportunity):
    # given
    services.create_activity({"subject": "商机跟进", "record": rep_opportunity}, actor=rep)
    # when
    shown = sections.for_record(rep_opportunity, rep)
    # then
    assert [s["key"] for s in shown if s["key"] == "activities"] == ["activities"]
    section = next(s for s in shown if s["key"] == "activities")
    assert [a.subject for a in section["data"]["open"]] == ["商机跟进"]
    for model in (Lead, Contract):
        assert any(m is model and s.key == "activities" for m, s in sections._sections)


def test_list_page_queries_do_not_grow_with_rows(login, rep, rep_account, rep_contact, rep_opportunity,
                                                 django_assert_max_num_queries):
    # given
    client = login(rep)
    for record in (rep_account, rep_contact, rep_opportunity):
        services.create_activity({"subject": "第一批", "record": record}, actor=rep)
    client.get(reverse("crm:activity_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("crm:activity_list"))
    for index in range(12):
        record = (rep_account, rep_contact, rep_opportunity)[index % 3]
        services.create_activity({"subject": f"第二批{index}", "record": record}, actor=rep)
    # when / then
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("crm:activity_list"))

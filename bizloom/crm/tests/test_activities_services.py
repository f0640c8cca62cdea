"""Activity services (issue #4): linking, account derivation, access, workflow and recurrence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bizloom.common.errors import DomainError, InvalidTransition, ValidationFailed
from bizloom.crm.activities import selectors, services
from bizloom.crm.models import Activity, Lead
from bizloom.crm.tests.activities_fixtures import *  # noqa: F403
from bizloom.crm.tests.activities_fixtures import hours_from_now
from bizloom.platform.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


# --- linking and derivation ---------------------------------------------------------------------


def test_activity_on_an_account_carries_the_account(rep, rep_account):
    # when
    activity = services.create_activity({"subject": "电话回访", "kind": "call", "record": rep_account}, actor=rep)
    # then
    activity.refresh_from_db()
    assert activity.record == rep_account
    assert activity.account == rep_account
    assert activity.contact is None
    assert activity.owner == rep
    assert activity.status == Activity.Status.PLANNED


def test_activity_on_a_contact_carries_the_contact_and_its_primary_account(rep, rep_account, rep_contact):
    # when
    activity = services.create_activity({"subject": "确认需求", "record": rep_contact}, actor=rep)
    # then
    assert (activity.account, activity.contact) == (rep_account, rep_contact)


def test_activity_on_an_opportunity_carries_its_account_and_contact(rep, rep_opportunity, rep_account, rep_contact):
    # when
    activity = services.create_activity({"subject": "方案评审会", "kind": "meeting", "record": rep_opportunity},
                                        actor=rep)
    # then
    assert activity.record == rep_opportunity
    assert (activity.account, activity.contact) == (rep_account, rep_contact)


def test_activity_on_a_converted_lead_carries_the_converted_account(rep, rep_account, rep_contact):
    # given
    lead = Lead.objects.create(name="张伟", company="杭州恒瑞", owner=rep, status="converted",
                               converted_account=rep_account, converted_contact=rep_contact)
    # when
    activity = services.create_activity({"subject": "转化后回访", "record": lead}, actor=rep)
    # then
    assert (activity.account, activity.contact) == (rep_account, rep_contact)


def test_relinking_derives_the_account_again(rep, rep_account, rep_contact):
    # given
    other = type(rep_account).objects.create(name="宁波鼎盛贸易有限公司", owner=rep)
    activity = services.create_activity({"subject": "拜访", "record": rep_contact}, actor=rep)
    # when
    services.update_activity(activity, {"record": other}, actor=rep)
    # then
    activity.refresh_from_db()
    assert (activity.account, activity.contact) == (other, None)


def test_linking_a_record_the_actor_may_not_view_is_refused_and_writes_nothing(events, rep, other_account):
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.create_activity({"subject": "偷看", "record": other_account}, actor=rep)
    # then
    assert failure.value.code == "reference_not_visible"
    assert "record" in failure.value.fields
    assert Activity.objects.count() == 0
    assert events.names() == []


def test_contact_attendees_must_be_visible(rep, other_rep, other_account):
    # given
    hidden = type(other_account).contacts.rel.related_model.objects.create(name="陈静", account=other_account,
                                                                          owner=other_rep)
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.create_activity({"subject": "会议", "kind": "meeting", "contact_attendees": [hidden]}, actor=rep)
    # then
    assert "contact_attendees" in failure.value.fields
    assert Activity.objects.count() == 0


def test_meeting_attendees_are_stored_and_audited(events, rep, other_rep, rep_account, rep_contact):
    # when
    activity = services.create_activity({"subject": "技术交流会", "kind": "meeting", "record": rep_account,
                                         "attendees": [other_rep], "contact_attendees": [rep_contact]}, actor=rep)
    # then
    assert list(activity.attendees.all()) == [other_rep]
    assert list(activity.contact_attendees.all()) == [rep_contact]
    entry = AuditEntry.objects.get(object_id=str(activity.pk), action=AuditEntry.Action.CREATE)
    assert entry.changes["attendees"][1] == [{"id": other_rep.pk, "repr": str(other_rep)}]
    assert events.names() == ["crm.activity.created"]


def test_the_audit_trail_names_the_linked_record_not_its_type_and_id(rep, rep_account):
    # when
    activity = services.create_activity({"subject": "回访", "record": rep_account}, actor=rep)
    # then
    entry = AuditEntry.objects.get(object_id=str(activity.pk), action=AuditEntry.Action.CREATE)
    assert entry.changes["record"] == [None, {"id": rep_account.pk, "repr": rep_account.name}]
    assert "content_type" not in entry.changes
    assert "object_id" not in entry.changes


# --- access ----------------------------------------------------------------------------------


def test_rep_sees_only_their_own_activities(rep, other_rep, boss, rep_account, other_account):
    # given
    mine = services.create_activity({"subject": "我的电话", "record": rep_account}, actor=rep)
    theirs = services.create_activity({"subject": "她的电话", "record": other_account}, actor=other_rep)
    # then
    assert list(selectors.list_activities(rep)) == [mine]
    assert list(selectors.list_activities(other_rep)) == [theirs]
    assert set(selectors.list_activities(boss)) == {mine, theirs}


def test_record_activities_of_an_account_include_its_contacts_and_opportunities(
        rep, rep_account, rep_contact, rep_opportunity):
    # given
    on_account = services.create_activity({"subject": "A", "record": rep_account}, actor=rep)
    on_contact = services.create_activity({"subject": "B", "record": rep_contact}, actor=rep)
    on_opportunity = services.create_activity({"subject": "C", "record": rep_opportunity}, actor=rep)
    # then
    assert set(selectors.record_activities(rep, rep_account)) == {on_account, on_contact, on_opportunity}
    assert set(selectors.record_activities(rep, rep_contact)) == {on_contact, on_opportunity}
    assert set(selectors.record_activities(rep, rep_opportunity)) == {on_opportunity}


# --- validation ------------------------------------------------------------------------------


def test_a_repeating_activity_needs_a_due_date(rep):
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.create_activity({"subject": "每周跟进", "recurrence": "weekly"}, actor=rep)
    # then
    assert "due_at" in failure.value.fields
    assert Activity.objects.count() == 0


def test_the_repetition_cannot_end_before_it_starts(rep):
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.create_activity({"subject": "每周跟进", "recurrence": "weekly", "due_at": hours_from_now(48),
                                  "recurrence_until": timezone.localdate() - dt.timedelta(days=1)}, actor=rep)
    # then
    assert list(failure.value.fields) == ["recurrence_until"]


def test_unknown_fields_and_statuses_are_refused(rep):
    # when / then
    with pytest.raises(DomainError) as unknown:
        services.create_activity({"subject": "x", "reminded_at": timezone.now()}, actor=rep)
    assert unknown.value.code == "unknown_fields"
    with pytest.raises(ValidationFailed) as status:
        services.create_activity({"subject": "x", "status": "cancelled"}, actor=rep)
    assert list(status.value.fields) == ["status"]


def test_all_day_activities_are_due_at_local_midnight(rep):
    # when
    activity = services.create_activity({"subject": "展会", "all_day": True,
                                         "due_at": timezone.make_aware(dt.datetime(2025, 6, 3, 15, 30))}, actor=rep)
    # then
    local = timezone.localtime(activity.due_at)
    assert (local.date(), local.time()) == (dt.date(2025, 6, 3), dt.time(0, 0))


def test_logging_a_past_call_completes_it_at_its_time(rep, rep_account):
    # given
    when = hours_from_now(-26)
    # when
    activity = services.create_activity({"subject": "电话回访", "kind": "call", "record": rep_account,
                                         "status": "done", "due_at": when, "result": "客户对报价基本认可"}, actor=rep)
    # then
    assert activity.status == Activity.Status.DONE
    assert activity.completed_at == when


def test_moving_the_due_time_rearms_the_reminder(rep):
    # given
    activity = services.create_activity({"subject": "报价", "due_at": hours_from_now(2),
                                         "remind_at": hours_from_now(1)}, actor=rep)
    Activity.objects.filter(pk=activity.pk).update(reminded_at=timezone.now())
    # when
    services.update_activity(activity, {"due_at": hours_from_now(30), "remind_at": hours_from_now(29)}, actor=rep)
    # then
    activity.refresh_from_db()
    assert activity.reminded_at is None


def test_an_update_that_changes_nothing_records_nothing(events, rep):
    # given
    activity = services.create_activity({"subject": "报价"}, actor=rep)
    # when
    services.update_activity(activity, {"subject": "报价"}, actor=rep)
    # then
    assert events.names() == ["crm.activity.created"]


# --- workflow ----------------------------------------------------------------------------------


def test_complete_records_the_result_and_publishes_completed(events, rep, rep_account):
    # given
    activity = services.create_activity({"subject": "电话", "record": rep_account, "due_at": hours_from_now(1)},
                                        actor=rep)
    # when
    services.complete_activity(activity, actor=rep, result=" 客户对报价基本认可，下周安排技术交流 ")
    # then
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DONE
    assert activity.result == "客户对报价基本认可，下周安排技术交流"
    assert activity.completed_at is not None
    assert events.names() == ["crm.activity.created", "crm.activity.completed"]
    completed = events.last("crm.activity.completed")
    assert completed.next_id is None
    assert completed.account_id == rep_account.pk


def test_completing_twice_is_refused(rep):
    # given
    activity = services.create_activity({"subject": "电话"}, actor=rep)
    services.complete_activity(activity, actor=rep)
    # when
    with pytest.raises(InvalidTransition):
        services.complete_activity(activity, actor=rep)
    # then
    assert Activity.objects.count() == 1


def test_completing_a_weekly_activity_schedules_the_next_in_the_same_series(events, rep, rep_account, other_rep):
    # given
    due = hours_from_now(2)
    first = services.create_activity({
        "subject": "每周跟进电话", "kind": "call", "record": rep_account, "due_at": due, "remind_at": due -
        dt.timedelta(minutes=15), "recurrence": "weekly", "attendees": [other_rep],
        "recurrence_until": timezone.localdate(due) + dt.timedelta(days=8)}, actor=rep)
    # when
    services.complete_activity(first, actor=rep, result="已沟通")
    # then
    second = Activity.objects.exclude(pk=first.pk).get()
    assert second.status == Activity.Status.PLANNED
    assert second.series_id == first.pk
    assert second.due_at == due + dt.timedelta(days=7)
    assert second.remind_at == second.due_at - dt.timedelta(minutes=15)
    assert (second.account, second.record, second.owner) == (rep_account, rep_account, rep)
    assert list(second.attendees.all()) == [other_rep]
    assert second.result == ""
    assert events.last("crm.activity.completed").next_id == second.pk
    # the next completion would fall after the end date: the series ends
    services.complete_activity(second, actor=rep)
    third = Activity.objects.exclude(pk__in=[first.pk, second.pk])
    assert not third.exists()


def test_monthly_recurrence_keeps_the_day_or_uses_the_month_end():
    # given
    jan31 = timezone.make_aware(dt.datetime(2025, 1, 31, 10, 0))
    # then
    assert services.next_due(jan31, "monthly") == timezone.make_aware(dt.datetime(2025, 2, 28, 10, 0))
    assert services.next_due(timezone.make_aware(dt.datetime(2024, 12, 15, 9, 0)), "monthly") == \
        timezone.make_aware(dt.datetime(2025, 1, 15, 9, 0))
    assert services.next_due(jan31, "daily") == timezone.make_aware(dt.datetime(2025, 2, 1, 10, 0))


def test_a_late_completed_daily_activity_skips_the_passed_days(rep):
    # given
    activity = services.create_activity({"subject": "日报", "due_at": hours_from_now(-24 * 5 - 1),
                                         "recurrence": "daily"}, actor=rep)
    # when
    services.complete_activity(activity, actor=rep)
    # then
    following = Activity.objects.exclude(pk=activity.pk).get()
    assert timezone.now() < following.due_at <= timezone.now() + dt.timedelta(days=1)
    assert following.series_id == activity.pk


def test_cancel_skips_one_occurrence_or_ends_the_series(rep):
    # given
    weekly = services.create_activity({"subject": "每周例会", "due_at": hours_from_now(3), "recurrence": "weekly"},
                                      actor=rep)
    # when
    services.cancel_activity(weekly, actor=rep)
    # then
    following = Activity.objects.get(series_id=weekly.pk)
    assert Activity.objects.get(pk=weekly.pk).status == Activity.Status.CANCELLED
    # when the next one is cancelled with end_series
    services.cancel_activity(following, actor=rep, end_series=True)
    # then
    assert Activity.objects.filter(status=Activity.Status.PLANNED).count() == 0


def test_check_in_stamps_the_time_and_address(events, rep, rep_account):
    # given
    visit = services.create_activity({"subject": "拜访客户", "kind": "visit", "record": rep_account,
                                      "location": "杭州市滨江区江南大道1008号"}, actor=rep)
    # when
    services.check_in(visit, actor=rep, location="杭州市余杭区文一西路969号")
    # then
    visit.refresh_from_db()
    assert visit.checked_in_at is not None
    assert visit.location == "杭州市余杭区文一西路969号"
    assert events.names() == ["crm.activity.created", "crm.activity.updated"]
    # a second check-in is refused
    with pytest.raises(services.AlreadyCheckedIn):
        services.check_in(visit, actor=rep)


def test_only_visits_are_checked_in(rep):
    # given
    call = services.create_activity({"subject": "电话", "kind": "call"}, actor=rep)
    # when
    with pytest.raises(services.ActivityNotAVisit):
        services.check_in(call, actor=rep, location="somewhere")
    # then
    call.refresh_from_db()
    assert (call.checked_in_at, call.location) == (None, "")


def test_transfer_gives_activities_to_another_rep(events, rep, other_rep, boss):
    # given
    activities = [services.create_activity({"subject": f"任务{i}"}, actor=rep) for i in range(2)]
    # when
    changed = services.transfer_activities(activities, other_rep, actor=boss)
    # then
    assert changed == 2
    assert set(Activity.objects.values_list("owner", flat=True)) == {other_rep.pk}
    assert events.names().count("crm.activity.owner_changed") == 2


def test_delete_removes_the_activity_and_keeps_later_occurrences(events, rep):
    # given
    first = services.create_activity({"subject": "周报", "due_at": hours_from_now(1), "recurrence": "weekly"},
                                     actor=rep)
    services.complete_activity(first, actor=rep)
    # when
    services.delete_activity(first, actor=rep)
    # then
    remaining = Activity.objects.get()
    assert remaining.series_id is None
    assert "crm.activity.deleted" in events.names()

"""Activity reminders (issue #4): the scheduled job sends each due reminder once, in-app and by
e-mail through a real SMTP server (aiosmtpd on loopback), as each user's preference allows."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy

import pytest
from django.test import override_settings
from django.utils import timezone

from bizloom.crm.activities import reminders, services
from bizloom.crm.models import Activity
from bizloom.crm.tests.activities_fixtures import *  # noqa: F403
from bizloom.crm.tests.activities_fixtures import hours_from_now
from bizloom.platform import scheduler
from bizloom.platform.notifications import services as notifications
from bizloom.platform.notifications.models import Notification

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is a dev dependency")

pytestmark = pytest.mark.django_db


class Inbox:
    """aiosmtpd handler keeping every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                               EMAIL_PORT=controller.port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="",
                               EMAIL_HOST_PASSWORD="", DEFAULT_FROM_EMAIL="bizloom@example.com"):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def due_meeting(rep, other_rep, rep_account):
    """A meeting due in 15 minutes whose reminder time (a minute ago) has come; other_rep attends."""
    activity = services.create_activity({
        "subject": "技术交流会：数控系统方案, 第二轮; 报价", "kind": "meeting", "record": rep_account,
        "due_at": hours_from_now(0.25), "remind_at": hours_from_now(-1 / 60), "attendees": [other_rep],
        "location": "杭州市滨江区江南大道1008号"}, actor=rep)
    return activity


def test_the_reminder_job_is_registered_every_minute():
    # then
    job = next(job for job in scheduler.registered_jobs() if job.name == "crm.activity_reminders")
    assert job.every == dt.timedelta(minutes=1)
    assert job.task is reminders.queue_activity_reminders


def test_job_sends_the_reminder_once_to_owner_and_attendees_by_mail_and_in_app(
        smtp_server, due_meeting, rep, other_rep, django_capture_on_commit_callbacks):
    # when: the job runs twice (two schedulers, or the next minute)
    with django_capture_on_commit_callbacks(execute=True):
        first = reminders.queue_activity_reminders.call()
    with django_capture_on_commit_callbacks(execute=True):
        second = reminders.queue_activity_reminders.call()
    # then
    assert (first, second) == (1, 0)
    due_meeting.refresh_from_db()
    assert due_meeting.reminded_at is not None
    received = smtp_server.messages()
    assert sorted(m["To"] for m in received) == ["han.meimei@example.com", "li.lei@example.com"]
    body = received[0].get_content()
    assert "技术交流会：数控系统方案, 第二轮; 报价" in body
    assert "杭州市滨江区江南大道1008号" in body
    assert f"/crm/activities/{due_meeting.pk}/" in body
    bells = Notification.objects.filter(kind="crm.activity_reminder").order_by("recipient__username")
    assert [n.recipient for n in bells] == [other_rep, rep]
    assert all("技术交流会" in n.message and n.url == f"/crm/activities/{due_meeting.pk}/" for n in bells)


def test_a_reminder_claimed_by_another_worker_is_not_sent_again(due_meeting, rep):
    # when: two workers run the task for the same activity
    assert reminders.send_reminder(due_meeting.pk) is True
    assert reminders.send_reminder(due_meeting.pk) is False
    # then
    assert Notification.objects.filter(kind="crm.activity_reminder", recipient=rep).count() == 1


def test_reminders_not_yet_due_done_or_cancelled_are_not_sent(rep):
    # given
    later = services.create_activity({"subject": "明天的电话", "due_at": hours_from_now(25),
                                      "remind_at": hours_from_now(24)}, actor=rep)
    done = services.create_activity({"subject": "已完成", "due_at": hours_from_now(1),
                                     "remind_at": hours_from_now(-1)}, actor=rep)
    services.complete_activity(done, actor=rep)
    cancelled = services.create_activity({"subject": "已取消", "due_at": hours_from_now(1),
                                          "remind_at": hours_from_now(-1)}, actor=rep)
    services.cancel_activity(cancelled, actor=rep)
    # when
    sent = reminders.queue_activity_reminders.call()
    # then
    assert sent == 0
    assert Notification.objects.filter(kind="crm.activity_reminder").count() == 0
    assert Activity.objects.filter(pk__in=[later.pk, done.pk, cancelled.pk], reminded_at__isnull=False).count() == 0


def test_the_reminder_respects_each_users_preference(smtp_server, due_meeting, rep, other_rep,
                                                     django_capture_on_commit_callbacks):
    # given: the owner wants reminders in the app only, the attendee by e-mail only
    notifications.set_preferences(rep, {reminders.REMINDER_KIND: (True, False)}, actor=rep)
    notifications.set_preferences(other_rep, {reminders.REMINDER_KIND: (False, True)}, actor=other_rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        reminders.queue_activity_reminders.call()
    # then
    assert [m["To"] for m in smtp_server.messages()] == ["han.meimei@example.com"]
    assert list(Notification.objects.filter(kind="crm.activity_reminder").values_list("recipient", flat=True)) == [
        rep.pk]


def test_the_reminder_says_what_is_due_when(due_meeting, rep):
    # when
    reminders.send_reminder(due_meeting.pk)
    # then
    message = Notification.objects.get(kind="crm.activity_reminder", recipient=rep).message
    assert "技术交流会：数控系统方案, 第二轮; 报价" in message
    assert timezone.localtime(due_meeting.due_at).strftime("%H:%M") in message


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_the_reminder_once(rep_role, rep):
    """Concurrency is proven on PostgreSQL (SQLite's in-memory test database serialises writers)."""
    # given
    from django.db import connection as default_connection

    from bizloom.common.testing import run_together

    if default_connection.vendor != "postgresql":
        pytest.skip("row-level races are proven on PostgreSQL")
    activity = services.create_activity({"subject": "并发提醒", "due_at": hours_from_now(1),
                                         "remind_at": hours_from_now(-0.1)}, actor=rep)
    # when
    results, errors = run_together(2, lambda _worker: reminders.send_reminder(activity.pk))
    # then
    assert errors == []
    assert sorted(sent for sent in results if sent is not None) == [False, True]
    assert Notification.objects.filter(kind="crm.activity_reminder", recipient=rep).count() == 1
    default_connection.close()

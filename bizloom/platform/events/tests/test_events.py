"""Domain events: registry, publish, outbox delivery with retries, and the outbox page (issue #3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import pytest
from django.urls import reverse
from django.utils import timezone

from bizloom.platform import scheduler
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events import DomainEvent, publish
from bizloom.platform.events import services as outbox
from bizloom.platform.events.base import event_type
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.models import User


@dataclass(frozen=True)
class ParcelShipped(DomainEvent):
    name: ClassVar[str] = "tests.parcel.shipped"
    parcel_id: int
    labels: tuple[str, ...] = ()


@pytest.fixture
def staff(db) -> User:
    from django.contrib.auth.models import Permission

    user = User.objects.create_user(username="ops", password="pw-secret-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_outboxmessage"))
    return user


def fail_always(event):
    raise ConnectionError("endpoint down")


def publish_committed(event, django_capture_on_commit_callbacks) -> list[OutboxMessage]:
    with django_capture_on_commit_callbacks(execute=True):
        return publish(event)


# --- registry and publish -------------------------------------------------------------------

def test_event_payload_round_trips_through_json():
    # given
    event = ParcelShipped(parcel_id=7, labels=("fragile", "express"))
    # when
    rebuilt = event_type("tests.parcel.shipped").from_payload(event.payload())
    # then
    assert event.payload() == {"parcel_id": 7, "labels": ["fragile", "express"]}
    assert rebuilt == event


def test_event_with_a_non_json_field_is_refused(db):
    # given
    event = ParcelShipped(parcel_id=object())  # type: ignore[arg-type]
    # when
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        publish(event)
    # then
    assert OutboxMessage.objects.count() == 0


def test_subscribing_another_handler_under_a_taken_name_is_refused(subscribe):
    # given
    subscribe(ParcelShipped, print, name="tests.printer")
    # when / then
    with pytest.raises(ValueError, match="already subscribed"):
        subscribe(ParcelShipped, fail_always, name="tests.printer")


def test_unknown_mode_is_refused(subscribe):
    # when / then
    with pytest.raises(ValueError, match="mode"):
        subscribe(ParcelShipped, print, mode="later", name="tests.later")


def test_sync_handler_runs_inside_publish(db, subscribe):
    # given
    seen = []
    subscribe(ParcelShipped, seen.append, name="tests.seen")
    # when
    messages = publish(ParcelShipped(parcel_id=1))
    # then
    assert seen == [ParcelShipped(parcel_id=1)]
    assert messages == []
    assert OutboxMessage.objects.count() == 0


def test_sync_handler_exception_propagates(db, subscribe):
    # given
    subscribe(ParcelShipped, fail_always, name="tests.fail_sync")
    # when / then
    with pytest.raises(ConnectionError):
        publish(ParcelShipped(parcel_id=1))


# --- outbox delivery ------------------------------------------------------------------------

def test_async_handler_is_delivered_after_commit(db, subscribe, django_capture_on_commit_callbacks):
    # given
    seen = []
    subscribe(ParcelShipped, seen.append, mode="async", name="tests.async_seen")
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        [message] = publish(ParcelShipped(parcel_id=3, labels=("a",)))
    # then
    assert (len(callbacks), seen) == (1, [])
    # when
    callbacks[0]()
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.handler) == ("delivered", 1, "tests.async_seen")
    assert seen == [ParcelShipped(parcel_id=3, labels=("a",))]


def test_failing_async_handler_is_retried_with_backoff_then_fails(db, subscribe, django_capture_on_commit_callbacks):
    # given
    subscribe(ParcelShipped, fail_always, mode="async", name="tests.fail_async")
    before = timezone.now()
    [message] = publish_committed(ParcelShipped(parcel_id=1), django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "ConnectionError: endpoint down")
    assert before + timedelta(seconds=30) <= message.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    # when: the sweep runs before the retry is due
    delivered = outbox.deliver_due()
    # then: nothing is attempted
    message.refresh_from_db()
    assert (delivered, message.attempts) == (0, 1)
    # when: the sweep runs each time the retry is due
    delays = []
    while message.status == OutboxMessage.Status.PENDING:
        previous = timezone.now()
        outbox.deliver_due(now=message.next_attempt_at)
        message.refresh_from_db()
        if message.status == OutboxMessage.Status.PENDING:
            delays.append(round((message.next_attempt_at - previous).total_seconds() / 30))
    # then
    assert delays == [2, 4, 8, 16, 32, 64]
    assert (message.status, message.attempts, message.last_error) == ("failed", 8, "ConnectionError: endpoint down")
    assert message.delivered_at is None


def test_failing_handler_writes_are_undone_but_the_attempt_is_recorded(db, subscribe,
                                                                        django_capture_on_commit_callbacks):
    # given
    def half_done(event):
        User.objects.create_user(username="side-effect")
        raise RuntimeError("crashed halfway")

    subscribe(ParcelShipped, half_done, mode="async", name="tests.half_done")
    # when
    [message] = publish_committed(ParcelShipped(parcel_id=1), django_capture_on_commit_callbacks)
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "RuntimeError: crashed halfway")
    assert not User.objects.filter(username="side-effect").exists()


def test_message_without_a_registered_handler_fails_with_a_clear_error(db):
    # given
    message = OutboxMessage.objects.create(event_name="tests.parcel.shipped", payload={"parcel_id": 1},
                                           handler="tests.gone")
    # when
    outbox.deliver_due()
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error == "LookupError: No handler named 'tests.gone' is subscribed"


def test_handlers_run_with_the_automation_channel(db, subscribe, django_capture_on_commit_callbacks):
    # given
    from bizloom.platform.middleware_context import current_channel

    channels = []
    subscribe(ParcelShipped, lambda event: channels.append(current_channel()), mode="async", name="tests.channel")
    # when
    publish_committed(ParcelShipped(parcel_id=1), django_capture_on_commit_callbacks)
    # then
    assert channels == ["automation"]


def test_sweep_is_a_registered_periodic_job():
    # when
    jobs = {job.name: job for job in scheduler.load_jobs()}
    # then
    assert jobs["events.sweep_outbox"].every == timedelta(minutes=1)


# --- the outbox page ----------------------------------------------------------------------



def test_outbox_page_lists_failed_and_pending_messages(client, staff):
    # given
    OutboxMessage.objects.create(event_name="tests.parcel.shipped", handler="tests.failed", status="failed",
                                 attempts=8, last_error="ConnectionError: endpoint down")
    OutboxMessage.objects.create(event_name="tests.parcel.shipped", handler="tests.pending", attempts=2,
                                 last_error="TimeoutError: slow")
    OutboxMessage.objects.create(event_name="tests.parcel.shipped", handler="tests.delivered", status="delivered")
    client.force_login(staff)
    # when
    response = client.get(reverse("events:outbox"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [m.handler for m in response.context["failed"]] == ["tests.failed"]
    assert [m.handler for m in response.context["pending"]] == ["tests.pending"]
    assert "ConnectionError: endpoint down" in html
    assert "TimeoutError: slow" in html
    assert "tests.delivered" not in html


def test_outbox_page_is_for_staff_only(client, db):
    # given
    clerk = User.objects.create_user(username="clerk", password="pw-secret-123")
    # when
    anonymous = client.get(reverse("events:outbox"))
    client.force_login(clerk)
    forbidden = client.get(reverse("events:outbox"))
    # then
    assert anonymous.status_code == 302
    assert forbidden.status_code == 403


def test_retry_delivers_a_failed_message(client, staff, subscribe, django_capture_on_commit_callbacks):
    # given
    seen = []
    subscribe(ParcelShipped, seen.append, mode="async", name="tests.fixed")
    message = OutboxMessage.objects.create(event_name="tests.parcel.shipped", payload={"parcel_id": 9},
                                           handler="tests.fixed", status="failed", attempts=8,
                                           last_error="ConnectionError: endpoint down")
    client.force_login(staff)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("events:outbox_retry", args=[message.pk]))
    # then
    assert (response.status_code, response["Location"]) == (302, reverse("events:outbox"))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1)
    assert seen == [ParcelShipped(parcel_id=9)]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.changes) == ("events.outbox.retried", staff,
                                                          {"status": ["failed", "pending"], "attempts": [8, 0],
                                                           "next_attempt_at": entry.changes["next_attempt_at"]})


def test_retry_of_a_delivered_message_is_refused(client, staff):
    # given
    message = OutboxMessage.objects.create(event_name="tests.parcel.shipped", handler="tests.x", status="delivered",
                                           attempts=1)
    client.force_login(staff)
    # when
    response = client.post(reverse("events:outbox_retry", args=[message.pk]), follow=True)
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1)
    assert "This message was already delivered." in response.content.decode()
    assert AuditEntry.objects.count() == 0


def test_retry_needs_post(client, staff):
    # given
    message = OutboxMessage.objects.create(event_name="tests.parcel.shipped", handler="tests.x", status="failed")
    client.force_login(staff)
    # when
    response = client.get(reverse("events:outbox_retry", args=[message.pk]))
    # then
    assert response.status_code == 405
    message.refresh_from_db()
    assert message.status == "failed"

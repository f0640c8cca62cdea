"""Batch delivery of the outbox: a subscription with a batch handler gets its due messages in
groups, one transaction each, with the guarantees of delivering them one at a time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from bizloom.common.testing import run_together
from bizloom.platform.events import DomainEvent, publish, publish_many
from bizloom.platform.events import services as outbox
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.models import User


@dataclass(frozen=True)
class CratePacked(DomainEvent):
    name: ClassVar[str] = "tests.crate.packed"
    crate_id: int


class Packer:
    """A handler pair that labels each crate (one user row per crate, so a crate handled twice
    or a write that was not undone shows) and refuses the crates in ``damaged``."""

    def __init__(self, *damaged: int) -> None:
        self.damaged = set(damaged)
        self.one_by_one: list[int] = []
        self.batch_calls: list[list[int]] = []
        self.channels: list[str] = []
        self.pause = 0.0  # seconds the batch handler takes before writing

    def one(self, event: CratePacked) -> None:
        User.objects.create_user(username=f"crate-{event.crate_id}")
        if event.crate_id in self.damaged:
            raise ValueError(f"crate {event.crate_id} is damaged")
        self.one_by_one.append(event.crate_id)

    def many(self, events: list[CratePacked]) -> None:
        from bizloom.platform.middleware_context import current_channel

        self.batch_calls.append([event.crate_id for event in events])
        self.channels.append(current_channel())
        time.sleep(self.pause)
        for event in events:
            User.objects.create_user(username=f"crate-{event.crate_id}")
            if event.crate_id in self.damaged:
                raise ValueError(f"crate {event.crate_id} is damaged")


def labelled() -> list[str]:
    return sorted(User.objects.filter(username__startswith="crate-").values_list("username", flat=True))


def statuses() -> list[tuple[int, str, int]]:
    return [(m.payload["crate_id"], m.status, m.attempts) for m in OutboxMessage.objects.order_by("pk")]


@pytest.fixture
def packer(subscribe) -> Packer:
    packer = Packer()
    subscribe(CratePacked, packer.one, mode="async", name="tests.packer", batch=packer.many)
    return packer


def queue(*crate_ids: int) -> list[OutboxMessage]:
    """Publish the events, committed for the test, without the after-commit delivery (what the
    worker's sweep then finds due)."""
    return [message for crate_id in crate_ids for message in publish(CratePacked(crate_id=crate_id))]


def test_due_messages_of_a_batch_subscription_are_delivered_in_one_call(db, packer):
    # given
    queue(1, 2, 3)
    # when
    delivered = outbox.deliver_due()
    # then
    assert delivered == 3
    assert (packer.batch_calls, packer.one_by_one) == ([[1, 2, 3]], [])
    assert statuses() == [(1, "delivered", 1), (2, "delivered", 1), (3, "delivered", 1)]
    assert OutboxMessage.objects.filter(delivered_at=None).count() == 0
    assert labelled() == ["crate-1", "crate-2", "crate-3"]
    # when: the sweep runs again
    again = outbox.deliver_due()
    # then: nothing is delivered twice
    assert (again, packer.batch_calls) == (0, [[1, 2, 3]])


def test_batch_handler_runs_with_the_automation_channel(db, packer):
    # given
    queue(1, 2)
    # when
    outbox.deliver_due()
    # then
    assert packer.channels == ["automation"]


def test_a_failing_batch_is_delivered_one_by_one_and_only_the_bad_message_is_retried(db, subscribe):
    # given
    packer = Packer(2)
    subscribe(CratePacked, packer.one, mode="async", name="tests.packer", batch=packer.many)
    queue(1, 2, 3)
    before = timezone.now()
    # when
    delivered = outbox.deliver_due()
    # then: the batch's writes were undone; each message got its own attempt
    assert delivered == 2
    assert (packer.batch_calls, packer.one_by_one) == ([[1, 2, 3]], [1, 3])
    assert statuses() == [(1, "delivered", 1), (2, "pending", 1), (3, "delivered", 1)]
    assert labelled() == ["crate-1", "crate-3"]
    bad = OutboxMessage.objects.get(payload__crate_id=2)
    assert bad.last_error == "ValueError: crate 2 is damaged"
    assert before + timedelta(seconds=30) <= bad.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    # when: it keeps failing at each retry
    while bad.status == OutboxMessage.Status.PENDING:
        outbox.deliver_due(now=bad.next_attempt_at)
        bad.refresh_from_db()
    # then
    assert (bad.status, bad.attempts, bad.last_error) == ("failed", outbox.MAX_ATTEMPTS,
                                                          "ValueError: crate 2 is damaged")
    assert packer.one_by_one == [1, 3]
    assert labelled() == ["crate-1", "crate-3"]


def test_a_message_whose_event_cannot_be_rebuilt_fails_alone(db, packer):
    # given
    queue(1)
    OutboxMessage.objects.create(event_name="tests.crate.lost", payload={"crate_id": 2}, handler="tests.packer")
    queue(3)
    # when
    delivered = outbox.deliver_due()
    # then
    assert delivered == 2
    assert (packer.batch_calls, packer.one_by_one) == ([], [1, 3])
    assert statuses() == [(1, "delivered", 1), (2, "pending", 1), (3, "delivered", 1)]
    assert (OutboxMessage.objects.get(payload__crate_id=2).last_error
            == "LookupError: No event type named 'tests.crate.lost' is loaded")


def test_batches_hold_at_most_batch_size_messages_and_other_handlers_get_theirs_one_by_one(db, packer, subscribe,
                                                                                              monkeypatch):
    # given: each crate has a message for the packer (batch) and for a plain handler
    plain: list[int] = []
    subscribe(CratePacked, lambda event: plain.append(event.crate_id), mode="async", name="tests.plain")
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    queue(1, 2, 3)
    # when
    delivered = outbox.deliver_due()
    # then: a group of two, then the third crate alone through the one-event handler
    assert delivered == 6
    assert (packer.batch_calls, packer.one_by_one, plain) == ([[1, 2]], [3], [1, 2, 3])
    assert OutboxMessage.objects.exclude(status="delivered").count() == 0


def test_a_batch_handler_must_be_async(subscribe):
    # when / then
    with pytest.raises(ValueError, match="mode='async'"):
        subscribe(CratePacked, print, mode="sync", name="tests.sync_batch", batch=print)


# --- messages carrying several events (publish_many) -------------------------------------------

def carried() -> list[tuple[list[int], str, int]]:
    """Each outbox row as (its crates, status, attempts), in order."""
    return [([p["crate_id"] for p in m.payloads()], m.status, m.attempts) for m in OutboxMessage.objects.order_by("pk")]


def test_publish_many_writes_one_row_per_batch_size_events_of_a_handler(db, packer, subscribe, monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    # given: a plain async handler beside the batch one, and batches of two
    subscribe(CratePacked, lambda event: None, mode="async", name="tests.plain")
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    # when
    with django_capture_on_commit_callbacks() as enqueued:
        ids = publish_many([CratePacked(crate_id=crate) for crate in (1, 2, 3)])
    # then: each handler's crates in order, two to a row; a lone event is the row publish() writes
    rows = list(OutboxMessage.objects.order_by("pk"))
    assert [(m.handler, m.event_count, m.payload) for m in rows] == [
        ("tests.packer", 2, [{"crate_id": 1}, {"crate_id": 2}]), ("tests.packer", 1, {"crate_id": 3}),
        ("tests.plain", 2, [{"crate_id": 1}, {"crate_id": 2}]), ("tests.plain", 1, {"crate_id": 3})]
    assert ids == [m.pk for m in rows]
    assert {(m.status, m.attempts, m.last_error, m.delivered_at) for m in rows} == {("pending", 0, "", None)}
    assert len(enqueued) == len(ids)  # one delivery task per row


def test_a_message_of_several_events_is_one_call_of_the_batch_handler(db, packer, subscribe):
    # given: the packer has a batch handler, the plain handler has none
    plain: list[int] = []
    subscribe(CratePacked, lambda event: plain.append(event.crate_id), mode="async", name="tests.plain")
    publish_many([CratePacked(crate_id=crate) for crate in (1, 2, 3)])
    # when
    delivered = outbox.deliver_due()
    # then: every event, in order, each once
    assert delivered == 6
    assert (packer.batch_calls, packer.one_by_one, plain) == ([[1, 2, 3]], [], [1, 2, 3])
    assert carried() == [([1, 2, 3], "delivered", 1), ([1, 2, 3], "delivered", 1)]
    assert labelled() == ["crate-1", "crate-2", "crate-3"]
    assert outbox.deliver_due() == 0


def test_a_failing_message_of_several_events_is_split_and_only_the_bad_event_is_retried(db, subscribe):
    # given
    packer = Packer(2)
    subscribe(CratePacked, packer.one, mode="async", name="tests.packer", batch=packer.many)
    publish_many([CratePacked(crate_id=crate) for crate in (1, 2, 3)])
    created_at = OutboxMessage.objects.get().created_at
    # when
    delivered = outbox.deliver_due()
    # then: the batch's writes were undone, then one message per crate, each with its own attempt
    assert delivered == 2
    assert (packer.batch_calls, packer.one_by_one) == ([[1, 2, 3]], [1, 3])
    assert carried() == [([1], "delivered", 1), ([2], "pending", 1), ([3], "delivered", 1)]
    assert labelled() == ["crate-1", "crate-3"]
    bad = OutboxMessage.objects.get(status="pending")
    assert (bad.event_count, bad.payload, bad.last_error) == (1, {"crate_id": 2}, "ValueError: crate 2 is damaged")
    assert bad.created_at == created_at
    # when: the crate is mended and the retry comes
    packer.damaged.clear()
    assert outbox.deliver_due(now=bad.next_attempt_at) == 1
    # then
    assert packer.one_by_one == [1, 3, 2]
    assert labelled() == ["crate-1", "crate-2", "crate-3"]


def test_the_outbox_page_says_how_many_events_a_message_carries(db, client, subscribe):
    # given
    subscribe(CratePacked, lambda event: None, mode="async", name="tests.plain")
    publish_many([CratePacked(crate_id=crate) for crate in (1, 2, 3)])
    admin = User.objects.create_superuser("outbox-admin", "a@example.com", "pw")
    client.force_login(admin)
    # when
    page = client.get(reverse("events:outbox")).content.decode()
    # then
    assert "tests.crate.packed</code> <span class=\"muted\">(3 events)</span>" in page


# --- concurrent workers (row locks are proven on PostgreSQL) -----------------------------------

def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL (SQLite has one writer at a time)")


def outbox_rows(*crate_ids: int) -> list[OutboxMessage]:
    return OutboxMessage.objects.bulk_create([
        OutboxMessage(event_name=CratePacked.name, payload={"crate_id": crate_id}, handler="tests.packer")
        for crate_id in crate_ids])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_locked_by_another_worker_is_left_out_of_the_batch(packer):
    # given: another worker holds message 2
    needs_postgresql()
    held = outbox_rows(1, 2, 3)[1]
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(pk=held.pk))
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        # when
        delivered = outbox.deliver_due()
    finally:
        release.set()
        thread.join(timeout=30)
    # then
    assert delivered == 2
    assert packer.batch_calls == [[1, 3]]
    assert statuses() == [(1, "delivered", 1), (2, "pending", 0), (3, "delivered", 1)]
    # when: the lock is gone
    assert outbox.deliver_due() == 1
    # then
    assert packer.one_by_one == [2]
    assert labelled() == ["crate-1", "crate-2", "crate-3"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_deliver_each_message_once(packer):
    # given
    needs_postgresql()
    outbox_rows(1, 2, 3, 4, 5)
    packer.pause = 0.3  # the first batch holds its locks while the other worker arrives
    # when
    results, errors = run_together(2, lambda _worker: outbox.deliver_due())
    # then
    assert errors == []
    assert sum(count or 0 for count in results) == 5
    assert sorted(crate for call in packer.batch_calls for crate in call) == [1, 2, 3, 4, 5]
    assert statuses() == [(crate, "delivered", 1) for crate in (1, 2, 3, 4, 5)]
    assert labelled() == [f"crate-{crate}" for crate in (1, 2, 3, 4, 5)]

"""Delivering the outbox: run async handlers, retry with backoff, let people retry failures."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError
from bizloom.platform.audit import services as audit
from bizloom.platform.events.base import enqueue_delivery, event_type, subscription
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.middleware_context import CHANNEL_AUTOMATION, use_channel
from bizloom.platform.models import User

logger = logging.getLogger("bizloom.events")

MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=6)
BATCH_SIZE = 100
ERROR_MAX = 4000


class OutboxMessageNotRetryable(DomainError):
    """Only pending and failed messages can be retried."""

    code = "outbox_message_not_retryable"


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failures: 30 s, 1 min, 2 min, ... ≤ 6 h."""
    delay: timedelta = RETRY_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, RETRY_MAX)


def deliver_due(message_ids: Iterable[int] | None = None, *, now: datetime | None = None,
                limit: int = BATCH_SIZE) -> int:
    """Deliver due pending messages (only ``message_ids`` when given, at most ``limit`` messages);
    returns how many events were delivered.

    Each message is handled in its own transaction holding a lock on its row
    (``select_for_update(skip_locked=True)`` on PostgreSQL, so concurrent workers skip
    each other's rows; SQLite has one writer at a time anyway). The handler runs in a
    savepoint with the "automation" channel: if it raises, its writes are undone, the
    error is stored in ``last_error`` and the message is rescheduled after
    :func:`retry_delay`, or marked failed after ``MAX_ATTEMPTS``. Never raises for a
    handler's exception.

    The single-event messages of a subscription with a ``batch`` handler are delivered together
    instead (:func:`_deliver_group`, up to ``BATCH_SIZE`` per transaction), in their due order, and
    so is a message carrying several events (``publish_many``); when the batch handler raises, the
    events are delivered one by one as above (a message of several is first split into messages of
    one), so each one gets its own attempt, error and backoff.
    """
    now = now or timezone.now()
    query = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
    if message_ids is not None:
        query = query.filter(pk__in=list(message_ids))
    due = list(query.order_by("next_attempt_at", "pk").values_list("pk", "handler", "event_count")[:limit])
    delivered = 0
    for handler, pks in _groups(due):
        if handler is None:
            delivered += _deliver_one(pks[0], now)
        else:
            delivered += _deliver_group(handler, pks, now)
    return delivered


def _groups(due: list[tuple[int, str, int]]) -> list[tuple[str | None, list[int]]]:
    """``due`` (pk, handler name, event count) cut into deliveries: ``(name, pks)`` for two to
    ``BATCH_SIZE`` single-event messages of a subscription with a batch handler, ``(None, [pk])``
    for any other message (also the only due one of such a subscription, and a message carrying
    several events, which is a group already). A delivery comes where its first message was in ``due``."""
    groups: list[tuple[str | None, list[int]]] = []
    batched: dict[str, list[int]] = {}
    for pk, name, count in due:
        registered = subscription(name)
        if count > 1 or registered is None or registered.batch is None:
            groups.append((None, [pk]))
            continue
        group = batched.get(name)
        if group is None or len(group) >= BATCH_SIZE:
            group = batched[name] = []
            groups.append((name, group))
        group.append(pk)
    return [(None, pks) if name is not None and len(pks) == 1 else (name, pks) for name, pks in groups]


def _locked(pk: int, now: datetime) -> OutboxMessage | None:
    return _lock_due(OutboxMessage.objects.filter(pk=pk), now).first()


def _lock_due(query: QuerySet[OutboxMessage], now: datetime) -> QuerySet[OutboxMessage]:
    """``query``'s messages that are still pending and due, locked for this transaction (skipping
    rows another worker holds, where the database can)."""
    query = query.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    return query


def _handle(handler: str, messages: list[OutboxMessage]) -> None:
    """Call subscription ``handler`` for the events of ``messages``, in order: its batch handler once
    for them all when it has one and they are more than one, else its handler for each."""
    registered = subscription(handler)
    if registered is None:
        raise LookupError(f"No handler named {handler!r} is subscribed")
    events = [event_type(m.event_name).from_payload(payload) for m in messages for payload in m.payloads()]
    with use_channel(CHANNEL_AUTOMATION):
        if registered.batch is not None and len(events) > 1:
            registered.batch(events)
        else:
            for event in events:
                registered.handler(event)


def _deliver_one(pk: int, now: datetime) -> int:
    """Deliver message ``pk`` if it is still due; returns how many events were delivered."""
    with transaction.atomic():
        message = _locked(pk, now)
        if message is None:
            return 0  # delivered meanwhile, or another worker holds it
        message.attempts += 1
        try:
            with transaction.atomic():
                _handle(message.handler, [message])
        except Exception as error:
            if message.event_count > 1:
                logger.warning("Delivery of outbox message %s (%s ×%s → %s) failed, delivering its events one by "
                               "one: %s", message.pk, message.event_name, message.event_count, message.handler,
                               _error_text(error))
                singles = _split(message, now)
            else:
                _record_failure(message, error)
                return 0
        else:
            message.status = OutboxMessage.Status.DELIVERED
            message.delivered_at = timezone.now()
            message.save(update_fields=["attempts", "status", "delivered_at"])
            return message.event_count
    return sum(_deliver_one(single, now) for single in singles)


def _error_text(error: Exception) -> str:
    return "".join(traceback.format_exception_only(error)).strip()


def _record_failure(message: OutboxMessage, error: Exception) -> None:
    message.last_error = _error_text(error)[:ERROR_MAX]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxMessage.Status.FAILED
        logger.error("Outbox message %s (%s → %s) failed for good after %s attempts: %s", message.pk,
                     message.event_name, message.handler, message.attempts, message.last_error)
    else:
        message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
        logger.warning("Outbox message %s (%s → %s) failed, attempt %s: %s", message.pk,
                       message.event_name, message.handler, message.attempts, message.last_error)
    message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])


def _split(message: OutboxMessage, now: datetime) -> list[int]:
    """Replace a message of several events by one message per event, due at ``now``, in the same
    order (so that a failing event waits and is retried alone, and the others are not held back by
    it); returns their keys."""
    singles = OutboxMessage.objects.bulk_create([
        OutboxMessage(event_name=message.event_name, payload=payload, handler=message.handler,
                      created_at=message.created_at, next_attempt_at=now)
        for payload in message.payloads()])
    message.delete()
    return [single.pk for single in singles]


def _deliver_group(handler: str, pks: list[int], now: datetime) -> int:
    """Deliver the single-event messages ``pks`` of subscription ``handler`` with one call of its
    batch handler, in one transaction holding their row locks; returns how many were delivered.

    The messages no longer pending and due, or locked by another worker, are left out. The batch
    handler runs in a savepoint with the "automation" channel and gets the events in due order;
    when it (or rebuilding an event) raises, its writes are undone and each message is then
    delivered on its own (:func:`_deliver_one`, one transaction each), which records the failures.
    """
    with transaction.atomic():
        messages = list(_lock_due(OutboxMessage.objects.filter(pk__in=pks, handler=handler), now)
                        .order_by("next_attempt_at", "pk"))
        if not messages:
            return 0
        try:
            with transaction.atomic():
                _handle(handler, messages)
        except Exception as error:
            logger.warning("Batch delivery of %s outbox messages to %s failed, delivering them one by one: %s",
                           len(messages), handler, _error_text(error))
        else:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
                attempts=F("attempts") + 1, status=OutboxMessage.Status.DELIVERED, delivered_at=timezone.now())
            return len(messages)
    return sum(_deliver_one(m.pk, now) for m in messages)


@transaction.atomic
def retry_message(message: OutboxMessage, *, actor: User) -> OutboxMessage:
    """Make a pending or failed message due now (a failed one gets a fresh set of attempts).

    Records an audit entry ``events.outbox.retried`` and enqueues delivery after commit.
    Raises OutboxMessageNotRetryable for a delivered message.
    """
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.status == OutboxMessage.Status.DELIVERED:
        raise OutboxMessageNotRetryable(_("This message was already delivered."))
    before = audit.snapshot(message)
    message.status = OutboxMessage.Status.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit.record_change(message, actor=actor, action="events.outbox.retried", before=before,
                        after=audit.snapshot(message))
    transaction.on_commit(lambda: enqueue_delivery([message.pk]), robust=True)
    return message

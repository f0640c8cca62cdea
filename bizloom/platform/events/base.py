"""Typed domain events, the handler registry and ``publish`` (issue #3).

An event is a frozen dataclass with a ``name`` and JSON-serialisable fields::

    @dataclass(frozen=True)
    class AccountCreated(DomainEvent):
        name: ClassVar[str] = "crm.account.created"
        account_id: int

Handlers are registered once, in an app's ``handlers.py`` (imported by EventsConfig.ready)::

    subscribe(AccountCreated, post_welcome_task, mode="async", name="crm.welcome_task")

and services publish inside their transaction::

    publish(AccountCreated(account_id=account.pk))

``sync`` handlers run immediately, inside the caller's transaction; their exceptions
propagate and roll the business action back (use them for consequences that must be atomic).
``async`` handlers get an outbox row in the same transaction; after commit the
``deliver_outbox`` task runs them, retrying failures, and they can never undo the action.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.db import transaction

if TYPE_CHECKING:
    from bizloom.platform.events.models import OutboxMessage

logger = logging.getLogger("bizloom.events")

SYNC = "sync"
ASYNC = "async"
Mode = Literal["sync", "async"]

_event_types: dict[str, type[DomainEvent]] = {}


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event: subclasses are frozen dataclasses with a ClassVar ``name``.

    ``name`` is ``<app>.<model>.<past verb>``; it is unique across the project and is
    what the outbox stores. Fields must be JSON-serialisable (ids, strings, numbers,
    booleans, lists); tuple fields come back as tuples after an outbox round trip.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return  # an abstract intermediate class
        existing = _event_types.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"Event name {name!r} is already used by {existing.__module__}.{existing.__qualname__}")
        _event_types[name] = cls

    def payload(self) -> dict[str, Any]:
        """The event's fields as JSON data; raises TypeError if a field is not JSON-serialisable."""
        data = dataclasses.asdict(self)
        try:
            return dict(json.loads(json.dumps(data)))
        except (TypeError, ValueError) as error:
            raise TypeError(f"{type(self).__name__} has a field that is not JSON-serialisable: {error}") from error

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DomainEvent:
        """Rebuild an event from :meth:`payload` output (lists become tuples for tuple fields)."""
        values = {}
        for field in dataclasses.fields(cls):
            if field.name not in payload:
                continue
            value = payload[field.name]
            if isinstance(value, list) and str(field.type).startswith(("tuple", "typing.Tuple")):
                value = tuple(value)
            values[field.name] = value
        return cls(**values)


def event_type(name: str) -> type[DomainEvent]:
    """The event class registered under ``name``; raises LookupError if none is."""
    try:
        return _event_types[name]
    except KeyError:
        raise LookupError(f"No event type named {name!r} is loaded") from None


Handler = Callable[[Any], Any]


BatchHandler = Callable[[list[Any]], Any]


@dataclass(frozen=True)
class Subscription:
    """``handler`` reacts to events named ``event_name``; ``name`` identifies it in the outbox.

    ``batch`` (async only), when given, takes a list of such events and must do what calling
    ``handler`` for each of them in turn does: the outbox delivers due messages to it in groups.
    """

    event_name: str
    handler: Handler
    mode: str
    name: str
    batch: BatchHandler | None = None


_subscriptions: dict[str, Subscription] = {}
_lock = threading.Lock()


def _default_handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', type(handler).__name__)}"


def subscribe(event_cls: type[DomainEvent], handler: Handler, *, mode: Mode = "sync",
              name: str | None = None, batch: BatchHandler | None = None) -> Subscription:
    """Register ``handler(event)`` for events of ``event_cls``.

    ``name`` (default: the handler's dotted path) is stored in outbox rows, so keep it
    stable across releases. Registering the same name and handlers again is a no-op;
    another handler under a taken name raises ValueError, as do an unknown mode and an
    event class without a ``name``.

    ``batch(events)`` (async handlers only; ValueError for a sync one) is an optional faster
    equivalent of calling ``handler`` for each event in turn: the worker delivers up to
    ``services.BATCH_SIZE`` due messages of this subscription to it in one transaction, and
    falls back to ``handler`` one message at a time when it raises.
    """
    if mode not in (SYNC, ASYNC):
        raise ValueError(f"mode must be 'sync' or 'async', not {mode!r}")
    if not getattr(event_cls, "name", ""):
        raise ValueError(f"{event_cls!r} has no event name")
    if batch is not None and mode != ASYNC:
        raise ValueError("A batch handler is delivered from the outbox: subscribe it with mode='async'")
    subscription = Subscription(event_name=event_cls.name, handler=handler, mode=mode,
                                name=name or _default_handler_name(handler), batch=batch)
    with _lock:
        existing = _subscriptions.get(subscription.name)
        if existing is not None:
            if existing == subscription:
                return existing
            raise ValueError(f"A handler named {subscription.name!r} is already subscribed")
        _subscriptions[subscription.name] = subscription
    return subscription


def unsubscribe(name: str) -> None:
    """Remove the handler registered as ``name`` (tests use this); unknown names are ignored."""
    with _lock:
        _subscriptions.pop(name, None)


def subscription(name: str) -> Subscription | None:
    """The registered handler called ``name``, if any."""
    with _lock:
        return _subscriptions.get(name)


def subscriptions_for(event_name: str) -> list[Subscription]:
    """Handlers of ``event_name`` in registration order."""
    with _lock:
        return [s for s in _subscriptions.values() if s.event_name == event_name]


def publish(event: DomainEvent) -> list[OutboxMessage]:
    """Run sync handlers now and queue async ones through the outbox; returns the outbox rows.

    Call it inside the service's transaction. Sync handlers' exceptions propagate (the
    caller's transaction rolls back). For async handlers one ``OutboxMessage`` per handler
    is written in the current transaction, and after commit the ``deliver_outbox`` task is
    enqueued for them (a failure to enqueue is logged; the periodic sweep delivers later).
    Raises TypeError when the event's fields are not JSON-serialisable.
    """
    from bizloom.platform.events.models import OutboxMessage

    payload = event.payload()
    handlers = subscriptions_for(event.name)
    messages = [OutboxMessage.objects.create(event_name=event.name, payload=payload, handler=s.name)
                for s in handlers if s.mode == ASYNC]
    for s in handlers:
        if s.mode == SYNC:
            s.handler(event)
    if messages:
        transaction.on_commit(partial(enqueue_delivery, [m.pk for m in messages]), robust=True)
    return messages


_FLAT_TYPES = frozenset({int, str, bool, type(None)})


def _payload(event: DomainEvent, names: tuple[str, ...]) -> dict[str, Any]:
    """``event.payload()``; for an event whose fields are all ints, strings, booleans or None (ids,
    mostly) that is the fields as they are, which it returns without the JSON round trip."""
    values = {}
    for name in names:
        value = values[name] = getattr(event, name)
        if type(value) not in _FLAT_TYPES:
            return event.payload()
    return values


def publish_many(events: Sequence[DomainEvent], *, insert_values: Callable[..., list[Any]] | None = None,
                 after_write: Callable[[Callable[[], None]], None] | None = None) -> list[int]:
    """:func:`publish` for many events at once (bulk writers such as the importer); returns the outbox ids.

    The same handler calls as ``publish`` for each event in turn, but an async handler's events of
    one name go into one outbox row per :data:`~bizloom.platform.events.services.BATCH_SIZE` (what
    one ``deliver_outbox`` run delivers; ``OutboxMessage.event_count``, the fields' list as
    ``payload``), and each such row is delivered as one call of the subscription's batch handler
    (or of its handler for each event in turn). A lone event gets the row ``publish`` writes. Rows
    are written together before the sync handlers run (in event order); delivery is enqueued after
    commit once per row. ``insert_values(model, names, rows, returning=True)`` (the importer's
    multi-row INSERT, returning the new keys in row order) writes the rows without model instances;
    without it they go through ``bulk_create``. A writer that writes those rows later (the
    importer's background writer) passes ``after_write``, which takes each synchronous handler
    call to make once the rows are written.
    """
    from bizloom.platform.events.models import OutboxMessage
    from bizloom.platform.events.services import BATCH_SIZE

    handlers_by_name: dict[str, tuple[list[Subscription], tuple[str, ...]]] = {}
    queued: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (event name, handler) → payloads
    sync: list[tuple[Subscription, DomainEvent]] = []
    for event in events:
        known = handlers_by_name.get(event.name)
        if known is None:
            known = handlers_by_name[event.name] = (subscriptions_for(event.name),
                                                    tuple(f.name for f in dataclasses.fields(event)))
        handlers, names = known
        if not handlers:
            continue
        payload = _payload(event, names)
        for s in handlers:
            if s.mode == ASYNC:
                queued.setdefault((event.name, s.name), []).append(payload)
            else:
                sync.append((s, event))
    rows: list[tuple[str, Any, str, int]] = []
    for (name, handler), payloads in queued.items():
        for start in range(0, len(payloads), BATCH_SIZE):
            part = payloads[start:start + BATCH_SIZE]
            rows.append((name, part if len(part) > 1 else part[0], handler, len(part)))
    ids: list[int] = []
    if rows:
        if insert_values is None:
            messages = OutboxMessage.objects.bulk_create(
                [OutboxMessage(event_name=name, payload=payload, handler=handler, event_count=count)
                 for name, payload, handler, count in rows])
            ids = [m.pk for m in messages]
        else:
            # The other columns get what OutboxMessage() would give them: each field's default,
            # made once for the lot where it is a callable (timezone.now: one time for rows
            # written by one statement in one transaction).
            given = ("event_name", "payload", "handler", "event_count")
            defaults = [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key and f.name not in given]
            columns = (*given, *(f.name for f in defaults))
            constant = tuple(f.get_default() for f in defaults)
            ids = insert_values(OutboxMessage, columns, [(*row, *constant) for row in rows], returning=True)
    for s, event in sync:
        if after_write is None:
            s.handler(event)
        else:
            after_write(partial(s.handler, event))
    for pk in ids:
        transaction.on_commit(partial(enqueue_delivery, [pk]), robust=True)
    return ids


def enqueue_delivery(message_ids: list[int] | None = None) -> None:
    """Enqueue the ``deliver_outbox`` task (on queue "default") for ``message_ids`` (None: all due)."""
    from bizloom.platform.events.tasks import deliver_outbox

    try:
        deliver_outbox.enqueue(message_ids=message_ids)
    except Exception:
        logger.exception("Could not enqueue outbox delivery of %s; the periodic sweep will deliver them", message_ids)

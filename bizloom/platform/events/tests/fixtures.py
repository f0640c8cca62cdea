"""Fixtures of the event tests: temporary subscriptions that are removed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bizloom.platform.events import base


@pytest.fixture
def subscribe() -> Iterator[Callable[..., base.Subscription]]:
    """``subscribe(EventClass, handler, mode=..., name=..., batch=...)``; unsubscribed when the test ends."""
    names: list[str] = []

    def add(event_cls: type[base.DomainEvent], handler: Callable[[Any], Any], *, mode: base.Mode = "sync",
            name: str | None = None, batch: base.BatchHandler | None = None) -> base.Subscription:
        subscription = base.subscribe(event_cls, handler, mode=mode, name=name, batch=batch)
        names.append(subscription.name)
        return subscription

    yield add
    for name in names:
        base.unsubscribe(name)

"""Domain events: typed events, registered handlers, and the outbox the worker delivers.

Public API (see ``base``): ``DomainEvent``, ``subscribe``, ``unsubscribe``, ``publish``.
"""

from bizloom.platform.events.base import DomainEvent, publish, subscribe, unsubscribe

__all__ = ["DomainEvent", "publish", "subscribe", "unsubscribe"]

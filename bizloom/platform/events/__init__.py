"""Domain events: typed events, registered handlers, and the outbox the worker delivers.

Public API (see ``base``): ``DomainEvent``, ``subscribe``, ``unsubscribe``, ``publish``, ``publish_many``.
"""

from bizloom.platform.events.base import DomainEvent, publish, publish_many, subscribe, unsubscribe

__all__ = ["DomainEvent", "publish", "publish_many", "subscribe", "unsubscribe"]

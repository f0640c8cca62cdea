"""The kinds of notification a user can tune on the preferences page.

Apps declare their kinds once (at import time or in ``AppConfig.ready``)::

    from bizloom.platform.notifications.kinds import register_kind

    register_kind("sales.order_confirmed", _("An order you own is confirmed"))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class NotificationKind:
    """A key (stored on notifications and preferences) and the label users see."""

    key: str
    label: StrOrPromise


_kinds: dict[str, NotificationKind] = {}


def register_kind(key: str, label: StrOrPromise) -> NotificationKind:
    """Declare the notification kind ``key``; registering the same key again replaces its label."""
    if not key or len(key) > 50:
        raise ValueError(f"notification kind must be 1-50 characters: {key!r}")
    kind = NotificationKind(key, label)
    _kinds[key] = kind
    return kind


def get_kind(key: str) -> NotificationKind:
    """The declared kind ``key``; ValueError for an undeclared one (a programming error)."""
    try:
        return _kinds[key]
    except KeyError:
        raise ValueError(f"unknown notification kind {key!r}; declare it with register_kind()") from None


def all_kinds() -> list[NotificationKind]:
    """Every declared kind, in declaration order."""
    return list(_kinds.values())


MENTION = register_kind("mention", _("Someone mentions me in a comment"))

"""The module navigation: apps register their menu entries in ``AppConfig.ready``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    """A menu entry, shown to users with ``permission`` (e.g. "crm.view_account"; empty: every
    signed-in user) for whom ``visible(user)``, when given, is true as well."""

    label: str | Promise
    url_name: str
    permission: str = ""
    visible: Callable[[Any], bool] | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    def shown_to(self, user: Any) -> bool:
        """Whether ``user`` sees this entry."""
        if self.permission and not user.has_perm(self.permission):
            return False
        return self.visible is None or bool(self.visible(user))


@dataclass
class NavSection:
    key: str
    label: str | Promise
    order: int
    items: list[NavItem] = field(default_factory=list)


_sections: dict[str, NavSection] = {}
_user_menu: list[NavItem] = []


def register(section: str, label: str | Promise, order: int, *items: NavItem) -> None:
    """Add ``items`` under the module ``section`` (created on first use)."""
    entry = _sections.setdefault(section, NavSection(section, label, order))
    for item in items:
        if item not in entry.items:
            entry.items.append(item)


def arrange(section: str, url_names: list[str]) -> None:
    """Put the items of ``section`` in the order of ``url_names`` (others keep their order, after)."""
    entry = _sections.get(section)
    if entry is None:
        return
    rank = {name: index for index, name in enumerate(url_names)}
    entry.items.sort(key=lambda item: rank.get(item.url_name, len(rank)))


def register_user_menu(*items: NavItem) -> None:
    """Add personal pages (tokens, preferences, ...) to the user menu in the top bar."""
    for item in items:
        if item not in _user_menu:
            _user_menu.append(item)


def user_menu_for(user: Any) -> list[NavItem]:
    """The user-menu entries ``user`` may open, in registration order."""
    return [item for item in _user_menu if item.shown_to(user)]


def sections_for(user: Any) -> list[dict[str, Any]]:
    """The sections and items ``user`` may open, in menu order."""
    visible = []
    for section in sorted(_sections.values(), key=lambda s: s.order):
        items = [item for item in section.items if item.shown_to(user)]
        if items:
            visible.append({"key": section.key, "label": section.label, "items": items})
    return visible

"""The detail page kit: header with actions, field groups and a timeline.

A module declares a :class:`DetailConfig` and its view calls :func:`render_detail` with a
record it loaded through its selector (404 outside the user's scope). Later modules add
timeline items (activities, changes, comments, attachments) with ``timeline.register``::

    from bizloom.platform.detail import TimelineEntry, timeline

    def audit_entries(obj, user):
        return [TimelineEntry(at=c.at, title=_("Changed"), body=c.summary, actor=c.actor) for c in ...]

    timeline.register(audit_entries)              # every model
    timeline.register(activity_entries, Account)  # only accounts

Modules add blocks below a record's fields the same way, with ``sections.register``: the
account's 360 page is the account detail page plus the sections that contacts,
opportunities, activities, contracts and, later, orders, invoices and tickets register
for ``Account``::

    sections.register(RelatedSection("contracts", _("Contracts"), "crm/contracts/_section.html",
                                     contracts_of_account, order=40), Account)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bizloom.platform import access
from bizloom.platform.listing.columns import Column


@dataclass(frozen=True)
class TimelineEntry:
    """One item on a record's timeline, newest first on the page."""

    at: dt.datetime
    title: str | Promise
    body: str = ""
    actor: Any = None
    kind: str = "event"
    url: str = ""


TimelineProvider = Callable[[Any, Any], Iterable[TimelineEntry]]


class TimelineRegistry:
    """Providers of timeline entries: ``provider(obj, user) -> entries``, per model or for all."""

    def __init__(self) -> None:
        self._providers: list[tuple[type[models.Model] | None, TimelineProvider]] = []
        self._fallbacks: list[TimelineProvider] = []

    def register_fallback(self, provider: TimelineProvider) -> TimelineProvider:
        """Add ``provider`` for records on which no other provider has anything to say."""
        if provider not in self._fallbacks:
            self._fallbacks.append(provider)
        return provider

    def register(self, provider: TimelineProvider, model: type[models.Model] | None = None) -> TimelineProvider:
        """Add ``provider`` (for ``model`` only, or every model); usable as a decorator."""
        if (model, provider) not in self._providers:
            self._providers.append((model, provider))
        return provider

    def unregister(self, provider: TimelineProvider) -> None:
        """Remove ``provider`` (tests use this)."""
        self._providers = [(m, p) for m, p in self._providers if p is not provider]

    def entries(self, obj: models.Model, user: Any) -> list[TimelineEntry]:
        """Every provider's entries for ``obj``, newest first."""
        items: list[TimelineEntry] = []
        for model, provider in self._providers:
            if model is None or isinstance(obj, model):
                items.extend(provider(obj, user))
        if not items:
            for provider in self._fallbacks:
                items.extend(provider(obj, user))
        return sorted(items, key=lambda e: e.at, reverse=True)


timeline = TimelineRegistry()


@dataclass(frozen=True)
class RelatedSection:
    """A block under a record's fields (its contacts, open opportunities, activities, ...).

    ``context(obj, user)`` returns the template context of the block, or None to leave it out
    (the user may not view those records, or there is nothing to show for this record).
    It must read through selectors, so the block shows only what ``user`` may see.
    The template receives ``section`` (``key``, ``title``, ``data``: the returned dict) and
    ``object``. Lower ``order`` comes first.
    """

    key: str
    title: str | Promise
    template: str
    context: Callable[[Any, Any], dict[str, Any] | None]
    order: int = 100


class SectionRegistry:
    """The related sections per model."""

    def __init__(self) -> None:
        self._sections: list[tuple[type[models.Model], RelatedSection]] = []

    def register(self, section: RelatedSection, model: type[models.Model]) -> RelatedSection:
        """Show ``section`` on the detail pages of ``model`` (re-registering a key replaces it)."""
        self._sections = [(m, s) for m, s in self._sections if not (m is model and s.key == section.key)]
        self._sections.append((model, section))
        return section

    def unregister(self, key: str, model: type[models.Model]) -> None:
        """Remove the section ``key`` of ``model`` (tests use this)."""
        self._sections = [(m, s) for m, s in self._sections if not (m is model and s.key == key)]

    def for_record(self, obj: models.Model, user: Any) -> list[dict[str, Any]]:
        """The sections of ``obj``'s model that have something for ``user``, in order."""
        shown = []
        for model, section in sorted(self._sections, key=lambda item: item[1].order):
            if isinstance(obj, model):
                data = section.context(obj, user)
                if data is not None:
                    shown.append({"key": section.key, "title": section.title, "template": section.template,
                                  "data": data})
        return shown


sections = SectionRegistry()

DEFAULT_TEMPLATE = "platform/detail/page.html"
# The default page plus the "Share" panel (issue #3); used when a config keeps the default.
SHARING_TEMPLATE = "platform/org/detail_page.html"


def _created_updated(obj: Any, user: Any) -> list[TimelineEntry]:
    """Entries from ``created_at`` / ``updated_at`` for records with no other history.

    The audit trail tells the same story in more detail, so this only shows for records
    written before auditing or outside the services (fixtures, raw imports).
    """
    entries = []
    created = getattr(obj, "created_at", None)
    updated = getattr(obj, "updated_at", None)
    if isinstance(created, dt.datetime):
        entries.append(TimelineEntry(at=created, title=_("Created"), kind="created"))
    if isinstance(updated, dt.datetime) and (created is None or (updated - created).total_seconds() > 1):
        entries.append(TimelineEntry(at=updated, title=_("Last updated"), kind="updated"))
    return entries


timeline.register_fallback(_created_updated)


@dataclass(frozen=True)
class FieldGroup:
    """A titled block of fields on the detail page; fields are names or Columns."""

    label: str | Promise
    fields: Sequence[str | Column]


@dataclass(frozen=True)
class DetailAction:
    """A header button. ``url_name`` is reversed with the record's pk; ``method="post"`` makes
    it a form button (with ``confirm`` text). Shown only when the user may ``permission``."""

    label: str | Promise
    url_name: str
    permission: str
    method: str = "get"
    style: str = ""
    confirm: str | Promise | None = None


@dataclass
class DetailConfig:
    """What the detail page of ``model`` shows: title, optional status, groups and actions."""

    model: type[models.Model]
    groups: Sequence[FieldGroup]
    actions: Sequence[DetailAction] = ()
    title: Callable[[Any], str] = str
    status: Callable[[Any], Any] | None = None
    back_url_name: str = ""
    template: str = DEFAULT_TEMPLATE
    bound_groups: list[tuple[str | Promise, list[Column]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.bound_groups = [
            (group.label, [(f if isinstance(f, Column) else Column(f)).bind(self.model) for f in group.fields])
            for group in self.groups
        ]


def detail_context(config: DetailConfig, obj: models.Model, user: Any) -> dict[str, Any]:
    """Template context: header, visible actions, rendered field groups, the timeline and,
    for records with an owner, the sharing panel.

    Fields hidden from ``user`` by their roles (``access.field_policy``) are left out; a
    group left empty disappears.
    """
    policy = access.field_policy(user, config.model, "view")
    groups = [
        {"label": label, "fields": [{"label": c.label, "value": c.display(obj), "kind": c.kind,
                                     "raw": c.raw(obj)} for c in columns if policy.shows(c.name)]}
        for label, columns in config.bound_groups
    ]
    groups = [group for group in groups if group["fields"]]
    actions = [
        {"label": a.label, "url": reverse(a.url_name, args=[obj.pk]), "method": a.method, "style": a.style,
         "confirm": a.confirm}
        for a in config.actions if access.can(user, config.model, a.permission)
    ]
    return {
        "object": obj,
        "title": config.title(obj),
        "status": config.status(obj) if config.status else None,
        "actions": actions,
        "groups": groups,
        "timeline": timeline.entries(obj, user),
        "related_sections": sections.for_record(obj, user),
        "back_url": reverse(config.back_url_name) if config.back_url_name else "",
        "sharing": sharing_context(obj, user),
    }


def sharing_context(obj: models.Model, user: Any) -> dict[str, Any] | None:
    """The "Share" panel of ``obj``: its shares and whether ``user`` may change them; None when
    the model has no owner field or the sharing pages are not mounted."""
    from bizloom.platform.org import forms as org_forms
    from bizloom.platform.org import selectors as org_selectors

    if access.owner_field(type(obj)) is None:
        return None
    try:
        url = reverse("org:record_share", args=[org_selectors.content_type_id(obj), obj.pk])
    except NoReverseMatch:
        return None
    may_manage = org_selectors.may_manage_record(user, obj)
    if not may_manage:
        return None
    return {"url": url, "shares": org_selectors.list_shares(obj), "may_manage": may_manage,
            "share_form": org_forms.ShareForm(prefix="share"),
            "transfer_form": org_forms.TransferForm(prefix="transfer")}


def render_detail(request: HttpRequest, config: DetailConfig, obj: models.Model,
                  extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The detail page of ``obj`` (already loaded through a scoped selector)."""
    context = detail_context(config, obj, request.user)
    context.update(extra_context or {})
    template = config.template
    if template == DEFAULT_TEMPLATE and context["sharing"] is not None:
        template = SHARING_TEMPLATE
    return render(request, template, context)

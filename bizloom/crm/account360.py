"""The customer 360 page: the account detail page assembled from pieces (issue #4).

The page is ``render_detail`` of the account plus:

* a **header of key facts** (:func:`header`): tier, owner, parent, tags, open pipeline,
  won this year, active contract value and last activity. Each figure is computed through
  ``selectors.account_summary`` from the records the user may view, and left out when the
  user may not view that kind of record at all (a rep sees the sums of *their*
  opportunities only);
* **related sections**, registered with ``bizloom.platform.detail.sections`` for ``Account``:
  contacts (key ``contacts``, order 10, key contacts first and marked), child accounts
  (``children``, 15), opportunities (``opportunities``, 20, the pipeline area), activities
  (``activities``, 30, the activities area) and contracts (``contracts``, 40, the contracts
  area). **Later modules add theirs the same way** — orders, deliveries, invoices,
  payments, the open balance, tickets, satisfaction — with an order after 40, a context
  function that reads through their selectors (so it shows only what the user may see) and
  returns None when there is nothing to show::

      sections.register(RelatedSection("orders", _("Sales orders"), "sales/_account_orders.html",
                                       orders_of_account, order=50), Account)

* a **timeline of everything** (:func:`related_timeline`): besides the account's own
  changes, comments and files, the audit entries and comments of every record that belongs
  to the account — found generically as the models with a ForeignKey named ``account`` to
  Account (contacts, opportunities, activities, contracts, and later orders or tickets, with
  nothing to register) — only those records the user may view, newest first, at most
  :data:`TIMELINE_LIMIT`, each entry linking to its record. Field changes the user's roles
  hide are left out of the descriptions.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import CharField
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bizloom.crm import selectors
from bizloom.crm.models import Account, Contact
from bizloom.platform import access
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.audit.timeline import describe
from bizloom.platform.detail import RelatedSection, TimelineEntry, sections, timeline
from bizloom.platform.templatetags.bizloom import format_money
from bizloom.platform.timeline.models import Comment

TIMELINE_LIMIT = 100
SECTION_ROWS = 100
CONTACT_FIELDS = ("position", "mobile", "email")


# --- header ------------------------------------------------------------------------------------


def _money(figure: selectors.MoneyCount) -> str:
    """"¥1,200,000.00 · 3" (per currency, then the count); the count alone when amounts are hidden."""
    if figure.amounts is None or not figure.amounts:
        return str(figure.count)
    return " + ".join(format_money(total, currency) for currency, total in figure.amounts) + f" · {figure.count}"


def header(account: Account, user: Any) -> list[dict[str, Any]]:
    """The key facts shown above the account's fields: ``{"key", "label", "value", "url"}`` each.

    Account fields hidden from the user are left out; figures about opportunities, contracts
    and activities appear only when the user may view those records (see ``account_summary``).
    """
    policy = access.field_policy(user, Account, "view")
    facts: list[dict[str, Any]] = []

    def add(key: str, label: Any, value: Any, url: str = "") -> None:
        facts.append({"key": key, "label": capfirst(str(label)), "value": value, "url": url})

    def label(name: str) -> str:
        return str(getattr(Account._meta.get_field(name), "verbose_name", name))

    if policy.shows("tier"):
        add("tier", label("tier"), account.get_tier_display())
    if policy.shows("owner"):
        add("owner", label("owner"), str(account.owner) if account.owner else "—")
    if policy.shows("parent") and account.parent_id is not None:
        visible = account.parent_id in selectors.visible_account_ids(user, [account.parent_id])
        add("parent", label("parent"), str(account.parent),
            reverse("crm:account_detail", args=[account.parent_id]) if visible else "")
    if policy.shows("tags"):
        add("tags", label("tags"), ", ".join(sorted(t.name for t in account.tags.all())) or "—")
    summary = selectors.account_summary(user, account)
    if summary.open_pipeline is not None:
        add("open_pipeline", _("Open pipeline"), _money(summary.open_pipeline))
    if summary.won_this_year is not None:
        add("won_this_year", _("Won this year"), _money(summary.won_this_year))
    if summary.active_contracts is not None:
        add("active_contracts", _("Active contracts"), _money(summary.active_contracts))
    if summary.may_view_activities:
        last = summary.last_activity_at
        add("last_activity", _("Last activity"),
            formats.date_format(timezone.localtime(last), "SHORT_DATE_FORMAT") if last else "—")
    return facts


# --- sections ----------------------------------------------------------------------------------


def contacts_section(account: Account, user: Any) -> dict[str, Any] | None:
    """The "Contacts" section: the account's contacts the user may view (primary or linked; key
    contacts first and marked; at most 100), without the fields the user's roles hide. None
    without permission to view contacts."""
    if not access.can(user, Contact, "view"):
        return None
    policy = access.field_policy(user, Contact, "view")
    fields = [name for name in CONTACT_FIELDS if policy.shows(name)]
    show_key = policy.shows("is_key_contact")
    contacts = selectors.list_account_contacts(user, account)
    rows = [{"name": c.name, "url": reverse("crm:contact_detail", args=[c.pk]), "primary": c.account_id == account.pk,
             "key": show_key and c.is_key_contact, "values": [getattr(c, name) for name in fields]}
            for c in contacts[:SECTION_ROWS]]
    return {
        "headers": [capfirst(str(getattr(Contact._meta.get_field(name), "verbose_name", name)))
                    for name in ("name", *fields)],
        "rows": rows,
        "total": contacts.count() if len(rows) == SECTION_ROWS else len(rows),
        "add_url": (reverse("crm:contact_create") + f"?account={account.pk}"
                    if access.can(user, Contact, "add") else ""),
    }


def children_section(account: Account, user: Any) -> dict[str, Any] | None:
    """The "Child accounts" section: accounts whose parent is this one, that the user may view.
    None when there are none (most accounts have no subsidiaries)."""
    children = selectors.list_child_accounts(user, account)
    rows = [{"name": a.name, "url": reverse("crm:account_detail", args=[a.pk]), "tier": a.get_tier_display(),
             "city": a.city} for a in children[:SECTION_ROWS]]
    if not rows:
        return None
    policy = access.field_policy(user, Account, "view")
    return {"rows": rows, "show_tier": policy.shows("tier"), "show_city": policy.shows("city"),
            "total": children.count() if len(rows) == SECTION_ROWS else len(rows)}


# --- the timeline of everything ----------------------------------------------------------------


def related_models() -> list[type[models.Model]]:
    """Every installed model with a ForeignKey named ``account`` to Account, by label."""
    found = []
    for model in apps.get_models():
        try:
            field = model._meta.get_field("account")
        except Exception:  # FieldDoesNotExist  # noqa: S112
            continue
        if isinstance(field, models.ForeignKey) and field.related_model is Account:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def _record_url(model: type[models.Model], object_id: str) -> str:
    try:
        return reverse(f"{model._meta.app_label}:{model._meta.model_name}_detail", args=[object_id])
    except NoReverseMatch:
        return ""


def _visible_changes(entry: AuditEntry, policy: access.FieldPolicy) -> AuditEntry:
    """``entry`` without the field changes ``policy`` hides (an unsaved copy for ``describe``)."""
    changes = {name: pair for name, pair in (entry.changes or {}).items() if policy.shows(name)}
    return AuditEntry(changes=changes)


def related_timeline(account: Account, user: Any) -> list[TimelineEntry]:
    """Timeline provider of accounts: audit entries and comments of the records that belong to
    ``account`` (see the module docstring), those the user may view, newest first, at most 100."""
    entries: list[TimelineEntry] = []
    for model in related_models():
        if not access.can(user, model, "view"):
            continue
        visible = access.restrict(model._default_manager.filter(account=account), user, "view")
        ids = visible.order_by().annotate(key=Cast("pk", output_field=CharField())).values("key")
        content_type = ContentType.objects.get_for_model(model)
        policy = access.field_policy(user, model, "view")
        noun = capfirst(str(model._meta.verbose_name))
        audits = (AuditEntry.objects.filter(content_type=content_type, object_id__in=ids)
                  .select_related("actor").order_by("-at", "-pk")[:TIMELINE_LIMIT])
        for entry in audits:
            title = _("%(model)s %(record)s: %(action)s") % {"model": noun, "record": entry.object_repr,
                                                            "action": entry.action_label}
            body = describe(_visible_changes(entry, policy), model)
            entries.append(TimelineEntry(at=entry.at, title=title, body=body, actor=entry.actor, kind="audit",
                                         url=_record_url(model, entry.object_id)))
        comments = list(Comment.objects.filter(content_type=content_type, object_id__in=ids)
                        .select_related("author").order_by("-created_at", "-pk")[:TIMELINE_LIMIT])
        names = {str(pk): str(obj) for pk, obj in
                 model._default_manager.in_bulk([c.object_id for c in comments]).items()} if comments else {}
        for comment in comments:
            title = _("Comment on %(model)s %(record)s") % {"model": noun, "record": names.get(comment.object_id, "")}
            entries.append(TimelineEntry(at=comment.created_at, title=title, body=comment.body, actor=comment.author,
                                         kind="comment", url=_record_url(model, comment.object_id)))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:TIMELINE_LIMIT]


def register() -> None:
    """Register the contacts and child-account sections and the related timeline on Account."""
    sections.register(RelatedSection("contacts", gettext_lazy("Contacts"), "crm/_account_contacts.html",
                                     contacts_section, order=10), Account)
    sections.register(RelatedSection("children", gettext_lazy("Child accounts"), "crm/_account_children.html",
                                     children_section, order=15), Account)
    timeline.register(related_timeline, Account)

"""Permission-scoped reads of CRM records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bizloom.crm.models import Account, Activity, Contact, Contract, Opportunity, Stage
from bizloom.platform import access
from bizloom.platform.collation import order_terms


def list_accounts(user: Any, action: str = "view") -> QuerySet[Account]:
    """Accounts ``user`` may ``action``, with the owner and parent joined and the tags prefetched
    for list pages and the API."""
    return access.restrict(Account.objects.select_related("owner", "parent").prefetch_related("tags"), user, action)


def get_account(user: Any, pk: int, action: str = "view") -> Account:
    """One account, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_accounts(user, action), pk=pk)


def visible_account_ids(user: Any, ids: Any) -> set[int]:
    """The ids among ``ids`` of accounts ``user`` may view."""
    return set(access.restrict(Account.objects.filter(pk__in=list(ids)), user, "view").values_list("pk", flat=True))


def list_child_accounts(user: Any, account: Account) -> QuerySet[Account]:
    """The accounts directly below ``account`` that ``user`` may view, by name (pinyin order)."""
    children = access.restrict(Account.objects.filter(parent=account).select_related("owner"), user, "view")
    return children.order_by(*order_terms(Account, ["name", "pk"]))


def list_contacts(user: Any, action: str = "view") -> QuerySet[Contact]:
    """Contacts ``user`` may ``action``, with the owner and primary account joined and the
    other accounts prefetched for list pages and the API."""
    return access.restrict(Contact.objects.select_related("owner", "account").prefetch_related("accounts"),
                           user, action)


def get_contact(user: Any, pk: int, action: str = "view") -> Contact:
    """One contact, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_contacts(user, action), pk=pk)


def list_account_contacts(user: Any, account: Account) -> QuerySet[Contact]:
    """The contacts of ``account`` (primary or linked) that ``user`` may view: key contacts first,
    then by name (pinyin order)."""
    linked = Contact.accounts.through.objects.filter(account=account).values("contact_id")
    contacts = Contact.objects.filter(Q(account=account) | Q(pk__in=linked))
    return access.restrict(contacts, user, "view").order_by(
        "-is_key_contact", *order_terms(Contact, ["name", "pk"]))


# --- the customer 360 header (issue #4) ----------------------------------------------------


@dataclass
class MoneyCount:
    """How many records and their amounts per currency (``amounts`` None when the amount field is hidden)."""

    count: int = 0
    amounts: list[tuple[str, Decimal]] | None = field(default_factory=list)


@dataclass
class AccountSummary:
    """The key figures of an account's 360 page, each None when ``user`` may not view those records."""

    open_pipeline: MoneyCount | None = None
    won_this_year: MoneyCount | None = None
    active_contracts: MoneyCount | None = None
    last_activity_at: dt.datetime | None = None
    may_view_activities: bool = False


def _money_count(queryset: QuerySet[Any], user: Any) -> MoneyCount:
    """Count and per-currency sums of ``amount`` over ``queryset`` (amounts omitted when hidden from ``user``)."""
    count = queryset.count()
    if not access.field_policy(user, queryset.model, "view").shows("amount"):
        return MoneyCount(count=count, amounts=None)
    rows = (queryset.order_by().values("currency").annotate(total=Sum("amount"), n=Count("pk"))
            .order_by("currency"))
    return MoneyCount(count=count, amounts=[(row["currency"], row["total"] or Decimal(0)) for row in rows])


def start_of_year(today: dt.date | None = None) -> dt.datetime:
    """Midnight of 1 January of ``today``'s year (default: this year), in the current time zone."""
    day = today or timezone.localdate()
    return timezone.make_aware(dt.datetime(day.year, 1, 1))  # noqa: DTZ001 - made aware right here


def account_summary(user: Any, account: Account) -> AccountSummary:
    """The figures of the account's 360 header, computed only from records ``user`` may view:

    open pipeline (opportunities in open stages: count and amount per currency), won this
    year (closed in a won stage since 1 January), value of active contracts, and the time of
    the last completed activity. A figure whose records the user may not view at all is None;
    amounts hidden from the user by field rules are left out (the count stays).
    """
    summary = AccountSummary()
    if access.can(user, Opportunity, "view"):
        opportunities = access.restrict(Opportunity.objects.filter(account=account), user, "view")
        summary.open_pipeline = _money_count(opportunities.filter(stage__kind=Stage.Kind.OPEN), user)
        summary.won_this_year = _money_count(
            opportunities.filter(stage__kind=Stage.Kind.WON, closed_at__gte=start_of_year()), user)
    if access.can(user, Contract, "view"):
        contracts = access.restrict(Contract.objects.filter(account=account), user, "view")
        summary.active_contracts = _money_count(contracts.filter(status=Contract.Status.ACTIVE), user)
    if access.can(user, Activity, "view"):
        summary.may_view_activities = True
        activities = access.restrict(Activity.objects.filter(account=account, status=Activity.Status.DONE),
                                     user, "view")
        summary.last_activity_at = activities.aggregate(last=Max(Coalesce("completed_at", "due_at")))["last"]
    return summary

"""The "Contracts" section of the account 360 page (key ``contracts``, order 40)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from bizloom.crm.contracts import selectors
from bizloom.crm.models import Account, Contract
from bizloom.platform import access
from bizloom.platform.listing import Column

SECTION_ROWS = 50
COLUMNS = [Column(name).bind(Contract) for name in ("title", "status", "start_date", "end_date")] + [
    Column("amount", currency_field="currency").bind(Contract)]


def account_contracts(account: Account, user: Any) -> dict[str, Any] | None:
    """The account's contracts the user may view (at most 50, active first), without the fields
    the user's roles hide; None without permission to view contracts."""
    if not access.can(user, Contract, "view"):
        return None
    policy = access.field_policy(user, Contract, "view")
    columns = [c for c in COLUMNS if policy.shows(c.name)]
    contracts = selectors.list_account_contracts(user, account)
    rows = [{"number": c.number, "url": reverse("crm:contract_detail", args=[c.pk]),
             "cells": [{"text": col.display(c), "numeric": col.is_numeric,
                        "status": c.status if col.name == "status" else ""} for col in columns]}
            for c in contracts[:SECTION_ROWS]]
    number = Contract._meta.get_field("number")
    return {
        "headers": [{"label": str(number.verbose_name).capitalize(), "numeric": False},
                    *({"label": c.label, "numeric": c.is_numeric} for c in columns)],
        "rows": rows,
        "total": contracts.count() if len(rows) == SECTION_ROWS else len(rows),
        "add_url": (reverse("crm:contract_create") + f"?account={account.pk}"
                    if access.can(user, Contract, "add") else ""),
    }

"""Factories of the contracts area (and the accounts and contacts they hang on)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from bizloom.crm.models import Account, Contract

_SEQUENCE = itertools.count(1)


def make_contract(owner: Any, **values: Any) -> Contract:
    """A draft contract owned by ``owner`` with an account of the same owner."""
    n = next(_SEQUENCE)
    account = values.pop("account", None) or Account.objects.create(name=f"合同客户 {n}", owner=owner)
    data: dict[str, Any] = {
        "number": f"HT-TEST-{n:05d}", "title": f"年度服务合同 {n}", "account": account, "owner": owner,
        "amount": Decimal("120000"), "currency": "CNY", "start_date": dt.date(2026, 1, 1),
        "end_date": dt.date(2026, 12, 31),
    }
    data.update(values)
    return Contract.objects.create(**data)


FACTORIES = {Contract: make_contract}

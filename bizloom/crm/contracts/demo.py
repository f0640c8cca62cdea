"""Demo contracts: one for most won opportunities (when the pipeline demo made any), plus
standalone service and supply agreements in every state — active, expiring soon, expired,
terminated and draft."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bizloom.crm.contracts.services import (
    activate_contract,
    create_contract,
    expire_contracts,
    terminate_contract,
)
from bizloom.crm.models import Account, Contract, Opportunity, Stage
from bizloom.platform import demo

demo.grant("sales", "crm.view_contract", "crm.add_contract", "crm.change_contract", "crm.export_contract",
           "crm.activate_contract")
demo.grant("manager", "crm.view_contract", "crm.add_contract", "crm.change_contract", "crm.delete_contract",
           "crm.export_contract", "crm.import_contract", "crm.activate_contract", "crm.terminate_contract")

CHINESE_TITLES = ("年度技术服务合同", "设备采购合同", "软件许可及实施合同", "年度维保服务合同", "框架采购协议",
                  "系统集成项目合同", "备品备件供货合同", "物流运输服务合同")
ENGLISH_TITLES = ("Annual service agreement", "Equipment supply agreement", "Software licence and implementation",
                  "Maintenance agreement", "Framework purchase agreement")
PAYMENT_TERMS = ("30% 预付，70% 验收合格后 30 天内支付", "货到付款", "月结 60 天", "签约后预付 50%，上线后支付 50%",
                 "按季度预付")
ENGLISH_TERMS = ("Net 30", "50% upfront, 50% on delivery", "Net 60", "Quarterly in advance")
TERMINATION_REASONS = ("客户业务调整，双方协商一致提前终止。", "客户被收购，新母公司统一采购。",
                       "服务范围变更，改签新合同。")


def _chinese(account: Account) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in account.name)


def _values(ctx: demo.DemoContext, account: Account, start: dt.date, months: int) -> dict[str, Any]:
    rng = ctx.rng
    chinese = _chinese(account)
    end = start + dt.timedelta(days=int(months * 30.4) - 1)
    contact = account.contacts.order_by("-is_key_contact", "pk").first()
    return {
        "title": rng.choice(CHINESE_TITLES if chinese else ENGLISH_TITLES),
        "account": account,
        "contact": contact,
        "owner": account.owner,
        "customer_reference": f"{'CG' if chinese else 'PO'}-{start.year}-{rng.randint(100, 9999):04d}"
        if rng.random() < 0.5 else "",
        "amount": Decimal(rng.randint(20, 3000) * 1000),
        "currency": account.currency or "CNY",
        "payment_terms": rng.choice(PAYMENT_TERMS if chinese else ENGLISH_TERMS),
        "start_date": start,
        "end_date": end,
        "renewal_notice_days": rng.choice((30, 30, 60, 90)),
    }


def _activate(contract: Contract, actor: Any, signed_on: dt.date) -> Contract:
    """Sign the contract; one whose term is already over was active in its time (the daily job
    expires it at the end of the builder)."""
    signed_on = min(signed_on, timezone.localdate())
    if contract.end_date < timezone.localdate():
        Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.ACTIVE, signed_on=signed_on)
        contract.refresh_from_db()
        return contract
    return activate_contract(contract, signed_on=signed_on, actor=actor)


@demo.builder("crm.contracts", order=45)
def build_contracts(ctx: demo.DemoContext) -> None:
    """Contracts for about 80% of the won opportunities, plus standalone ones in every state
    (small: 25, medium 150, large 1,200) spread over the accounts."""
    actor = ctx.users["admin"]
    rng = ctx.rng
    today = timezone.localdate()
    count = 0
    won = (Opportunity.objects.filter(stage__kind=Stage.Kind.WON, contracts__isnull=True)
           .select_related("account", "contact").order_by("pk"))
    for opportunity in won:
        if rng.random() > 0.8:
            continue
        closed = timezone.localtime(opportunity.closed_at).date() if opportunity.closed_at else today
        start = closed + dt.timedelta(days=rng.randint(3, 20))
        values = _values(ctx, opportunity.account, start, rng.choice((12, 12, 24, 36)))
        values.update({"opportunity": opportunity, "title": opportunity.name, "amount": opportunity.amount,
                       "currency": opportunity.currency, "owner": opportunity.owner or opportunity.account.owner})
        if opportunity.contact is not None and opportunity.contact.account_id == opportunity.account_id:
            values["contact"] = opportunity.contact
        contract = create_contract(values, actor=actor)
        if start <= today + dt.timedelta(days=10):
            _activate(contract, actor, closed + dt.timedelta(days=rng.randint(1, 3)))
        count += 1
    accounts = list(Account.objects.filter(is_customer=True).order_by("pk"))
    standalone = ctx.quantity("contracts", small=25, medium=150, large=1200, per_account=0.4)
    # (share, months back the contract started, term in months, final state)
    plans = (
        (0.40, (1, 10), 12, "active"),
        (0.15, (10, 12), 12, "expiring"),
        (0.20, (15, 30), 12, "expired"),
        (0.10, (3, 9), 12, "terminated"),
        (0.15, (-1, 0), 12, "draft"),
    )
    for index in range(standalone if accounts else 0):
        account = accounts[(index * 7 + rng.randint(0, 6)) % len(accounts)]
        roll, state, back, months = rng.random(), "active", (1, 10), 12
        for share, back_range, term, name in plans:
            if roll < share:
                state, back, months = name, back_range, term
                break
            roll -= share
        if state == "expiring":
            start = today - dt.timedelta(days=365 - rng.randint(5, 25))
        else:
            start = today - dt.timedelta(days=int(rng.uniform(*back) * 30.4))
        values = _values(ctx, account, start, months)
        contract = create_contract(values, actor=actor)
        if state == "draft":
            count += 1
            continue
        signed = start - dt.timedelta(days=rng.randint(1, 10))
        contract = _activate(contract, actor, signed)
        if state == "terminated":
            terminate_contract(contract, rng.choice(TERMINATION_REASONS), actor=actor)
        count += 1
    expire_contracts(today=today)
    ctx.created("contracts", count)


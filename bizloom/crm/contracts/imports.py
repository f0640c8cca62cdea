"""The import declaration of contracts (issue #5).

Plain keyword arguments of ``ImportDeclaration`` (CRM sits below integration in the layers),
registered through ``integration.imports.declarations.EXTRA_MODULES``. Writes go through
``bizloom.crm.contracts.services``: a new contract gets its number from the ``crm.contract``
sequence; a row with a number (or an external id of the batch's source) updates that
contract — a number that names no contract the importer may see is an error, never a new
number. The account is named by tax id, external id or name, the contact within the account,
among records the importer may see. Status is draft or active: an active row is created as a
draft and activated through ``activate_contract`` (it needs the signing date and the
importer's permission to activate contracts); an active contract does not go back to draft,
and expired or terminated contracts only round-trip unchanged (they can no longer change).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.crm import importkit
from bizloom.crm.contracts import services
from bizloom.crm.models import Contract
from bizloom.platform import access

CONTRACT_IMPORT_FIELDS = ["number", "title", "account", "contact", "customer_reference", "amount", "currency",
                          "payment_terms", "status", "signed_on", "start_date", "end_date", "renewal_notice_days",
                          "owner", "notes"]
SYNONYMS = {
    "number": ("合同编号", "合同号", "编号", "contract no", "contract number", "no"),
    "title": ("合同名称", "合同标题", "名称", "标题", "contract title", "contract name", "name"),
    "account": ("客户", "客户名称", "甲方", "公司", "公司名称", "company", "account name", "customer"),
    "contact": ("联系人", "签约人", "签字人", "contact name", "signatory"),
    "customer_reference": ("客户合同号", "对方合同号", "customer reference", "customer contract no", "po number"),
    "amount": ("合同金额", "金额", "总金额", "contract amount", "value", "total"),
    "currency": ("币种", "货币"),
    "payment_terms": ("付款条件", "付款方式", "结算方式", "payment terms", "terms"),
    "status": ("状态", "合同状态", "contract status"),
    "signed_on": ("签订日期", "签约日期", "签署日期", "signed date", "signing date", "date signed"),
    "start_date": ("开始日期", "生效日期", "起始日期", "start", "effective date", "valid from"),
    "end_date": ("结束日期", "到期日期", "截止日期", "终止日期", "end", "expiry date", "valid until"),
    "renewal_notice_days": ("续约提醒天数", "提前提醒天数", "renewal reminder days", "notice days"),
    "owner": ("负责人", "销售", "所有人", "contract owner", "sales rep"),
    "notes": ("备注", "说明", "remarks", "comment"),
}
SPECIAL = ("number", "status")
IMPORTABLE_STATUSES = (Contract.Status.DRAFT, Contract.Status.ACTIVE)


def build_contract(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The contract service data of one row; the number stays a key for the engine's look-up."""
    data: dict[str, Any] = {}
    cells = dict(importkit.clean(values))
    account = importkit.row_account(cells, data, context, errors)
    for key, text in cells.items():
        try:
            if key == "account":
                continue
            if key == "contact":
                data[key] = importkit.find_contact(text, context, account)
            elif key == "number":
                data[key] = text.upper()
            elif key == "status":
                data[key] = context.parse_choice(text, Contract.Status.choices)
            elif key == "amount":
                data[key] = context.parse_decimal(text)
            elif key == "currency":
                data[key] = text.upper()
            elif key in ("signed_on", "start_date", "end_date"):
                data[key] = context.parse_date(text)
            elif key == "renewal_notice_days":
                data[key] = importkit.parse_int(text, context, low=0, high=services.MAX_NOTICE_DAYS)
            elif key == "owner":
                data[key] = context.resolve_user(text, Contract)
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    return data


def _may_activate(actor: Any) -> None:
    if not access.can(actor, Contract, "activate"):
        message = gettext("You may not activate contracts; import them as drafts.")
        raise ValidationFailed(message, fields={"status": [message]})


def create_contract(data: Mapping[str, Any], actor: Any) -> Contract:
    """``create_contract`` (a draft with the next number), activated when the row is active."""
    if data.get("number"):
        message = gettext("No contract numbered “%(number)s” that you may see; leave the number empty to create "
                          "a new contract.") % {"number": data["number"]}
        raise ValidationFailed(message, fields={"number": [message]})
    status = data.get("status") or Contract.Status.DRAFT
    if status not in IMPORTABLE_STATUSES:
        message = gettext("An imported contract is a draft or active.")
        raise ValidationFailed(message, fields={"status": [message]})
    if status == Contract.Status.ACTIVE:
        _may_activate(actor)
    contract = services.create_contract({k: v for k, v in data.items() if k not in SPECIAL}, actor=actor)
    if status == Contract.Status.ACTIVE:
        contract = services.activate_contract(contract, actor=actor)
    return contract


def update_contract(contract: Contract, data: Mapping[str, Any], actor: Any) -> Contract:
    """``update_contract`` with the values that differ (none: nothing is written), then activation
    when a draft's row is active."""
    values = importkit.changed(contract, data, skip=SPECIAL)
    status = data.get("status")
    if status and status != contract.status:
        if not (contract.status == Contract.Status.DRAFT and status == Contract.Status.ACTIVE):
            message = gettext("A contract cannot go from “%(old)s” to “%(new)s” by import.") % {
                "old": contract.get_status_display(), "new": Contract.Status(status).label}
            raise ValidationFailed(message, fields={"status": [message]})
        _may_activate(actor)
    if values:
        contract = services.update_contract(contract, values, actor=actor)
    if status == Contract.Status.ACTIVE and contract.status == Contract.Status.DRAFT:
        contract = services.activate_contract(contract, actor=actor)
    return contract


IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.contract",
    "model": Contract,
    "label": _("Contracts"),
    "field_names": CONTRACT_IMPORT_FIELDS,
    "required": ("title",),
    "synonyms": SYNONYMS,
    "build": build_contract,
    "create": create_contract,
    "update": update_contract,
    "delete": lambda contract, actor: services.delete_contract(contract, actor=actor),
    "natural_keys": ("number",),
    "custom_fields": True,
}]

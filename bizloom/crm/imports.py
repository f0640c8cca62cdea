"""The import declaration of CRM accounts (issue #5), read by the integration import engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors, services
from bizloom.crm.duplicates import ACCOUNT_FIELDS
from bizloom.crm.models import Account
from bizloom.crm.normalize import normalize_email, normalize_phone

ACCOUNT_IMPORT_FIELDS = ["name", "code", "industry", "tier", "city", "phone", "email", "website",
                         "annual_revenue", "currency", "is_customer", "is_supplier", "owner", "notes"]
SYNONYMS = {
    "name": ("客户名称", "公司名称", "客户", "company", "company name", "account name", "account"),
    "code": ("统一社会信用代码", "信用代码", "税号", "tax no", "uscc", "vat id"),
    "industry": ("行业", "所属行业"),
    "tier": ("级别", "客户级别", "等级", "grade", "level"),
    "city": ("城市", "所在城市"),
    "phone": ("电话", "手机", "联系电话", "tel", "mobile", "telephone"),
    "email": ("邮箱", "电子邮件", "e-mail", "mail"),
    "website": ("网站", "网址", "url", "web"),
    "annual_revenue": ("年收入", "年营业额", "营业额", "revenue"),
    "currency": ("币种", "货币"),
    "is_customer": ("是否客户", "客户标志"),
    "is_supplier": ("是否供应商", "供应商标志"),
    "owner": ("负责人", "销售", "所有人", "客户经理", "sales rep", "account manager"),
    "notes": ("备注", "说明", "remarks", "comment"),
}


def build_account(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The ``create_account``/``update_account`` data of one row; cell problems go to ``errors``.

    Blank cells are left out (they neither clear a stored value nor override a default).
    Phones and emails are normalised; industry and tier accept codes or labels in any language;
    the owner is a username, email or full name among the users whose accounts the importer reads.
    ``context`` is the engine's ``BuildContext`` (its parsers raise ValueError with a readable message).
    """
    data: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.strip()
        if not text:
            continue
        try:
            if key == "phone":
                data[key] = normalize_phone(text)
            elif key == "email":
                data[key] = normalize_email(text)
            elif key == "industry":
                data[key] = context.parse_choice(text, Account.Industry.choices)
            elif key == "tier":
                data[key] = context.parse_choice(text, Account.Tier.choices)
            elif key in ("is_customer", "is_supplier"):
                data[key] = context.parse_bool(text)
            elif key == "annual_revenue":
                data[key] = context.parse_decimal(text)
            elif key == "currency":
                data[key] = text.upper()
            elif key == "owner":
                data[key] = context.resolve_user(text, Account)
            else:
                data[key] = text
        except ValueError as exc:  # InvalidValue from the normalisers, CellError from the engine's parsers
            errors[key] = str(exc)
    return data


def _readable_accounts(user: Any) -> Iterable[tuple[Any, Mapping[str, object]]]:
    rows = selectors.list_accounts(user, "view").values("pk", "name", "code", "email", "phone")
    return ((row["pk"], row) for row in rows.iterator(chunk_size=5000))


# Read by bizloom.integration (IntegrationConfig.ready): CRM stays below integration in the
# layers, so it describes its imports as plain keyword arguments of ImportDeclaration.
IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.account",
    "model": Account,
    "label": _("Accounts"),
    "field_names": ACCOUNT_IMPORT_FIELDS,
    "required": ("name",),
    "synonyms": SYNONYMS,
    "build": build_account,
    "create": lambda data, actor: services.create_account(data, actor=actor),
    "update": lambda account, data, actor: services.update_account(account, data, actor=actor),
    "delete": lambda account, actor: services.delete_account(account, actor=actor),
    "natural_keys": ("code",),
    "duplicate_fields": ACCOUNT_FIELDS,
    "duplicate_records": _readable_accounts,
    "custom_fields": True,
}]

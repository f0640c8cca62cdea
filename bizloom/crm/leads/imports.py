"""The import declaration of leads (issue #5), read by the integration import engine.

Plain keyword arguments of ``ImportDeclaration`` (CRM sits below integration in the layers),
registered through ``integration.imports.declarations.EXTRA_MODULES``.

A row is normalised as the lead services normalise (``services.normalize_lead``: names
width-folded, email lower-cased, phones in E.164, the tax id checked), so duplicates match
on the stored form. Rows update the lead with the same external id (of the batch's source)
or the same email; other rows are matched by the CRM's lead duplicate rules against the
records the importer may see — leads and contacts by email and phone (mobile and office
number, each against both of the other's), accounts by the company's tax id and name — and
against the rows above. A row that matches a contact or an account is reported as its
duplicate (it cannot update it) unless the batch creates duplicates anyway. A row without
an email updates the lead the importer may see with the same name and company and no email
(when there is exactly one), so an exported list re-imported gives "unchanged" rows. Source,
status and industry accept codes or labels in any language; the owner is a user whose leads
the importer may read. A status other than "new" is reached through the
lead workflow (``change_lead_status``): "unqualified" needs the reason column, "converted"
is refused (conversion is its own action). Converted leads are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.crm import importkit
from bizloom.crm.duplicates import Elsewhere, Rule, company_key
from bizloom.crm.leads import selectors, services
from bizloom.crm.models import Account, Contact, Lead, Source
from bizloom.platform import access

LEAD_IMPORT_FIELDS = ["name", "position", "company", "company_code", "industry", "city", "mobile", "phone", "email",
                      "wechat_id", "website", "source", "campaign", "status", "unqualified_reason", "score", "owner",
                      "notes"]
SYNONYMS = {
    "name": ("姓名", "联系人", "联系人姓名", "线索名称", "名字", "lead", "lead name", "contact name", "full name"),
    "position": ("职位", "职务", "头衔", "title", "job title"),
    "company": ("公司", "公司名称", "单位", "企业名称", "客户名称", "company name", "organization", "organisation"),
    "company_code": ("统一社会信用代码", "信用代码", "税号", "纳税人识别号", "tax id", "tax no", "uscc", "vat id"),
    "industry": ("行业", "所属行业", "sector"),
    "city": ("城市", "所在城市", "地区"),
    "mobile": ("手机", "手机号", "手机号码", "移动电话", "mobile phone", "cell", "cellphone"),
    "phone": ("电话", "办公电话", "座机", "固定电话", "联系电话", "tel", "telephone", "work phone", "office phone"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件", "e-mail", "mail", "email address"),
    "wechat_id": ("微信", "微信号", "wechat", "weixin"),
    "website": ("网站", "网址", "官网", "url", "web"),
    "source": ("来源", "线索来源", "渠道", "lead source", "channel"),
    "campaign": ("活动", "市场活动", "推广活动", "campaign name"),
    "status": ("状态", "线索状态", "lead status"),
    "unqualified_reason": ("无效原因", "不合格原因", "未通过原因", "unqualified reason", "disqualification reason"),
    "score": ("评分", "线索评分", "分数", "lead score", "rating"),
    "owner": ("负责人", "所有人", "销售", "跟进人", "lead owner", "sales rep", "assigned to"),
    "notes": ("备注", "说明", "remarks", "comment", "comments"),
}
STATUS_FIELDS = ("status", "unqualified_reason")
"""Keys that go through the lead workflow rather than ``update_lead``."""
LEAD_DUPLICATE_FIELDS: dict[Rule, str] = {Rule.TAX_ID: "company_code", Rule.EMAIL: "email", Rule.PHONE: "phone",
                                          Rule.NAME: "company"}
"""The lead duplicate rules of the CRM (``services.find_lead_duplicates``): leads and contacts by email
or phone, accounts by tax id or company name. Leads and contacts give no company fields here, so
only accounts match by company."""


def build_lead(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The lead service data of one row (storage form); cell problems go to ``errors``."""
    data: dict[str, Any] = {}
    text_values: dict[str, str] = {}
    for key, text in importkit.clean(values):
        try:
            if key == "industry":
                data[key] = context.parse_choice(text, Account.Industry.choices)
            elif key == "source":
                data[key] = context.parse_choice(text, Source.choices)
            elif key == "status":
                status = context.parse_choice(text, Lead.Status.choices)
                if status == Lead.Status.CONVERTED:
                    raise ValueError(gettext("A lead is converted with the Convert action, not by an import."))
                data[key] = status
            elif key == "score":
                data[key] = importkit.parse_int(text, context, low=0, high=100)
            elif key == "owner":
                data[key] = context.resolve_user(text, Lead)
            else:
                text_values[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    normalized, problems = services.normalize_lead(text_values)
    for key, messages in problems.items():
        errors.setdefault(key, " ".join(messages))
    data.update({key: value for key, value in normalized.items() if key not in problems})
    if data.get("status") == Lead.Status.UNQUALIFIED and not data.get("unqualified_reason"):
        errors.setdefault("status", gettext("Say why the lead is not qualified (the reason column)."))
    if not data.get("email") and data.get("name"):
        found = _by_name(context).get((data["name"], data.get("company", "")))
        if found is not None:
            data["id"] = found
    return data


def _by_name(context: Any) -> dict[tuple[str, str], Any]:
    """(name, company) → id of the readable leads without email for which that pair is unique (read once a run)."""
    lookup: dict[tuple[str, str], Any] | None = context.cache.get("crm.lead:by-name")
    if lookup is None:
        lookup = {}
        rows = selectors.list_leads(context.user, "view").filter(email="").order_by("pk").values_list(
            "pk", "name", "company")
        for pk, name, company in rows.iterator(chunk_size=5000):
            lookup[(name, company)] = None if (name, company) in lookup else pk
        context.cache["crm.lead:by-name"] = lookup
    return lookup


def create_lead(data: Mapping[str, Any], actor: Any) -> Lead:
    """``create_lead`` (duplicates are the engine's business: the batch's policy decides), then the
    workflow to the row's status."""
    fields = {key: value for key, value in data.items() if key not in (*STATUS_FIELDS, "id")}
    lead = services.create_lead(fields, actor=actor, allow_duplicate=True)
    return _move(lead, data, actor)


def update_lead(lead: Lead, data: Mapping[str, Any], actor: Any) -> Lead:
    """``update_lead`` with the values that differ (none: nothing is written), then the workflow."""
    fields = importkit.changed(lead, data, skip=(*STATUS_FIELDS, "id"))
    if fields:
        lead = services.update_lead(lead, fields, actor=actor)
    return _move(lead, data, actor)


def _move(lead: Lead, data: Mapping[str, Any], actor: Any) -> Lead:
    status = data.get("status")
    if not status or status == lead.status:
        return lead
    if lead.status not in Lead.EDITABLE_STATUSES:
        raise services.LeadNotEditable(gettext("%(lead)s was converted and can no longer be changed.")
                                       % {"lead": lead})
    if status not in Lead.TRANSITIONS.get(Lead.Status(lead.status), frozenset()):
        message = gettext("A lead cannot go from “%(old)s” to “%(new)s”.") % {
            "old": lead.get_status_display(), "new": Lead.Status(status).label}
        raise ValidationFailed(message, fields={"status": [message]})
    return services.change_lead_status(lead, status, actor=actor, reason=data.get("unqualified_reason") or "")


def _variants(fields: Mapping[str, Any]) -> list[Mapping[str, object]]:
    """A lead matches by email, its mobile and its office phone (each against both of the other's),
    and by its company's tax id and name (accounts only: see :data:`LEAD_DUPLICATE_FIELDS`)."""
    return [{"email": fields.get("email"), "phone": fields.get("mobile"), "company": fields.get("company"),
             "company_code": fields.get("company_code")}, {"phone": fields.get("phone")}]


def _readable_elsewhere(user: Any) -> Iterable[tuple[Elsewhere, Mapping[str, object]]]:
    """The contacts (email, both phones) and accounts (tax id, name) ``user`` may see, which the CRM's
    lead duplicate rules compare a new lead with."""
    contact_kind, account_kind = Contact._meta.verbose_name, Account._meta.verbose_name
    contacts = (access.restrict(Contact.objects.all(), user, "view").order_by()
                .values_list("pk", "name", "email", "mobile", "phone"))
    for pk, name, email, mobile, phone in contacts.iterator(chunk_size=5000):
        record = Elsewhere(f"{contact_kind} {name}", pk)
        yield record, {"email": email, "phone": mobile}
        yield record, {"phone": phone}
    accounts = access.restrict(Account.objects.all(), user, "view").order_by().values_list("pk", "name", "code")
    for pk, name, code in accounts.iterator(chunk_size=5000):
        yield Elsewhere(f"{account_kind} {name}", pk), {"company": name, "company_code": code}


def _readable_leads(user: Any) -> Iterable[tuple[Any, Mapping[str, object]]]:
    rows = (selectors.list_leads(user, "view").select_related(None).prefetch_related(None)
            .values("pk", "name", "email", "mobile", "phone").order_by())
    return ((row["pk"], row) for row in rows.iterator(chunk_size=5000))


IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.lead",
    "model": Lead,
    "label": _("Leads"),
    "field_names": LEAD_IMPORT_FIELDS,
    "required": ("name",),
    "synonyms": SYNONYMS,
    "build": build_lead,
    "create": create_lead,
    "update": update_lead,
    "delete": lambda lead, actor: services.delete_lead(lead, actor=actor),
    "natural_keys": ("email", "id"),
    "duplicate_fields": LEAD_DUPLICATE_FIELDS,
    "duplicate_records": _readable_leads,
    "duplicate_variants": _variants,
    "duplicate_elsewhere": _readable_elsewhere,
    "duplicate_name_key": company_key,
    "custom_fields": True,
}]

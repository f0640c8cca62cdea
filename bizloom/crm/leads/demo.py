"""Demo leads: Chinese and foreign prospects in every status, with sources and scores; some are
converted through the conversion service (into the existing customer they turned out to be, so the
demo account book keeps its size), a few name companies that are already accounts (written another
way) so that the conversion page has matches to show."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from bizloom.crm.demo import CHINESE_ROLES, ENGLISH_ROLES, MOBILE_PREFIXES, generate_accounts
from bizloom.crm.leads import conversion, services
from bizloom.crm.models import Account, Contact, Lead, Source
from bizloom.crm.normalize import InvalidValue, normalize_phone, to_simplified
from bizloom.platform import demo

demo.grant("sales", "crm.view_lead", "crm.add_lead", "crm.change_lead", "crm.export_lead", "crm.convert_lead")
demo.grant("manager", "crm.view_lead", "crm.add_lead", "crm.change_lead", "crm.delete_lead", "crm.export_lead",
           "crm.import_lead", "crm.convert_lead")

SOURCE_WEIGHTS = ((Source.WEBSITE, 30), (Source.REFERRAL, 15), (Source.TRADE_SHOW, 15), (Source.CAMPAIGN, 12),
                  (Source.COLD_CALL, 10), (Source.PARTNER, 8), (Source.ADVERTISING, 7), (Source.OTHER, 3))
# status → (weight, score range)
STATUSES = {Lead.Status.NEW: (35, (5, 45)), Lead.Status.CONTACTED: (25, (25, 70)),
            Lead.Status.QUALIFIED: (20, (60, 95)), Lead.Status.UNQUALIFIED: (10, (0, 30)),
            Lead.Status.CONVERTED: (10, (70, 100))}
CAMPAIGNS = ("2025 春季工业展", "官网白皮书下载", "华东区客户答谢会", "618 线上推广", "Webinar: Smart Factory")
UNQUALIFIED_REASONS = ("预算不足", "已选择竞争对手", "暂无采购需求", "联系方式无效", "非目标行业")
NOTES = ("对产线自动化改造感兴趣，希望下月安排上门演示。", "询价 200 台设备，要求季度内交付。",
         "展会上留下名片，需电话跟进。", "客户正在比较三家供应商。", "")
# A few leads name demo accounts another way (Traditional characters, another legal form).
MATCHING_LEADS = 3


def _weighted(rng: Any, options: Any) -> Any:
    items = list(options.items()) if isinstance(options, dict) else list(options)
    return rng.choices([k for k, _w in items], weights=[w[0] if isinstance(w, tuple) else w for _k, w in items])[0]


def _person(rng: Any, fake: Any, company: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in company["name"])
    if chinese:
        name, romanized = fake["zh_CN"].name(), fake["zh_CN"].romanized_name()
        position = rng.choice(CHINESE_ROLES)[0]
    else:
        name = romanized = f"{fake['en_US'].first_name()} {fake['en_US'].last_name()}"
        position = rng.choice(ENGLISH_ROLES)[0]
    domain = company["email"].rsplit("@", 1)[-1]
    local = ".".join(re.findall(r"[a-z]+", romanized.lower())) or "lead"
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randint(2, 99)}@{domain}"
    taken.add(email)
    mobile = ""
    if chinese:
        mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        while mobile in taken:
            mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        taken.add(mobile)
    return {"name": name, "position": position, "email": email, "mobile": mobile}


@demo.builder("crm.leads", order=60)
def build_leads(ctx: demo.DemoContext) -> None:
    """Leads (small 40, medium 400, large 4,000; ``--leads N``) owned by the sales reps in turn."""
    count = ctx.quantity("leads", small=40, medium=400, large=4000, per_account=0.7)
    reps = ctx.sales_reps or [ctx.users["admin"]]
    actor = ctx.users["admin"]
    rng = ctx.rng
    taken: set[str] = set(Lead.objects.values_list("email", flat=True))
    companies = generate_accounts(rng, ctx.fake, count)
    existing = list(Account.objects.exclude(code="").order_by("pk")[:MATCHING_LEADS])
    customers = list(Contact.objects.filter(account__isnull=False).select_related("account").order_by("pk"))
    converted = 0
    for index, company in enumerate(companies):
        owner = reps[index % len(reps)]
        status = _weighted(rng, STATUSES)
        source = _weighted(rng, SOURCE_WEIGHTS)
        values: dict[str, Any] = {
            **_person(rng, ctx.fake, company, taken), "company": company["name"], "company_code":
            company["code"] if rng.random() < 0.5 else "", "industry": company["industry"], "city": company["city"],
            "phone": _phone(company["phone"]), "website": company["website"], "source": source,
            "campaign": rng.choice(CAMPAIGNS) if source == Source.CAMPAIGN else "",
            "score": rng.randint(*STATUSES[status][1]), "owner": owner, "notes": rng.choice(NOTES),
        }
        if index < len(existing):  # the same company as an account, written another way
            account = existing[index]
            other_form = (account.name.replace("股份有限公司", "有限公司") if "股份有限公司" in account.name
                          else account.name.replace("有限公司", "股份有限公司"))
            values["company"] = other_form if index % 2 == 0 else _traditional(account.name)
            values["company_code"] = account.code if index == 0 else ""
            status = Lead.Status.QUALIFIED
        contact = None
        if status == Lead.Status.CONVERTED:
            # A lead that turns out to be a person at an existing customer: converted into them.
            contact = rng.choice(customers) if customers else None
            if contact is None:
                status = Lead.Status.QUALIFIED
            else:
                values.update({"name": contact.name, "position": contact.position, "company": str(contact.account),
                               "email": contact.email, "mobile": contact.mobile, "owner": contact.owner or owner})
        lead = services.create_lead(values, actor=actor, allow_duplicate=True)
        if contact is not None:
            conversion.convert_lead(lead, actor=actor, account=contact.account, contact=contact,
                                    opportunity={"amount": Decimal(rng.randint(5, 500) * 10_000)})
            converted += 1
        elif status != Lead.Status.NEW:
            path = {Lead.Status.CONTACTED: [Lead.Status.CONTACTED],
                    Lead.Status.QUALIFIED: [Lead.Status.CONTACTED, Lead.Status.QUALIFIED],
                    Lead.Status.UNQUALIFIED: [Lead.Status.CONTACTED, Lead.Status.UNQUALIFIED]}[status]
            for step in path:
                services.change_lead_status(lead, step, actor=actor, reason=rng.choice(UNQUALIFIED_REASONS))
    ctx.created("leads", count)
    ctx.created("converted leads", converted)


def _phone(text: str) -> str:
    """The company's switchboard when it is a valid number (made-up foreign ones are not)."""
    try:
        return normalize_phone(text)
    except InvalidValue:
        return ""


_TRADITIONAL = str.maketrans({"华": "華", "为": "為", "科": "科", "技": "技", "电": "電", "贸": "貿", "龙": "龍",
                              "东": "東", "广": "廣", "汉": "漢", "门": "門", "庆": "慶", "宁": "寧", "无": "無",
                              "锡": "錫", "宏": "宏", "兴": "興", "达": "達", "联": "聯", "讯": "訊", "远": "遠",
                              "国": "國", "际": "際", "运": "運", "输": "輸", "业": "業", "机": "機", "械": "械"})


def _traditional(name: str) -> str:
    """``name`` with common characters in Traditional form (still the same company for the matcher)."""
    text = name.translate(_TRADITIONAL)
    return text if to_simplified(text) == name else name

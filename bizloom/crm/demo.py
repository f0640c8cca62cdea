"""The CRM part of the demo company: accounts, mostly Chinese companies, some foreign ones, and their contacts."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

from faker import Faker

from bizloom.crm.models import Account, Contact
from bizloom.crm.services import create_account, create_contact
from bizloom.platform import demo

demo.grant("sales", "crm.view_account", "crm.add_account", "crm.change_account", "crm.export_account")
demo.grant("manager", "crm.view_account", "crm.add_account", "crm.change_account", "crm.export_account",
           "crm.delete_account", "crm.import_account")
demo.grant("sales", "crm.view_contact", "crm.add_contact", "crm.change_contact", "crm.export_contact")
demo.grant("manager", "crm.view_contact", "crm.add_contact", "crm.change_contact", "crm.export_contact",
           "crm.delete_contact", "crm.import_contact")

# City, administrative division code (for the USCC), telephone area code.
CITIES: tuple[tuple[str, str, str], ...] = (
    ("杭州", "330100", "0571"), ("上海", "310100", "021"), ("北京", "110100", "010"),
    ("深圳", "440300", "0755"), ("广州", "440100", "020"), ("苏州", "320500", "0512"),
    ("南京", "320100", "025"), ("成都", "510100", "028"), ("武汉", "420100", "027"),
    ("宁波", "330200", "0574"), ("无锡", "320200", "0510"), ("东莞", "441900", "0769"),
    ("佛山", "440600", "0757"), ("青岛", "370200", "0532"), ("厦门", "350200", "0592"),
    ("西安", "610100", "029"), ("长沙", "430100", "0731"), ("合肥", "340100", "0551"),
    ("天津", "120100", "022"), ("重庆", "500100", "023"), ("温州", "330300", "0577"),
    ("郑州", "410100", "0371"),
)
BRAND_FIRST = "云华恒瑞鼎博锦金天宏中新立安盛嘉德泰永众汇卓弘凯"
BRAND_SECOND = "启信达丰盛远程桥成图联锐讯康源和晟航辉宇创拓邦诚"
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    Account.Industry.MANUFACTURING: ("机械制造", "精密机械", "电子", "新材料", "汽车零部件", "智能装备"),
    Account.Industry.WHOLESALE: ("商贸", "贸易", "供应链管理", "电子商务"),
    Account.Industry.SOFTWARE: ("科技", "信息技术", "软件", "网络科技", "数据科技"),
    Account.Industry.CONSTRUCTION: ("建设工程", "建筑", "装饰工程", "建材"),
    Account.Industry.LOGISTICS: ("物流", "运输", "国际货运代理"),
    Account.Industry.HEALTHCARE: ("医疗器械", "生物科技", "医药"),
    Account.Industry.EDUCATION: ("教育科技", "文化传播"),
    Account.Industry.FINANCE: ("融资租赁", "投资管理"),
    Account.Industry.OTHER: ("实业", "企业管理咨询"),
}
INDUSTRY_WEIGHTS: dict[str, int] = {
    Account.Industry.MANUFACTURING: 30, Account.Industry.WHOLESALE: 18, Account.Industry.SOFTWARE: 18,
    Account.Industry.CONSTRUCTION: 8, Account.Industry.LOGISTICS: 8, Account.Industry.HEALTHCARE: 7,
    Account.Industry.EDUCATION: 4, Account.Industry.FINANCE: 3, Account.Industry.OTHER: 4,
}
LEGAL_FORMS = (("有限公司", 80), ("股份有限公司", 12), ("有限责任公司", 8))
FOREIGN_CITIES: tuple[tuple[str, str, str], ...] = (
    ("Singapore", "SGD", "+65"), ("London", "GBP", "+44"), ("San Francisco", "USD", "+1"),
    ("Frankfurt", "EUR", "+49"), ("Sydney", "AUD", "+61"), ("Tokyo", "JPY", "+81"),
    ("New York", "USD", "+1"), ("Hong Kong", "HKD", "+852"),
)
ENGLISH_SUFFIXES = ("Inc.", "Ltd.", "LLC", "GmbH", "Pte. Ltd.", "Co., Ltd.")
FOREIGN_SHARE = 0.15

# GB 32100-2015 unified social credit code: 31-character alphabet and check weights.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997 organisation code check weights.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check(body: str) -> str:
    """Check character of an 8-digit organisation code body (GB 11714)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check(first17: str) -> str:
    """Check character of a unified social credit code from its first 17 characters (GB 32100)."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(rng: random.Random, division: str) -> str:
    """A well-formed (check digits valid) but made-up USCC of an enterprise registered in ``division``."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = "91" + division + body + org_code_check(body)
    return first17 + uscc_check(first17)


def _weighted(rng: random.Random, options: dict[str, int] | tuple[tuple[str, int], ...]) -> str:
    items = list(options.items()) if isinstance(options, dict) else list(options)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items], k=1)[0]


def _tier(rng: random.Random) -> str:
    return _weighted(rng, ((Account.Tier.A, 10), (Account.Tier.B, 30), (Account.Tier.C, 60)))


def size_for_revenue(revenue: Decimal, *, per_person: Decimal) -> str:
    """A plausible head count band for ``revenue`` at ``per_person`` revenue per employee."""
    people = revenue / per_person
    for limit, size in ((10, Account.Size.MICRO), (50, Account.Size.SMALL), (200, Account.Size.MEDIUM),
                        (1000, Account.Size.LARGE)):
        if people < limit:
            return str(size)
    return str(Account.Size.ENTERPRISE)


def chinese_account(rng: random.Random, fake: Faker, taken: set[str]) -> dict[str, Any]:
    """Field values of one plausible Chinese company, e.g. 杭州云启科技有限公司."""
    for _ in range(1000):
        city, division, area = rng.choice(CITIES)
        industry = _weighted(rng, INDUSTRY_WEIGHTS)
        name = (city + rng.choice(BRAND_FIRST) + rng.choice(BRAND_SECOND)
                + rng.choice(INDUSTRY_WORDS[industry]) + _weighted(rng, LEGAL_FORMS))
        if name not in taken:
            break
    taken.add(name)
    domain = fake["en_US"].domain_word() + rng.choice((".com", ".cn", ".com.cn"))
    tier = _tier(rng)
    revenue_range = {"a": (50_000_000, 2_000_000_000), "b": (5_000_000, 50_000_000), "c": (300_000, 5_000_000)}
    return {
        "name": name,
        "code": make_uscc(rng, division),
        "industry": industry,
        "tier": tier,
        "city": city,
        "phone": f"{area}-{rng.randint(2, 8)}{rng.randint(0, 9_999_999):07d}",
        "email": f"{rng.choice(('info', 'sales', 'contact', 'service'))}@{domain}",
        "website": f"https://www.{domain}",
        "annual_revenue": (revenue := Decimal(rng.randint(*revenue_range[tier]) // 10_000 * 10_000)),
        "size": size_for_revenue(revenue, per_person=Decimal(600_000)),
        "currency": "CNY",
        "is_customer": rng.random() < 0.92,
        "is_supplier": rng.random() < 0.15,
    }


def foreign_account(rng: random.Random, fake: Faker, taken: set[str]) -> dict[str, Any]:
    """Field values of one English-named foreign company."""
    en = fake["en_US"]
    for _ in range(1000):
        name = f"{en.last_name()} {rng.choice(('Systems', 'Industries', 'Trading', 'Logistics', 'Labs'))} " \
               f"{rng.choice(ENGLISH_SUFFIXES)}"
        if name not in taken:
            break
    taken.add(name)
    city, currency, calling = rng.choice(FOREIGN_CITIES)
    domain = en.domain_word() + ".com"
    tier = _tier(rng)
    return {
        "name": name,
        "code": f"{rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}",
        "industry": _weighted(rng, INDUSTRY_WEIGHTS),
        "tier": tier,
        "city": city,
        "phone": f"{calling} {rng.randint(200, 999)} {rng.randint(1000, 9999)} {rng.randint(100, 999)}",
        "email": f"contact@{domain}",
        "website": f"https://{domain}",
        "annual_revenue": (revenue := Decimal(rng.randint(100, 50_000) * 1000)),
        "size": size_for_revenue(revenue, per_person=Decimal(200_000)),
        "currency": currency,
        "is_customer": True,
        "is_supplier": rng.random() < 0.3,
    }


def generate_accounts(rng: random.Random, fake: Faker, count: int) -> list[dict[str, Any]]:
    """Field values of ``count`` accounts (about 85% Chinese), reproducible from ``rng`` and ``fake``."""
    taken: set[str] = set()
    return [
        (foreign_account if rng.random() < FOREIGN_SHARE else chinese_account)(rng, fake, taken)
        for _ in range(count)
    ]


@demo.builder("crm.accounts", order=20)
def build_accounts(ctx: demo.DemoContext) -> None:
    """Accounts owned by the sales reps in turn (small 60, medium 600, large 6,000; ``--accounts N``)."""
    count = ctx.quantity("accounts", small=60, medium=600, large=6000)
    reps = ctx.sales_reps or [ctx.users["admin"]]
    actor = ctx.users["admin"]
    for index, values in enumerate(generate_accounts(ctx.rng, ctx.fake, count)):
        create_account({**values, "owner": reps[index % len(reps)]}, actor=actor)
    ctx.created("accounts", count)


# Contacts: (position, department) in Chinese and English companies.
CHINESE_ROLES = (("总经理", "总经办"), ("副总经理", "总经办"), ("采购经理", "采购部"), ("采购专员", "采购部"),
                 ("财务经理", "财务部"), ("技术总监", "技术部"), ("IT经理", "信息部"), ("行政主管", "行政部"),
                 ("销售总监", "销售部"), ("生产经理", "生产部"))
ENGLISH_ROLES = (("CEO", "Management"), ("Purchasing Manager", "Purchasing"), ("Buyer", "Purchasing"),
                 ("CFO", "Finance"), ("CTO", "Engineering"), ("Operations Manager", "Operations"))
# Mobile prefixes in service on the mainland (libphonenumber knows them as mobile ranges).
MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182",
                   "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180",
                   "181", "189")


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def contact_values(rng: random.Random, fake: Faker, account: Account, taken: set[str]) -> dict[str, Any]:
    """Field values of one contact of ``account``: a Chinese person with a mainland mobile for a
    Chinese company, an English-named one otherwise; email at the company's domain.

    ``taken`` holds the emails and mobiles handed out so far, so that no two demo contacts
    look like duplicates of each other.
    """
    chinese = _is_chinese(account.name)
    domain = account.email.rsplit("@", 1)[-1] if "@" in account.email else "example.com"
    if chinese:
        name = fake["zh_CN"].name()
        position, department = rng.choice(CHINESE_ROLES)
        romanized = fake["zh_CN"].romanized_name()
    else:
        name = romanized = f"{fake['en_US'].first_name()} {fake['en_US'].last_name()}"
        position, department = rng.choice(ENGLISH_ROLES)
    local = ".".join(re.findall(r"[a-z]+", romanized.lower())) or "contact"
    email = f"{local}@{domain}"
    for attempt in range(2, 1000):
        if email not in taken:
            break
        email = f"{local}{attempt}@{domain}"
    taken.add(email)
    mobile = ""
    if chinese or rng.random() < 0.3:
        for _ in range(1000):
            mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
            if mobile not in taken:
                break
        taken.add(mobile)
    birthday = fake["en_US"].date_of_birth(minimum_age=25, maximum_age=60) if rng.random() < 0.4 else None
    return {
        "name": name,
        "position": position,
        "department": department,
        "account": account,
        "mobile": mobile,
        "email": email,
        "wechat_id": f"wx_{local.replace('.', '_')}{rng.randint(10, 99)}" if chinese and rng.random() < 0.6 else "",
        "birthday": birthday,
        "consent_email": rng.random() < 0.6,
        "consent_sms": chinese and rng.random() < 0.4,
    }


@demo.builder("crm.contacts", order=21)
def build_contacts(ctx: demo.DemoContext) -> None:
    """One to three contacts per demo account, owned by the account's owner."""
    actor = ctx.users["admin"]
    # A forced second run adds accounts next to the old ones: give contacts only to accounts
    # without any, and avoid the emails and mobiles already in use (stored in E.164).
    taken: set[str] = set()
    for email, mobile in Contact.objects.values_list("email", "mobile"):
        taken.update({email, mobile.removeprefix("+86")})
    count = 0
    for account in Account.objects.filter(contacts__isnull=True, linked_contacts__isnull=True).order_by("pk"):
        for _ in range(ctx.rng.randint(1, 3)):
            values = contact_values(ctx.rng, ctx.fake, account, taken)
            create_contact({**values, "owner": account.owner or actor}, actor=actor)
            count += 1
    ctx.created("contacts", count)

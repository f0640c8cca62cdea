"""The pipeline part of the demo company: about two opportunities per account, with product
lines, competitors and stage histories that progressed over weeks; about a quarter won and a
fifth lost (with reasons), the rest open and closing over the next three months."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bizloom.crm.models import Account, Competitor, LossReason, Opportunity, Pipeline, Stage, StageHistory
from bizloom.crm.pipeline import services
from bizloom.platform import demo

OPPORTUNITY = ("view", "add", "change")
demo.grant("sales", *(f"crm.{a}_opportunity" for a in OPPORTUNITY))
demo.grant("manager", *(f"crm.{a}_opportunity" for a in (*OPPORTUNITY, "delete", "export", "import")),
           *(f"crm.{a}_{m}" for m in ("pipeline", "stage", "lossreason", "competitor")
             for a in ("view", "add", "change", "delete")))

# (Chinese name, English name, unit price range in CNY)
PRODUCTS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("工业机器人 IRB-120", "Industrial robot IRB-120", (150_000, 220_000)),
    ("协作机器人 CR-10", "Collaborative robot CR-10", (90_000, 140_000)),
    ("数控机床 VMC-850", "CNC machining centre VMC-850", (220_000, 320_000)),
    ("激光切割机 LC-3015", "Laser cutter LC-3015", (380_000, 560_000)),
    ("视觉检测系统 VS-200", "Vision inspection system VS-200", (60_000, 120_000)),
    ("AGV 搬运机器人", "AGV transport robot", (80_000, 150_000)),
    ("PLC 控制柜", "PLC control cabinet", (25_000, 60_000)),
    ("伺服电机 SM-750", "Servo motor SM-750", (3_000, 6_000)),
    ("MES 制造执行系统许可", "MES licence", (150_000, 400_000)),
    ("ERP 实施服务", "ERP implementation services", (80_000, 300_000)),
    ("年度维保服务", "Annual maintenance service", (20_000, 80_000)),
    ("操作培训（人天）", "Operator training (days)", (2_500, 4_000)),
)
PROJECTS_ZH = ("产线自动化改造", "智能工厂一期", "焊装线升级", "仓储自动化", "设备更新采购", "数字化车间",
               "质量检测升级", "年度框架采购", "新厂房设备", "信息化建设")
PROJECTS_EN = ("Line automation", "Smart factory phase 1", "Equipment renewal", "Warehouse automation",
               "Quality inspection upgrade", "Annual framework purchase", "New plant equipment")
NEXT_STEPS_ZH = ("下周二现场演示", "发送修订报价", "安排技术交流会", "等待客户预算审批", "约见采购总监",
                 "提交方案书", "安排样机试用", "商务条款确认")
NEXT_STEPS_EN = ("Send revised quote", "On-site demo next week", "Technical workshop", "Meet the purchasing director",
                 "Wait for budget approval")
CAMPAIGNS = ("2025 工博会", "线上研讨会：智能制造", "老客户推荐", "官网询盘", "")
COMPETITORS = (
    ("发那科 FANUC", "https://www.fanuc.co.jp", "品牌知名度高，机器人产品线全", "价格偏高，交期长"),
    ("库卡 KUKA", "https://www.kuka.com", "汽车行业经验丰富", "本地服务响应慢"),
    ("ABB", "https://new.abb.com", "产品线全面", "定制化灵活性不足"),
    ("西门子 Siemens", "https://www.siemens.com", "自动化与软件一体化", "项目实施成本高"),
    ("汇川技术 Inovance", "https://www.inovance.com", "性价比高，本土化服务", "高端产品经验较少"),
    ("用友 Yonyou", "https://www.yonyou.com", "ERP 市场占有率高", "制造业深度不足"),
    ("金蝶 Kingdee", "https://www.kingdee.com", "云产品成熟", "大型项目交付能力有限"),
)
OPEN_STAGE_WEIGHTS = (30, 25, 25, 20)  # where open opportunities stand now, by open stage


def _chinese(account: Account) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in account.name)


def _competitors(actor: Any) -> list[Competitor]:
    found = []
    for name, website, strengths, weaknesses in COMPETITORS:
        existing = Competitor.objects.filter(name=name).first()
        found.append(existing or services.create_competitor(
            {"name": name, "website": website, "strengths": strengths, "weaknesses": weaknesses}, actor=actor))
    return found


def _lines(rng: random.Random, chinese: bool, currency: str, close: dt.date) -> list[dict[str, Any]]:
    rate = Decimal(1) if currency == "CNY" else Decimal("7.2") if currency == "USD" else Decimal("7.8")
    lines = []
    for product_zh, product_en, (low, high) in rng.sample(PRODUCTS, rng.randint(1, 3)):
        quantity = rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 10)) if high > 20_000 else rng.choice((5, 10, 20, 50))
        price = (Decimal(rng.randint(low, high)) / rate).quantize(Decimal(100))
        lines.append({"product_name": product_zh if chinese else product_en, "quantity": quantity,
                      "unit_price": price, "discount_percent": Decimal(rng.choice((0, 0, 0, 3, 5, 8, 10))),
                      "delivery_date": close + dt.timedelta(days=rng.randint(20, 90)) if rng.random() < 0.6 else None})
    return lines


def _plan(rng: random.Random, today: dt.date) -> tuple[str, int, dt.date, dt.date]:
    """(outcome, open stages passed, created on, expected close) of one opportunity."""
    roll = rng.random()
    if roll < 0.25:
        outcome = "won"
    elif roll < 0.45:
        outcome = "lost"
    else:
        outcome = "open"
    if outcome == "open":
        close = today + dt.timedelta(days=rng.randint(-20, 92))
        created = min(today - dt.timedelta(days=3), close - dt.timedelta(days=rng.randint(30, 150)))
        reached = rng.choices((1, 2, 3, 4), weights=OPEN_STAGE_WEIGHTS)[0]
    else:
        close = today - dt.timedelta(days=rng.randint(3, 270))
        created = close - dt.timedelta(days=rng.randint(25, 120))
        reached = rng.randint(3, 4) if outcome == "won" else rng.randint(1, 4)
    return outcome, reached, created, close


def _timestamps(rng: random.Random, start: dt.date, end: dt.date, steps: int) -> list[dt.datetime]:
    """``steps`` increasing office-hour moments from ``start`` to at most ``end`` (and now)."""
    now = timezone.now()
    span = max((end - start).days, steps)
    days = sorted(rng.sample(range(1, span + 1), steps - 1)) if steps > 1 else []
    moments = []
    for day in [0, *days]:
        date = start + dt.timedelta(days=day)
        moment = dt.datetime(date.year, date.month, date.day, rng.randint(9, 17), rng.randint(0, 59),
                             tzinfo=timezone.get_current_timezone())
        moments.append(min(moment, now - dt.timedelta(minutes=steps)))
    for index in range(1, len(moments)):  # strictly increasing, even when clipped to now
        if moments[index] <= moments[index - 1]:
            moments[index] = moments[index - 1] + dt.timedelta(minutes=1)
    return moments


def _backdate(opportunity: Opportunity, moments: list[dt.datetime], closed: bool) -> None:
    """Give the history the dates it had (the demo is history: a queryset update, no audit)."""
    rows = list(StageHistory.objects.filter(opportunity=opportunity).order_by("pk"))
    for index, row in enumerate(rows):
        left = moments[index + 1] if index + 1 < len(rows) else None
        StageHistory.objects.filter(pk=row.pk).update(entered_at=moments[index], left_at=left)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        created_at=moments[0], stage_changed_at=moments[len(rows) - 1],
        closed_at=moments[len(rows) - 1] if closed else None)


@demo.builder("crm.pipeline", order=30)
def build_pipeline(ctx: demo.DemoContext) -> None:
    """Opportunities of the default pipeline (small 120, medium 1,200, large 12,000; ``--opportunities N``),
    owned by their account's owner, each moved through its stages by that owner."""
    rng = ctx.rng
    admin = ctx.users["admin"]
    pipeline = Pipeline.objects.filter(is_default=True).first() or services.create_pipeline(
        {"name": "New business", "name_zh_hans": "新业务", "name_zh_hant": "新業務", "is_default": True}, actor=admin)
    stages = list(pipeline.stages.filter(is_active=True).order_by("position", "pk"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    reasons = list(LossReason.objects.filter(is_active=True).order_by("pk"))
    competitor_reason = next((r for r in reasons if r.name == "Chose a competitor"), None)
    rivals = _competitors(admin)
    accounts = list(Account.objects.filter(is_customer=True).select_related("owner").order_by("pk"))
    count = ctx.quantity("opportunities", small=120, medium=1200, large=12000, per_account=2) if accounts else 0
    today = timezone.localdate()
    for index in range(count):
        account = accounts[(index * 5 + rng.randint(0, 4)) % len(accounts)]
        owner = account.owner or admin
        chinese = _chinese(account)
        currency = "CNY" if chinese else ("EUR" if account.currency == "EUR" else "USD")
        outcome, reached, created, close = _plan(rng, today)
        contact = account.contacts.order_by("pk").first()
        data: dict[str, Any] = {
            "name": (rng.choice(PROJECTS_ZH) if chinese
                     else f"{rng.choice(PROJECTS_EN)} – {account.name.split()[0]}"),
            "account": account, "contact": contact, "owner": owner, "pipeline": pipeline, "currency": currency,
            "expected_close": close, "source": rng.choice(("website", "referral", "trade_show", "campaign", "cold_call",
                                                 "existing_customer", "")),
            "campaign": rng.choice(CAMPAIGNS) if chinese else "",
            "next_step": rng.choice(NEXT_STEPS_ZH if chinese else NEXT_STEPS_EN) if outcome == "open" else "",
        }
        if rng.random() < 0.8:
            data["lines"] = _lines(rng, chinese, currency, close)
        else:
            data["amount"] = Decimal(rng.randint(5, 300) * 10_000 if currency == "CNY" else rng.randint(5, 400) * 1000)
        if rng.random() < (0.7 if outcome == "lost" else 0.3):
            data["competitors"] = rng.sample(rivals, rng.randint(1, 2))
        data = {k: v for k, v in data.items() if v not in (None, "") or k in ("name",)}
        opportunity = services.create_opportunity(data, actor=owner)
        path = [s for s in open_stages[1:reached]]
        if outcome == "won":
            path.append(won)
        for stage in path:
            opportunity = services.move_stage(opportunity, stage, actor=owner)
        if outcome == "lost":
            reason = competitor_reason if data.get("competitors") and competitor_reason and rng.random() < 0.6 \
                else rng.choice(reasons)
            note = rng.choice(("客户选择了价格更低的方案", "项目延期至明年", "预算被削减", "")) if chinese else ""
            opportunity = services.move_stage(opportunity, lost, actor=owner, loss_reason=reason, loss_note=note)
        steps = len(path) + 1 + (1 if outcome == "lost" else 0)
        end = close if outcome != "open" else today
        _backdate(opportunity, _timestamps(rng, created, end, steps), closed=outcome != "open")
    ctx.created("opportunities", count)

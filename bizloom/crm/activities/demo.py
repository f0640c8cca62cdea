"""The activities of the demo company: past calls and visits with their results, upcoming tasks and
meetings, a few overdue tasks and weekly follow-up calls; Chinese for Chinese accounts."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from bizloom.crm.activities.services import create_activity
from bizloom.crm.models import Account, Activity, Contact, Opportunity
from bizloom.platform import demo

ACTIVITY_PERMS = ("crm.view_activity", "crm.add_activity", "crm.change_activity", "crm.export_activity")
demo.grant("sales", *ACTIVITY_PERMS)
demo.grant("manager", *ACTIVITY_PERMS, "crm.delete_activity", "crm.import_activity")

CALL_SUBJECTS_ZH = ("电话回访：{contact}", "跟进报价进展", "确认交货期", "了解采购计划", "催收预付款")
CALL_RESULTS_ZH = (
    "客户对报价基本认可，下周安排技术交流",
    "采购经理出差中，约定下周二上午再联系",
    "客户反馈今年预算收紧，需要调整方案后再报价",
    "已确认需求数量，等待客户内部审批流程",
    "客户对交期有顾虑，需与生产部协调排产计划",
    "客户希望在合同中增加两年免费维保条款",
    "竞争对手报价低约8%，客户要求我们给出最终价格",
    "样品测试通过，客户准备小批量试单",
)
VISIT_SUBJECTS_ZH = ("拜访{account}", "上门演示新产品", "现场查看设备运行情况")
VISIT_RESULTS_ZH = (
    "拜访总经理，了解到明年有扩产计划，预计新增两条产线",
    "现场查看设备运行情况，客户对稳定性满意，提出备件需求",
    "与技术部沟通接口方案，需要我方工程师二次确认参数",
    "演示效果良好，客户邀请我们参加下月的招标",
)
MEETING_SUBJECTS_ZH = ("技术交流会", "合同条款沟通会", "季度业务回顾", "方案评审会")
TASK_SUBJECTS_ZH = ("准备报价单", "发送产品资料和案例", "整理会议纪要并发给客户", "提交合同审批", "申请特价支持")
NOTE_TEXTS_ZH = ("客户决策链：采购经理提需求，总经理最终拍板", "客户偏好微信沟通，邮件回复较慢")
EMAIL_SUBJECTS_ZH = ("发送报价邮件", "发送会议邀请")
FOLLOW_UP_ZH = "每周跟进电话"

CALL_SUBJECTS_EN = ("Follow-up call with {contact}", "Check on the quote", "Confirm delivery dates")
CALL_RESULTS_EN = (
    "The customer broadly accepts the quote; technical workshop next week.",
    "Buyer travelling; call again next Tuesday morning.",
    "Budget is tighter this year; revise the proposal before quoting again.",
    "Quantities confirmed; waiting for internal approval.",
)
VISIT_SUBJECTS_EN = ("Visit {account}", "On-site product demo")
VISIT_RESULTS_EN = (
    "Met the CEO: expansion planned next year, two new lines.",
    "Demo went well; invited to next month's tender.",
)
MEETING_SUBJECTS_EN = ("Technical workshop", "Contract terms review", "Quarterly business review")
TASK_SUBJECTS_EN = ("Prepare the quote", "Send product brochures", "Send the meeting minutes", "Submit the contract "
                    "for approval")
NOTE_TEXTS_EN = ("Decision: the buyer drafts, the CEO signs off.",)
EMAIL_SUBJECTS_EN = ("Send the quote by email",)
FOLLOW_UP_EN = "Weekly follow-up call"

STREETS = ("高新区科技路88号", "经济开发区创业大道16号", "工业园区长江路200号", "软件园二期C座5楼",
           "滨江区江南大道1008号")


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _at(rng: random.Random, now: dt.datetime, days: int) -> dt.datetime:
    """A working-hours time ``days`` from today (negative: in the past), on the quarter hour."""
    day = timezone.localdate(now) + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if days >= 0 else -1)
    moment = dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))))
    return timezone.make_aware(moment)


def _short(name: str) -> str:
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        name = name.removesuffix(suffix)
    return name


def account_activities(rng: random.Random, account: Account, contact: Contact | None, now: dt.datetime
                       ) -> list[dict[str, Any]]:
    """Field values of a demo account's activities: 1–3 done calls or visits in the last 60 days, an
    upcoming task or meeting, sometimes an overdue task, a call for today (the next working day at
    weekends), a note, a logged email or a weekly follow-up call."""
    zh = _is_chinese(account.name)
    person = contact.name if contact else ("客户" if zh else "the customer")
    rows: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        due = _at(rng, now, -rng.randint(1, 60))
        if due >= now:
            due -= dt.timedelta(days=1)
        if rng.random() < 0.7:
            subject = rng.choice(CALL_SUBJECTS_ZH if zh else CALL_SUBJECTS_EN).format(contact=person)
            rows.append({"kind": Activity.Kind.CALL, "subject": subject, "due_at": due, "duration_minutes": 15,
                         "result": rng.choice(CALL_RESULTS_ZH if zh else CALL_RESULTS_EN),
                         "status": Activity.Status.DONE})
        else:
            subject = rng.choice(VISIT_SUBJECTS_ZH if zh else VISIT_SUBJECTS_EN).format(account=_short(account.name))
            rows.append({"kind": Activity.Kind.VISIT, "subject": subject, "due_at": due, "duration_minutes": 90,
                         "location": f"{account.city}{rng.choice(STREETS)}" if zh else account.city,
                         "result": rng.choice(VISIT_RESULTS_ZH if zh else VISIT_RESULTS_EN),
                         "status": Activity.Status.DONE})
    due = _at(rng, now, rng.randint(1, 21))
    if rng.random() < 0.5:
        rows.append({"kind": Activity.Kind.MEETING, "subject": rng.choice(MEETING_SUBJECTS_ZH if zh
                                                                          else MEETING_SUBJECTS_EN),
                     "due_at": due, "duration_minutes": 60, "remind_at": due - dt.timedelta(minutes=30),
                     "contact_attendees": [contact] if contact else []})
    else:
        rows.append({"kind": Activity.Kind.TASK, "subject": rng.choice(TASK_SUBJECTS_ZH if zh else TASK_SUBJECTS_EN),
                     "due_at": due, "remind_at": due - dt.timedelta(hours=1)})
    if rng.random() < 0.15:
        rows.append({"kind": Activity.Kind.TASK, "subject": rng.choice(TASK_SUBJECTS_ZH if zh else TASK_SUBJECTS_EN),
                     "due_at": _at(rng, now, -rng.randint(1, 5))})
    if rng.random() < 0.15:
        rows.append({"kind": Activity.Kind.CALL, "subject": rng.choice(CALL_SUBJECTS_ZH if zh else CALL_SUBJECTS_EN)
                     .format(contact=person), "due_at": _at(rng, now, 0), "duration_minutes": 15})
    if rng.random() < 0.2:
        rows.append({"kind": Activity.Kind.NOTE, "subject": rng.choice(NOTE_TEXTS_ZH if zh else NOTE_TEXTS_EN),
                     "status": Activity.Status.DONE, "due_at": _at(rng, now, -rng.randint(1, 30))})
    if rng.random() < 0.2:
        subject = rng.choice(EMAIL_SUBJECTS_ZH if zh else EMAIL_SUBJECTS_EN)
        rows.append({"kind": Activity.Kind.EMAIL, "subject": subject,
                     "status": Activity.Status.DONE, "due_at": _at(rng, now, -rng.randint(1, 30))})
    if rng.random() < 0.1:
        first = _at(rng, now, rng.randint(1, 5))
        rows.append({"kind": Activity.Kind.CALL, "subject": FOLLOW_UP_ZH if zh else FOLLOW_UP_EN, "due_at": first,
                     "duration_minutes": 15, "recurrence": Activity.Recurrence.WEEKLY,
                     "recurrence_until": timezone.localdate(first) + dt.timedelta(days=90)})
    return rows


@demo.builder("crm.activities", order=55)
def build_activities(ctx: demo.DemoContext) -> None:
    """Activities of the demo accounts (owned by the account's owner, about the account or its first
    contact) and, when the pipeline demo made opportunities, a done call and a planned step for some."""
    actor = ctx.users["admin"]
    now = timezone.now()
    limit = ctx.quantity("activity_accounts", small=60, medium=600, large=2000, per_account=1)
    count = 0
    accounts = Account.objects.filter(activities__isnull=True).prefetch_related("contacts").order_by("pk")[:limit]
    for account in accounts:
        contacts = sorted(account.contacts.all(), key=lambda c: c.pk)
        contact = contacts[0] if contacts else None
        for values in account_activities(ctx.rng, account, contact, now):
            record = contact if contact is not None and values["kind"] == Activity.Kind.CALL else account
            create_activity({**values, "record": record, "owner": account.owner or actor}, actor=actor)
            count += 1
    opportunities = Opportunity.objects.filter(stage__kind="open").select_related("account").order_by("pk")[:limit]
    for opportunity in opportunities:
        if ctx.rng.random() < 0.5:
            continue
        zh = _is_chinese(opportunity.account.name)
        create_activity({"kind": Activity.Kind.CALL, "record": opportunity, "owner": opportunity.owner or actor,
                         "subject": "商机跟进：确认需求" if zh else "Opportunity follow-up: confirm requirements",
                         "due_at": _at(ctx.rng, now, -ctx.rng.randint(1, 20)), "status": Activity.Status.DONE,
                         "result": ctx.rng.choice(CALL_RESULTS_ZH if zh else CALL_RESULTS_EN)}, actor=actor)
        due = _at(ctx.rng, now, ctx.rng.randint(2, 14))
        create_activity({"kind": Activity.Kind.MEETING, "record": opportunity, "owner": opportunity.owner or actor,
                         "subject": "方案评审会" if zh else "Proposal review", "due_at": due, "duration_minutes": 60,
                         "remind_at": due - dt.timedelta(minutes=30)}, actor=actor)
        count += 2
    ctx.created("activities", count)

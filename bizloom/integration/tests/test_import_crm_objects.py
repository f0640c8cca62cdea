"""Import declarations of leads, opportunities with product lines, activities and contracts (issue #5)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from bizloom.crm import services as crm_services
from bizloom.crm.activities import services as activity_services
from bizloom.crm.leads import services as lead_services
from bizloom.crm.leads.lists import LEAD_LIST
from bizloom.crm.models import Account, Activity, Contract, Lead, Opportunity, Pipeline, Stage
from bizloom.crm.pipeline.lists import OPPORTUNITY_LIST
from bizloom.integration.imports import selectors, services
from bizloom.integration.models import ImportBatch, ImportBatchRow
from bizloom.platform import export_jobs
from bizloom.platform.exporting import iter_csv
from bizloom.platform.models import RoleScope, User

BASE = ("view_account", "view_contact")


def perms(model: str, *extra: str) -> tuple[str, ...]:
    return (*(f"{action}_{model}" for action in ("view", "add", "change", "delete", "import")), *extra, *BASE)


def make_user(username: str, *codenames: str, scope: str | None = None) -> User:
    role = Group.objects.create(name=f"role-{username}")
    role.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    if scope is not None:
        for codename in codenames:
            action, model = codename.split("_", 1)
            RoleScope.objects.create(role=role, content_type=ContentType.objects.get(app_label="crm", model=model),
                                     action=action, scope=scope)
    user = User.objects.create_user(username=username, password="pw-secret-123", email=f"{username}@example.com")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


def csv_bytes(header: list[str], rows: Iterable[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(user: User, content: bytes, declaration: str, **kwargs: Any) -> ImportBatch:
    return services.upload_batch(iter([content]), filename=kwargs.pop("filename", "data.csv"),
                                 declaration=declaration, actor=user, confirm_duplicate_file=True, **kwargs)


def run(batch: ImportBatch, user: User, *, dry_run: bool) -> ImportBatch:
    services.start_run(batch, dry_run=dry_run, actor=user)
    return services.execute_batch(batch.pk, dry_run=dry_run)


def outcomes(batch: ImportBatch) -> dict[int, tuple[str, list[tuple[str | None, str]]]]:
    assert batch.error == ""
    return {row.number: (row.outcome, [(e["column"], e["message"]) for e in row.errors])
            for row in selectors.list_rows(batch)}


def plain(batch: ImportBatch) -> dict[int, str]:
    return {number: outcome for number, (outcome, _errors) in outcomes(batch).items()}


def dry_then_real(user: User, content: bytes, declaration: str, **kwargs: Any) -> tuple[dict, ImportBatch]:
    batch = run(upload(user, content, declaration, **kwargs), user, dry_run=True)
    dry = outcomes(batch)
    batch = run(batch, user, dry_run=False)
    assert outcomes(batch) == dry  # the dry run tells exactly what the real run does
    return dry, batch


def export_csv(config: Any, user: User, columns: str) -> bytes:
    header, _queryset, rows = export_jobs.export_rows(config, user, {"cols": [columns]})
    return "".join(iter_csv(header, rows)).encode("utf-8")


@pytest.fixture
def stages(db) -> dict[str, Stage]:
    """The stages of the default pipeline the migration creates, by English name."""
    return {stage.name: stage for stage in Pipeline.objects.get(is_default=True).stages.all()}


@pytest.fixture
def account(db) -> Account:
    owner = User.objects.create_user(username="acc-owner", password="pw-secret-123")
    return crm_services.create_account({"name": "星辰贸易有限公司", "code": "91310000MA1FL8XQ30"}, actor=owner)


# --- leads -------------------------------------------------------------------------------------

LEAD_HEADER = ["姓名", "公司", "手机", "邮箱", "来源", "状态", "无效原因", "评分", "负责人"]


def test_leads_from_a_gbk_file_normalised_with_errors_and_duplicates(db):
    # given
    importer = make_user("mei", *perms("lead"))
    User.objects.create_user(username="wang", password="pw-secret-123", first_name="芳", last_name="王")
    lead_services.create_lead({"name": "老客户", "mobile": "13900001111"}, actor=importer)
    rows = [
        ["张伟", "星辰贸易", "138 1234 5678", "Zhang.Wei@XingChen.cn", "展会", "已联系", "", "80", "mei"],  # 2
        ["李娜", "月光科技", "", "", "Website", "unqualified", "预算不足", "", ""],                         # 3
        ["赵磊", "", "+86 139 0000 1111", "", "", "", "", "", ""],                 # 4 duplicate (phone) of the DB
        ["孙丽", "", "12345", "not-an-email", "电视", "", "", "120", ""],          # 5 errors
        ["周杰", "", "", "", "", "converted", "", "", ""],                         # 6 converted refused
        ["吴敏", "", "13812345678", "", "", "", "", "", ""],                       # 7 duplicate of row 2
    ]
    # when
    result, batch = dry_then_real(importer, csv_bytes(LEAD_HEADER, rows, "gbk"), "crm.lead")
    # then
    assert batch.mapping == dict(zip(LEAD_HEADER, ["name", "company", "mobile", "email", "source", "status",
                                                   "unqualified_reason", "score", "owner"], strict=True))
    assert {n: o for n, (o, _e) in result.items()} == {2: "create", 3: "create", 4: "duplicate", 5: "error",
                                                       6: "error", 7: "duplicate"}
    assert {column for column, _message in result[5][1]} == {"手机", "邮箱", "来源", "评分"}
    assert ("评分", "“120” is not a whole number between 0 and 100.") in result[5][1]
    assert result[6][1] == [("状态", "A lead is converted with the Convert action, not by an import.")]
    zhang = Lead.objects.get(name="张伟")
    assert (zhang.mobile, zhang.email, zhang.source, zhang.status, zhang.score, zhang.owner) == (
        "+8613812345678", "zhang.wei@xingchen.cn", "trade_show", "contacted", 80, importer)
    li = Lead.objects.get(name="李娜")
    assert (li.status, li.unqualified_reason, li.source) == ("unqualified", "预算不足", "website")


def test_lead_update_by_email_and_round_trip_of_the_list_export(db):
    # given
    importer = make_user("mei", *perms("lead", "export_lead"))
    lead = lead_services.create_lead({"name": "张伟", "company": "星辰", "email": "zw@xc.cn"}, actor=importer)
    lead_services.create_lead({"name": "李娜", "company": "月光", "source": "referral"}, actor=importer)
    # when: the list as exported, then a changed row matched by its email
    exported = export_csv(LEAD_LIST, importer, "name,company,status,source,score,owner,email")
    round_trip, _batch = dry_then_real(importer, exported, "crm.lead")
    changed, _batch = dry_then_real(importer, csv_bytes(["Name", "Email", "Score", "Status"],
                                                        [["张伟", "ZW@xc.cn", "66", "Qualified"]]), "crm.lead")
    # then
    assert {o for o, _e in round_trip.values()} == {"unchanged"}
    assert changed[2][0] == "update"
    lead.refresh_from_db()
    assert (lead.score, lead.status) == (66, "qualified")
    assert Lead.objects.count() == 2


def test_lead_rows_are_checked_against_contacts_and_accounts_as_the_crm_rules_say(db):
    # given: a contact and an account the importer may see, and one account they may not
    importer = make_user("mei", *dict.fromkeys(perms("lead", "view_contact", "view_account")), scope="own")
    other = User.objects.create_user(username="other", password="pw-secret-123")
    crm_services.create_contact({"name": "王芳", "email": "wang.fang@acme.cn", "mobile": "13700001111"},
                                actor=importer)
    crm_services.create_account({"name": "星辰贸易有限公司", "code": "91310000MA1FL8XQ30"}, actor=importer)
    crm_services.create_account({"name": "隐形科技有限公司"}, actor=other)
    rows = [
        ["王芳", "", "", "Wang.Fang@ACME.cn", "", "", "", "", ""],           # 2 same email as the contact
        ["赵磊", "", "137 0000 1111", "", "", "", "", "", ""],               # 3 same phone as the contact
        ["孙丽", "星辰贸易（有限公司）", "", "", "", "", "", "", ""],       # 4 same company as the account
        ["周杰", "隐形科技有限公司", "", "", "", "", "", "", ""],           # 5 an account they cannot see
    ]
    # when: skip duplicates, then "update" (nothing of another kind can be updated by a lead row)
    skipped, _batch = dry_then_real(importer, csv_bytes(LEAD_HEADER, rows), "crm.lead")
    updating = run(upload(importer, csv_bytes(LEAD_HEADER, rows[:1]), "crm.lead", options={"duplicates": "update"}),
                   importer, dry_run=False)
    # then
    assert {n: o for n, (o, _e) in skipped.items()} == {2: "duplicate", 3: "duplicate", 4: "duplicate", 5: "create"}
    notes = dict(ImportBatchRow.objects.filter(batch=_batch).values_list("number", "note"))
    assert "王芳" in notes[2]
    assert "email" in notes[2]
    assert "星辰贸易有限公司" in notes[4]
    assert "隐形" not in notes[5]
    assert outcomes(updating) == {2: ("duplicate", [])}
    assert Lead.objects.count() == 1


def test_a_rep_cannot_give_leads_to_someone_outside_their_scope(db):
    # given
    User.objects.create_user(username="boss", password="pw-secret-123")
    rep = make_user("rep", *perms("lead"), scope="own")
    # when
    result, _batch = dry_then_real(rep, csv_bytes(["姓名", "负责人"], [["张伟", "boss"], ["李娜", "rep"]]), "crm.lead")
    # then
    assert result[2] == ("error", [("负责人", "No user “boss” that you may assign records to.")])
    assert result[3][0] == "create"


# --- opportunities with product lines ---------------------------------------------------------------

OPP_HEADER = ["商机名称", "客户", "阶段", "预计成交日期", "产品", "数量", "单价", "折扣"]


def opp_rows(price: str = "100") -> list[list[str]]:
    return [
        ["自动化产线", "星辰贸易有限公司", "初步接触", "2030-06-30", "工业机器人", "2", price, "10%"],
        ["自动化产线", "星辰贸易有限公司", "初步接触", "2030-06-30", "视觉检测系统", "1", "50", ""],
        ["维保合同", "91310000MA1FL8XQ30", "", "", "", "", "", ""],
        ["坏行", "不存在的公司", "无此阶段", "明天", "螺丝", "-1", "", ""],
    ]


def test_opportunity_rows_with_the_same_key_are_one_opportunity_with_their_lines(account, stages):
    # given
    importer = make_user("mei", *perms("opportunity"))
    # when
    result, batch = dry_then_real(importer, csv_bytes(OPP_HEADER, opp_rows()), "crm.opportunity")
    # then
    assert {n: o for n, (o, _e) in result.items()} == {2: "create", 3: "update", 4: "create", 5: "error"}
    assert {column for column, _message in result[5][1]} == {"客户", "阶段", "预计成交日期"}
    line_opp = Opportunity.objects.get(name="自动化产线")
    lines = list(line_opp.lines.order_by("position").values_list("product_name", "quantity", "unit_price",
                                                                   "discount_percent"))
    assert lines == [("工业机器人", 2, 100, 10), ("视觉检测系统", 1, 50, 0)]
    assert line_opp.amount == Decimal("230.00")  # 2 × 100 − 10 % + 50
    assert (line_opp.account, line_opp.stage, line_opp.owner) == (account, stages["Prospecting"], importer)
    assert line_opp.stage_history.count() == 1
    assert Opportunity.objects.get(name="维保合同").account == account
    assert result[3][0] == "update"
    assert selectors.list_rows(batch).get(number=3).object_id == str(line_opp.pk)


def test_opportunity_file_reimported_is_unchanged_and_a_changed_file_replaces_the_lines(account, stages):
    # given
    importer = make_user("mei", *perms("opportunity", "export_opportunity"))
    dry_then_real(importer, csv_bytes(OPP_HEADER, opp_rows()[:3]), "crm.opportunity")
    # when
    again, _batch = dry_then_real(importer, csv_bytes(OPP_HEADER, opp_rows()[:3]), "crm.opportunity")
    exported = export_csv(OPPORTUNITY_LIST, importer, "name,account,stage,amount,probability,expected_close,owner")
    listed, _batch = dry_then_real(importer, exported, "crm.opportunity")
    one_line = [["自动化产线", "星辰贸易有限公司", "方案报价", "", "工业机器人", "3", "100", ""]]
    replaced, _batch = dry_then_real(importer, csv_bytes(OPP_HEADER, one_line), "crm.opportunity")
    # then
    assert {o for o, _e in again.values()} == {"unchanged"}
    assert {o for o, _e in listed.values()} == {"unchanged"}
    assert replaced[2][0] == "update"
    opportunity = Opportunity.objects.get(name="自动化产线")
    assert list(opportunity.lines.values_list("product_name", "quantity")) == [("工业机器人", 3)]
    assert (opportunity.amount, opportunity.stage) == (Decimal("300.00"), stages["Proposal"])
    assert Opportunity.objects.count() == 2


def test_a_rep_cannot_attach_an_opportunity_to_an_account_outside_their_scope(account, stages):
    # given
    rep = make_user("rep", "view_opportunity", "add_opportunity", "change_opportunity", "import_opportunity",
                    "view_account", scope="own")
    mine = crm_services.create_account({"name": "我的客户有限公司"}, actor=rep)
    # when
    result, _batch = dry_then_real(rep, csv_bytes(["商机名称", "客户"], [["A", account.name], ["B", mine.name]]),
                                   "crm.opportunity")
    # then
    assert result[2] == ("error", [("客户", "No account “星辰贸易有限公司” that you may see.")])
    assert result[3][0] == "create"


def test_undo_of_an_opportunity_batch_deletes_the_opportunities_and_their_lines(account, stages):
    # given
    importer = make_user("mei", *perms("opportunity"))
    _result, batch = dry_then_real(importer, csv_bytes(OPP_HEADER, opp_rows()[:3]), "crm.opportunity")
    assert Opportunity.objects.count() == 2
    # when
    services.undo_batch(batch, actor=importer)
    # then
    assert Opportunity.objects.count() == 0
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.UNDONE


def test_undo_puts_back_the_product_lines_an_import_replaced(account, stages):
    # given: an opportunity with two lines of its own and one without lines but a typed amount
    importer = make_user("mei", *perms("opportunity"))
    from bizloom.crm.pipeline import services as pipeline_services

    stage = min((s for s in stages.values() if s.kind == Stage.Kind.OPEN), key=lambda s: s.position)
    lined = pipeline_services.create_opportunity({
        "name": "自动化产线", "account": account, "stage": stage, "lines": [
            {"product_name": "旧机器人", "quantity": "3", "unit_price": "200.50", "discount_percent": "5"},
            {"product_name": "旧相机", "quantity": "1", "unit_price": "80", "delivery_date": dt.date(2030, 1, 2)}]},
        actor=importer)
    plain = pipeline_services.create_opportunity({"name": "维保合同", "account": account, "stage": stage,
                                                  "amount": Decimal("999")}, actor=importer)
    before = {o.pk: (o.amount, [(line.product_name, line.quantity, line.unit_price, line.discount_percent,
                                 line.delivery_date) for line in o.lines.order_by("position")])
              for o in (lined, plain)}
    rows = [["自动化产线", "星辰贸易有限公司", "", "", "工业机器人", "2", "100", "10%"],
            ["维保合同", "星辰贸易有限公司", "", "", "视觉检测系统", "1", "50", ""]]
    _result, batch = dry_then_real(importer, csv_bytes(OPP_HEADER, rows), "crm.opportunity")
    assert [line.product_name for line in lined.lines.all()] == ["工业机器人"]
    # when
    services.undo_batch(batch, actor=importer)
    # then: both opportunities have their own lines and amounts again
    after = {o.pk: (o.amount, [(line.product_name, line.quantity, line.unit_price, line.discount_percent,
                                line.delivery_date) for line in o.lines.order_by("position")])
             for o in Opportunity.objects.filter(pk__in=[lined.pk, plain.pk])}
    assert after == before


# --- activities --------------------------------------------------------------------------------------


def test_activities_from_xlsx_linked_to_contacts_and_accounts(account):
    # given
    importer = make_user("mei", *perms("activity"))
    contact = crm_services.create_contact({"name": "王芳", "account": account}, actor=importer)
    header = ["类型", "主题", "时间", "状态", "结果", "客户", "联系人"]
    rows = [
        ["拜访", "上门演示", dt.datetime(2030, 3, 5, 14, 30), "Planned", "", "星辰贸易有限公司", "王芳"],
        ["Call", "回访", "2024-01-10 09:00", "done", "客户满意", "星辰贸易有限公司", ""],
        ["飞鸽", "坏行", "明天下午", "", "", "没有这家公司", ""],
    ]
    # when
    result, batch = dry_then_real(importer, xlsx_bytes(header, rows), "crm.activity", filename="a.xlsx")
    again, _batch = dry_then_real(importer, xlsx_bytes(header, rows[:2]), "crm.activity", filename="a.xlsx")
    # then
    assert {n: o for n, (o, _e) in result.items()} == {2: "create", 3: "create", 4: "error"}, result
    assert {column for column, _message in result[4][1]} == {"类型", "时间", "客户"}
    visit = Activity.objects.get(subject="上门演示")
    assert (visit.kind, visit.status, visit.contact, visit.account) == ("visit", "planned", contact, account)
    assert timezone.localtime(visit.due_at).replace(tzinfo=None) == dt.datetime(2030, 3, 5, 14, 30)
    call = Activity.objects.get(subject="回访")
    assert (call.status, call.result, call.account, call.contact) == ("done", "客户满意", account, None)
    assert {o for o, _e in again.values()} == {"unchanged"}


def test_activity_completed_by_reimport_and_account_outside_scope_refused(account):
    # given
    rep = make_user("rep", "view_activity", "add_activity", "change_activity", "import_activity", "view_account",
                    scope="own")
    mine = crm_services.create_account({"name": "我的客户有限公司"}, actor=rep)
    due = timezone.make_aware(dt.datetime(2024, 5, 6, 10, 0))
    activity = activity_services.create_activity({"subject": "电话跟进", "due_at": due, "record": mine}, actor=rep)
    header = ["主题", "时间", "状态", "结果", "客户"]
    rows = [["电话跟进", "2024-05-06 10:00", "已完成", "已下单", "我的客户有限公司"],
            ["别人的", "2024-05-06 11:00", "", "", account.name]]
    # when
    result, _batch = dry_then_real(rep, csv_bytes(header, rows), "crm.activity")
    # then
    assert result[2][0] == "update"
    activity.refresh_from_db()
    assert (activity.status, activity.result) == ("done", "已下单")
    assert result[3] == ("error", [("客户", "No account “星辰贸易有限公司” that you may see.")])


# --- contracts ---------------------------------------------------------------------------------------

CONTRACT_HEADER = ["合同名称", "客户", "合同金额", "状态", "签订日期", "开始日期", "结束日期"]


def test_contracts_created_active_through_the_service_then_updated_by_number(account):
    # given
    importer = make_user("mei", *perms("contract", "activate_contract"))
    today = timezone.localdate()
    rows = [["年度维保服务合同", "星辰贸易有限公司", "¥120,000.00", "Active", str(today), str(today),
             str(today + dt.timedelta(days=365))],
            ["设备采购合同", "91310000MA1FL8XQ30", "5000", "", "", "2024-01-01", "2024-12-31"],
            ["坏合同", "星辰贸易有限公司", "-5", "active", "", "2024-02-01", "2024-01-01"]]
    # when
    result, _batch = dry_then_real(importer, csv_bytes(CONTRACT_HEADER, rows), "crm.contract")
    assert {n: o for n, (o, _e) in result.items()} == {2: "create", 3: "create", 4: "error"}, result
    active = Contract.objects.get(title="年度维保服务合同")
    update = csv_bytes(["合同编号", "合同名称", "合同金额", "备注"],
                       [[active.number, "年度维保服务合同", "130000", "加价"], ["HT-1999-00001", "不存在", "", ""]])
    updated, _batch = dry_then_real(importer, update, "crm.contract")
    # then
    assert {n: o for n, (o, _e) in result.items()} == {2: "create", 3: "create", 4: "error"}
    assert (active.status, active.signed_on, active.number[:3]) == ("active", today, "HT-")
    assert active.amount == Decimal("120000")
    assert Contract.objects.get(title="设备采购合同").status == "draft"
    assert {column for column, _message in result[4][1]} >= {"合同金额", "结束日期"}
    assert updated[2][0] == "update"
    active.refresh_from_db()
    assert (active.amount, active.notes) == (Decimal("130000"), "加价")
    assert updated[3][0] == "error"
    assert updated[3][1][0][0] == "合同编号"


def test_contract_activation_needs_the_activate_permission(account):
    # given
    importer = make_user("mei", *perms("contract"))
    today = str(timezone.localdate())
    # when
    result, _batch = dry_then_real(importer, csv_bytes(CONTRACT_HEADER, [
        ["合同", account.name, "1", "active", today, today, today]]), "crm.contract")
    # then
    assert result[2] == ("error", [("状态", "You may not activate contracts; import them as drafts.")])
    assert Contract.objects.count() == 0


# --- the import pages --------------------------------------------------------------------------------


def test_the_upload_page_offers_the_types_the_user_may_import(client, db):
    # given
    user = make_user("mei", "import_lead", "view_lead", "add_lead", "import_contract", "view_contract")
    client.force_login(user)
    # when
    page = client.get("/imports/new/").content.decode()
    # then
    assert 'value="crm.lead"' in page
    assert 'value="crm.contract"' in page
    assert 'value="crm.opportunity"' not in page
    assert 'value="crm.activity"' not in page

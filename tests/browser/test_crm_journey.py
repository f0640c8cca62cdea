"""The acceptance journey of issue #4 in a real browser, in English and in Chinese.

A sales rep whose role grants the CRM records at "own" scope (plus lead conversion) does,
entirely through the pages: create a lead whose company already exists as an account (same
USCC, another spelling of the name), convert it (the account is matched and pre-selected; a
new contact and opportunity are created), add two product lines to the opportunity, drag it
across the board to Won (filling in what a stage requires when the move is refused), log a
visit with a check-in on the account, and finally find all of it on the account's 360 page.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "s3cret-pass"
USCC = "9144030071526726XG"

# What the rep sees, per language: labels of buttons and links, and texts to find on the pages.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "leads": "Leads", "new": "New", "save": "Save", "convert": "Convert", "edit": "Edit",
        "add_line": "Add a line", "refused": "Expected close date", "won": "Won", "visit": "Visit",
        "check_in": "Check in", "complete": "Complete", "more_options": "More options…",
        "won_this_year": "Won this year", "contacts": "Contacts", "opportunities": "Opportunities",
        "activities": "Activities", "timeline": "Timeline", "merge": "Merge…",
    },
    "zh-hans": {
        "leads": "线索", "new": "新建", "save": "保存", "convert": "转化", "edit": "编辑",
        "add_line": "添加一行", "refused": "预计成交日期", "won": "赢单", "visit": "拜访",
        "check_in": "签到", "complete": "完成", "more_options": "更多选项…",
        "won_this_year": "今年赢单金额", "contacts": "联系人", "opportunities": "商机",
        "activities": "活动", "timeline": "时间线", "merge": "合并…",
    },
}


# --- data the journey starts from ------------------------------------------------------------------


@pytest.fixture
def stages(transactional_db: Any) -> dict[str, Any]:
    """The default pipeline's six stages (the data migration's, created again when an earlier
    transactional test flushed them); Proposal requires an expected close date."""
    from django.apps import apps
    from django.db import connection

    from bizloom.crm.models import Pipeline

    migration = importlib.import_module("bizloom.crm.migrations.0006_pipeline")
    migration.create_default_pipeline(apps, SimpleNamespace(connection=connection))
    pipeline = Pipeline.objects.get(is_default=True)
    found = {stage.name: stage for stage in pipeline.stages.all()}
    found["Proposal"].required_fields = ["expected_close"]
    found["Proposal"].save()
    return found


@pytest.fixture
def sales_role(transactional_db: Any) -> Any:
    """A realistic sales rep role: the CRM records at "own" scope, and converting leads."""
    from django.contrib.auth.models import Group, Permission

    from bizloom.crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
    from bizloom.platform.models import User
    from bizloom.platform.org.services import set_role_grant

    admin = User.objects.create_superuser("admin", "admin@example.cn", PASSWORD)
    role = Group.objects.create(name="Sales rep")
    for model in (Account, Contact, Lead, Opportunity, Activity, Contract):
        for action in ("view", "add", "change"):
            set_role_grant(role, model, action, "own", actor=admin)
    role.permissions.add(Permission.objects.get(content_type__app_label="crm", codename="convert_lead"))
    return role


def _rep(role: Any, language: str) -> Any:
    from bizloom.platform.models import User

    user = User.objects.create_user("lina", password=PASSWORD, first_name="娜", last_name="李",
                                    language="" if language == "en" else language)
    user.groups.add(role)
    return user


def _existing_account(rep: Any) -> Any:
    from bizloom.crm import services

    return services.create_account({"name": "云启科技股份有限公司", "code": USCC, "city": "深圳", "owner": rep},
                                   actor=rep)


# --- helpers ----------------------------------------------------------------------------------------


def drag(page: Any, source: Any, target: Any) -> None:
    """Real pointer input from ``source`` onto ``target`` (as in test_pipeline_board)."""
    source.scroll_into_view_if_needed()
    box, goal = source.bounding_box(), target.bounding_box()
    assert box is not None
    assert goal is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 8
    to_x, to_y = goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 4, steps=3)
    page.mouse.move(to_x, to_y, steps=10)
    for offset in (3, 6):
        page.wait_for_timeout(60)
        page.mouse.move(to_x, to_y + offset)
    page.wait_for_timeout(60)
    page.mouse.up()


def drag_to(page: Any, opportunity_id: int, stage: Any) -> str:
    """Drag the card onto ``stage``'s column; the status line once the server answered."""
    page.evaluate("document.getElementById('kanban-status').textContent = ''")
    drag(page, page.locator(f".kanban-card[data-id='{opportunity_id}']"),
         page.locator(f".kanban-column[data-stage='{stage.pk}']"))
    page.wait_for_function("document.getElementById('kanban-status').textContent.trim() !== ''")
    page.wait_for_function("document.querySelectorAll('.kanban-card.moving').length === 0")
    return str(page.locator("#kanban-status").inner_text())


def open_board(page: Any) -> None:
    page.set_viewport_size({"width": 1920, "height": 1000})
    page.goto("/crm/pipeline/board/")
    page.wait_for_function("window.Sortable !== undefined")


# --- the journey ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_lead_to_won_deal_and_visit_on_the_360_page(page: Any, sales_role: Any, stages: Any, language: str) -> None:
    from bizloom.crm.models import Activity, Contact, Lead, Opportunity

    t = TEXTS[language]
    rep = _rep(sales_role, language)
    account = _existing_account(rep)
    login(page, "lina", PASSWORD)

    # 1. a new lead: a person at a company that exists under another name with the same USCC
    page.locator("nav#sidebar").get_by_role("link", name=t["leads"], exact=True).click()
    page.wait_for_url("**/crm/leads/**")
    page.get_by_role("link", name=t["new"], exact=True).click()
    page.fill("#id_name", "陈晓峰")
    page.fill("#id_position", "信息中心主任")
    page.fill("#id_company", "深圳市云启科技有限公司")
    page.fill("#id_company_code", USCC)
    page.fill("#id_mobile", "13812345678")
    page.fill("#id_email", "chenxf@yunqi.example.cn")
    page.get_by_role("button", name=t["save"]).click()
    # the lead form points at the existing account; the rep creates the lead all the same
    page.locator(".field-error").first.wait_for()
    assert "云启科技股份有限公司" in page.locator(".field-error").inner_text()
    page.check("#id_allow_duplicate")
    page.get_by_role("button", name=t["save"]).click()
    page.wait_for_url(re.compile(r".*/crm/leads/\d+/$"))
    lead = Lead.objects.get()
    assert lead.owner == rep

    # 2. convert: the existing account is matched and selected, the contact is new
    page.get_by_role("link", name=t["convert"], exact=True).click()
    page.wait_for_url("**/convert/")
    assert page.locator(f"input[name=account][value='{account.pk}']").is_checked()
    assert "云启科技股份有限公司" in page.locator("#convert-form").inner_text()
    assert page.locator("input[name=contact][value=new]").is_checked()
    page.fill("#id_opportunity_name", "云启科技 CRM 实施项目")
    page.get_by_role("button", name=t["convert"], exact=True).click()
    page.wait_for_url(f"**/crm/accounts/{account.pk}/")
    contact = Contact.objects.get()
    opportunity = Opportunity.objects.get()
    assert contact.account == account
    assert opportunity.account == account
    assert opportunity.contact == contact

    # 3. the new opportunity, with two product lines: the amount follows them
    page.locator("#section-opportunities").get_by_role("link", name="云启科技 CRM 实施项目").click()
    page.wait_for_url(f"**/crm/opportunities/{opportunity.pk}/")
    page.get_by_role("link", name=t["edit"], exact=True).first.click()
    page.wait_for_url("**/edit/")
    page.fill("[name='lines-0-product_name']", "Bizloom CRM 订阅（年）")
    page.fill("[name='lines-0-quantity']", "20")
    page.fill("[name='lines-0-unit_price']", "3600")
    page.get_by_role("button", name=t["add_line"]).click()
    page.fill("[name='lines-1-product_name']", "实施服务")
    page.fill("[name='lines-1-quantity']", "1")
    page.fill("[name='lines-1-unit_price']", "48000")
    page.get_by_role("button", name=t["save"]).click()
    page.wait_for_url(f"**/crm/opportunities/{opportunity.pk}/")
    assert page.locator("#product-lines tbody tr").count() == 2
    assert "120,000.00" in page.locator("#lines-total").inner_text()

    # 4. across the board to Won; Proposal refuses it until the expected close date is filled in
    open_board(page)
    assert drag_to(page, opportunity.pk, stages["Qualification"])
    refusal = drag_to(page, opportunity.pk, stages["Proposal"])
    assert t["refused"] in refusal, refusal
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Qualification"]
    page.goto(f"/crm/opportunities/{opportunity.pk}/edit/")
    page.fill("#id_expected_close", (dt.date.today() + dt.timedelta(days=20)).isoformat())
    page.get_by_role("button", name=t["save"]).click()
    page.wait_for_url(f"**/crm/opportunities/{opportunity.pk}/")
    open_board(page)
    for name in ("Proposal", "Negotiation", "Won"):
        drag_to(page, opportunity.pk, stages[name])
        opportunity.refresh_from_db()
        assert opportunity.stage == stages[name], page.locator("#kanban-status").inner_text()
    assert t["won"] in page.locator(f".kanban-column[data-stage='{stages['Won'].pk}'] h2").inner_text()

    # 5. a visit on the account: planned with its address, checked in, completed
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/crm/accounts/{account.pk}/")
    page.locator("#section-activities").get_by_role("link", name=t["more_options"]).click()
    page.wait_for_url("**/activities/new/**")
    page.select_option("#id_kind", "visit")
    page.fill("#id_subject", "上门拜访：确认上线计划")
    page.fill("#id_due_at", dt.datetime.now().strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_location", "深圳市南山区科技园科苑路 15 号")
    page.get_by_role("button", name=t["save"]).click()
    page.wait_for_url(re.compile(r".*/crm/activities/\d+/$"))
    page.fill("#id_check_in_location", "深圳市南山区科苑路 15 号 A 座")
    page.get_by_role("button", name=t["check_in"]).click()
    page.wait_for_load_state()
    page.fill("#id_complete_result", "客户确认 7 月上线")
    page.get_by_role("button", name=t["complete"], exact=True).click()
    page.wait_for_load_state()
    visit = Activity.objects.get()
    assert visit.kind == Activity.Kind.VISIT
    assert visit.status == Activity.Status.DONE
    assert visit.checked_in_at is not None

    # 6. the 360 page shows all of it
    page.goto(f"/crm/accounts/{account.pk}/")
    main = page.locator("main")
    assert "陈晓峰" in page.locator("#section-contacts").inner_text()
    opportunities = page.locator("#section-opportunities").inner_text()
    assert "云启科技 CRM 实施项目" in opportunities
    assert t["won"] in opportunities
    assert "120,000.00" in page.locator("#account-facts .fact-won_this_year").inner_text()
    assert t["won_this_year"] in page.locator("#account-facts").inner_text()
    activities = page.locator("#section-activities").inner_text()
    assert "上门拜访：确认上线计划" in activities
    assert t["visit"] in activities
    timeline = page.locator(".detail-side").inner_text()
    assert "云启科技 CRM 实施项目" in timeline
    assert "上门拜访" in timeline
    assert "陈晓峰" in timeline
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", timeline), "raw ISO timestamps in the timeline"
    assert "120000.0000" not in timeline
    assert "实施服务 × 1" in timeline  # the product lines by name, not as raw data
    assert main.get_by_role("link", name=t["merge"]).count() == 1
    page.screenshot(path=f"/tmp/journey_{language[:2]}.png", full_page=True)


def test_merge_action_on_account_and_contact_pages(page: Any, sales_role: Any) -> None:
    # given: two spellings of one company (same USCC) and a contact, all the rep's
    from bizloom.crm import services
    from bizloom.crm.models import Account

    rep = _rep(sales_role, "en")
    kept = _existing_account(rep)
    other = Account.objects.create(name="深圳市云启科技有限公司", code=USCC, owner=rep)
    contact = services.create_contact({"name": "陈晓峰", "account": kept, "mobile": "13812345678", "owner": rep},
                                      actor=rep)
    login(page, "lina", PASSWORD)

    # when: "Merge…" on the account page
    page.goto(f"/crm/accounts/{kept.pk}/")
    page.get_by_role("link", name="Merge…").click()
    # then: the look-alike with the same tax id is offered
    suggested = page.locator("#merge-suggested")
    assert "深圳市云启科技有限公司" in suggested.inner_text()

    # when: choosing it
    suggested.get_by_role("link", name="Merge…").click()
    page.wait_for_url(f"**/crm/merge/account/{kept.pk},{other.pk}/")
    # then: the merge page compares the two
    assert page.locator("#merge-form").is_visible()
    assert "深圳市云启科技有限公司" in page.locator("#merge-form").inner_text()

    # when: searching by name from the contact page's "Merge…"
    page.goto(f"/crm/contacts/{contact.pk}/")
    page.get_by_role("link", name="Merge…").click()
    page.locator("#merge-pick input[name=q]").fill("晓")
    page.get_by_role("button", name="Search").click()
    # then: nothing else matches (the contact itself is not offered)
    assert "No possible duplicates." in page.locator("#merge-pick").inner_text()
    assert page.locator("#merge-found a.button").count() == 0


def test_no_merge_action_without_change_permission(page: Any, transactional_db: Any) -> None:
    # given: a user who may only view accounts
    from django.contrib.auth.models import Permission

    from bizloom.crm.models import Account
    from bizloom.platform.models import User

    viewer = User.objects.create_user("viewer", password=PASSWORD)
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename="view_account"))
    account = Account.objects.create(name="云启科技股份有限公司", code=USCC, owner=viewer)
    login(page, "viewer", PASSWORD)
    # when
    page.goto(f"/crm/accounts/{account.pk}/")
    # then
    assert page.get_by_role("heading", name="云启科技股份有限公司").is_visible()
    assert page.get_by_role("link", name="Merge…").count() == 0

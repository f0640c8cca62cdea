"""The pipeline pages in a real browser: the opportunity form's product-line editor and the
kanban board (SortableJS drag and drop, refusals, the loss-reason dialog, the keyboard menu,
view-only users, Chinese)."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "s3cret-pass"
BOSS_PERMS = ("view_opportunity", "add_opportunity", "change_opportunity", "delete_opportunity",
              "view_account", "view_contact")


def _user(username: str, *codenames: str, language: str = "") -> Any:
    from django.contrib.auth.models import Permission

    from bizloom.platform.models import User

    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title(), language=language)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    return user


@pytest.fixture
def pipeline(transactional_db: Any) -> Any:
    """The default pipeline with its six stages and the loss reasons (the data migration's;
    created again when an earlier transactional test flushed them)."""
    from django.db import connection

    from bizloom.crm.models import Pipeline

    migration = importlib.import_module("bizloom.crm.migrations.0006_pipeline")
    from django.apps import apps

    migration.create_default_pipeline(apps, SimpleNamespace(connection=connection))
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def stages(pipeline: Any) -> dict[str, Any]:
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def boss(transactional_db: Any) -> Any:
    return _user("boss", *BOSS_PERMS)


@pytest.fixture
def account(boss: Any) -> Any:
    from bizloom.crm.models import Account

    return Account.objects.create(name="杭州云启科技有限公司", city="杭州", owner=boss)


def _opportunity(name: str, stage: Any, account: Any, owner: Any, amount: str, **extra: Any) -> Any:
    from bizloom.crm.pipeline import services

    return services.create_opportunity({"name": name, "account": account, "owner": owner, "pipeline": stage.pipeline,
                                        "stage": stage, "amount": Decimal(amount), **extra}, actor=owner)


@pytest.fixture
def deals(boss: Any, account: Any, stages: dict[str, Any]) -> dict[str, Any]:
    """Two deals in Prospecting, one in Qualification; Proposal requires an expected close date."""
    proposal = stages["Proposal"]
    proposal.required_fields = ["expected_close"]
    proposal.save()
    soon = dt.date.today() + dt.timedelta(days=30)
    return {
        "erp": _opportunity("ERP 升级项目", stages["Prospecting"], account, boss, "100000", expected_close=soon),
        "crm": _opportunity("CRM 实施", stages["Prospecting"], account, boss, "20000"),
        "cloud": _opportunity("云服务器采购", stages["Qualification"], account, boss, "50000", expected_close=soon),
    }


# --- helpers ------------------------------------------------------------------------------------


def column(page: Any, stage: Any) -> Any:  # the column's <section>
    return page.locator(f".kanban-column[data-stage='{stage.pk}']")


def card(page: Any, opportunity: Any) -> Any:
    return page.locator(f".kanban-card[data-id='{opportunity.pk}']")


def card_names(page: Any, stage: Any) -> list[str]:
    return column(page, stage).locator(".kanban-card .card-title").all_inner_texts()


def totals_text(page: Any, stage: Any) -> str:
    return column(page, stage).locator(".kanban-totals").inner_text()


def drag(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move in small steps onto ``target`` and release: real pointer input,
    which Chromium turns into the HTML5 drag events SortableJS listens to (pauses let SortableJS
    take each dragover: it ignores those arriving right after it moved the card)."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    goal = target.bounding_box()
    assert box is not None
    assert goal is not None
    # press on the card's account line (not on the title link)
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


def open_board(page: Any, pipeline_id: int) -> None:
    """A wide screen, so that all six columns fit side by side."""
    page.set_viewport_size({"width": 1920, "height": 1000})
    page.goto(f"/crm/pipeline/{pipeline_id}/board/")
    page.wait_for_function("window.Sortable !== undefined")


def wait_idle(page: Any) -> None:
    """Until no card is being saved."""
    page.wait_for_function("document.querySelectorAll('.kanban-card.moving').length === 0")


# --- the opportunity form ---------------------------------------------------------------------------


def test_create_with_product_lines_and_a_bad_line(page: Any, boss: Any, account: Any, stages: Any) -> None:
    # given
    from bizloom.crm.models import Opportunity

    login(page, "boss", PASSWORD)
    page.goto(f"/crm/opportunities/new/?account={account.pk}")
    page.fill("#id_name", "数据中心扩容")
    rows = page.locator("#line-editor tbody.line-rows tr.line-row")
    assert rows.count() == 1

    # when: filling the first row, adding a second with a negative quantity, and saving
    page.fill("[name='lines-0-product_name']", "服务器 R750")
    page.fill("[name='lines-0-quantity']", "2")
    page.fill("[name='lines-0-unit_price']", "30000")
    page.get_by_role("button", name="Add a line").click()
    assert rows.count() == 2
    page.fill("[name='lines-1-product_name']", "交换机")
    page.fill("[name='lines-1-quantity']", "-3")
    page.fill("[name='lines-1-unit_price']", "5000")
    page.get_by_role("button", name="Save").click()

    # then: the error sits on the second line, everything typed is still there, nothing saved
    page.locator(".line-row .field-error").first.wait_for()
    assert rows.count() == 2
    assert rows.nth(0).locator(".field-error").count() == 0
    assert "greater than zero" in rows.nth(1).locator(".field-error").inner_text()
    assert page.input_value("#id_name") == "数据中心扩容"
    assert page.input_value("[name='lines-0-product_name']") == "服务器 R750"
    assert page.input_value("[name='lines-1-product_name']") == "交换机"
    assert page.input_value("[name='lines-1-quantity']") == "-3"
    assert not Opportunity.objects.exists()

    # when: correcting it, adding a third line and removing it again, then saving
    page.fill("[name='lines-1-quantity']", "3")
    page.get_by_role("button", name="Add a line").click()
    assert rows.count() == 3
    page.fill("[name='lines-2-product_name']", "机柜")
    page.fill("[name='lines-2-unit_price']", "8000")
    rows.nth(2).get_by_label("Remove").check()
    assert "removed" in (rows.nth(2).get_attribute("class") or "")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/crm/opportunities/*/")

    # then: two lines, and the amount is their total
    opportunity = Opportunity.objects.get()
    assert [line.product_name for line in opportunity.lines.order_by("position")] == ["服务器 R750", "交换机"]
    lines = page.locator("#product-lines tbody tr")
    assert lines.count() == 2
    assert page.locator("#lines-total").inner_text() == "CN¥75,000.00"
    assert "CN¥75,000.00" in page.locator("main").inner_text().split("Product lines")[0]
    assert opportunity.amount == Decimal("75000")

    # when: editing, removing the first line
    page.get_by_role("link", name="Edit").first.click()
    page.wait_for_url("**/edit/")
    page.locator("#line-editor tbody.line-rows tr.line-row").nth(0).get_by_label("Remove").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/crm/opportunities/*/")

    # then: the amount follows the remaining line
    assert page.locator("#product-lines tbody tr").count() == 1
    assert page.locator("#lines-total").inner_text() == "CN¥15,000.00"
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("15000")


# --- the board --------------------------------------------------------------------------------------


def test_board_drag_to_the_next_stage_saves_and_updates_totals(page: Any, boss: Any, stages: Any,
                                                               deals: Any) -> None:
    # given
    from bizloom.crm.models import StageHistory

    prospecting, qualification = stages["Prospecting"], stages["Qualification"]
    login(page, "boss", PASSWORD)
    open_board(page, prospecting.pipeline_id)
    # columns side by side with their totals (10 % of 120,000; 20 % of 50,000)
    heads = page.locator(".kanban-column h2").all_inner_texts()
    assert heads[:4] == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    assert page.locator(".kanban-column").nth(0).bounding_box()["y"] == page.locator(  # type: ignore[index]
        ".kanban-column").nth(1).bounding_box()["y"]  # type: ignore[index]
    assert "2" in column(page, prospecting).locator(".count").inner_text()
    assert "CN¥120,000.00" in totals_text(page, prospecting)
    assert "CN¥12,000.00" in totals_text(page, prospecting)
    assert "CN¥50,000.00" in totals_text(page, qualification)

    # when: dragging the ERP deal to Qualification
    drag(page, card(page, deals["erp"]), column(page, qualification))
    page.wait_for_function(f"document.querySelector(\"[data-totals-for='{qualification.pk}'] .count\")"
                           ".textContent.trim() === '2'")
    wait_idle(page)

    # then: the totals follow at once, the server saved it, the history has a row
    assert "CN¥150,000.00" in totals_text(page, qualification)
    assert "CN¥30,000.00" in totals_text(page, qualification)  # 20 % of 100,000 + 20 % of 50,000
    assert column(page, prospecting).locator(".count").inner_text().strip() == "1"
    assert "CN¥20,000.00" in totals_text(page, prospecting)
    assert "moved to" in page.locator("#kanban-status").inner_text()
    deals["erp"].refresh_from_db()
    assert deals["erp"].stage_id == qualification.pk
    assert StageHistory.objects.filter(opportunity=deals["erp"]).count() == 2
    page.reload()
    assert "ERP 升级项目" in card_names(page, qualification)
    assert "ERP 升级项目" not in card_names(page, prospecting)
    card(page, deals["erp"]).get_by_role("link", name="ERP 升级项目").click()
    page.wait_for_url("**/crm/opportunities/*/")
    history = page.locator("#stage-history tbody tr")
    assert history.count() == 2
    assert history.nth(1).locator("td").first.inner_text() == "Qualification"


def test_board_refusals_loss_dialog_and_keyboard_menu(page: Any, boss: Any, stages: Any, deals: Any) -> None:
    # given
    from bizloom.crm.models import LossReason

    prospecting, proposal, lost = stages["Prospecting"], stages["Proposal"], stages["Lost"]
    login(page, "boss", PASSWORD)
    open_board(page, prospecting.pipeline_id)

    # when: dragging the deal without an expected close date into Proposal (which requires one)
    drag(page, card(page, deals["crm"]), column(page, proposal))
    page.wait_for_function("document.getElementById('kanban-status').classList.contains('error')")
    wait_idle(page)
    # then: the card is back where it was, the reason is shown, nothing changed
    assert "first fill in: Expected close date" in page.locator("#kanban-status").inner_text()
    assert "CRM 实施" in card_names(page, prospecting)
    assert card_names(page, proposal) == []
    assert column(page, proposal).locator(".count").inner_text().strip() == "0"
    deals["crm"].refresh_from_db()
    assert deals["crm"].stage_id == prospecting.pk

    # when: dragging it to Lost, then cancelling the dialog
    drag(page, card(page, deals["crm"]), column(page, lost))
    dialog = page.locator("#loss-dialog")
    dialog.wait_for(state="visible")
    dialog.get_by_role("button", name="Cancel").click()
    # then: back in Prospecting, nothing saved
    dialog.wait_for(state="hidden")
    wait_idle(page)
    assert "CRM 实施" in card_names(page, prospecting)
    assert card_names(page, lost) == []

    # when: dragging it to Lost again and choosing a reason
    drag(page, card(page, deals["crm"]), column(page, lost))
    dialog.wait_for(state="visible")
    price = LossReason.objects.get(name="Price too high")
    dialog.locator("select").select_option(str(price.pk))
    dialog.locator("textarea").fill("对方报价低 15%")
    dialog.get_by_role("button", name="Mark as lost").click()
    page.wait_for_function(f"document.querySelector(\"[data-totals-for='{lost.pk}'] .count\")"
                           ".textContent.trim() === '1'")
    wait_idle(page)
    # then: saved as lost, with the reason
    assert card_names(page, lost) == ["CRM 实施"]
    deals["crm"].refresh_from_db()
    assert deals["crm"].stage_id == lost.pk
    assert deals["crm"].loss_reason == price
    assert deals["crm"].loss_note == "对方报价低 15%"

    # when: dragging another deal to Lost and leaving the dialog with Escape
    drag(page, card(page, deals["cloud"]), column(page, lost))
    dialog.wait_for(state="visible")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    wait_idle(page)
    # then: it goes back (SortableJS restores the card after its animation), nothing saved, no error
    column(page, stages["Qualification"]).locator(".kanban-card .card-title", has_text="云服务器采购").wait_for()
    assert "云服务器采购" in card_names(page, stages["Qualification"])
    assert card_names(page, lost) == ["CRM 实施"]
    assert "error" not in (page.locator("#kanban-status").get_attribute("class") or "")
    deals["cloud"].refresh_from_db()
    assert deals["cloud"].stage_id == stages["Qualification"].pk

    # when: moving the ERP deal with the keyboard ("Move to…" menu)
    erp = card(page, deals["erp"])
    erp.locator("summary").focus()
    page.keyboard.press("Enter")
    select = erp.locator(".move-menu select")
    select.focus()
    select.select_option(str(proposal.pk))
    erp.get_by_role("button", name="Move").press("Enter")
    page.wait_for_function(f"document.querySelector(\"[data-totals-for='{proposal.pk}'] .count\")"
                           ".textContent.trim() === '1'")
    wait_idle(page)
    # then: it moved without leaving the page, and the focus stays on the card
    assert card_names(page, proposal) == ["ERP 升级项目"]
    assert "CN¥100,000.00" in totals_text(page, proposal)
    assert page.evaluate("document.activeElement.closest('.kanban-card')?.dataset.id") == str(deals["erp"].pk)
    deals["erp"].refresh_from_db()
    assert deals["erp"].stage_id == proposal.pk
    page.reload()
    assert card_names(page, proposal) == ["ERP 升级项目"]


def test_a_view_only_user_cannot_drag(page: Any, stages: Any, deals: Any) -> None:
    # given
    _user("viewer", "view_opportunity", "view_account")
    prospecting, qualification = stages["Prospecting"], stages["Qualification"]
    login(page, "viewer", PASSWORD)
    open_board(page, prospecting.pipeline_id)
    assert page.locator(".kanban-card").count() == 3
    assert page.locator(".kanban-card.movable").count() == 0
    assert page.locator(".kanban-card summary").count() == 0

    # when
    drag(page, card(page, deals["erp"]), column(page, qualification))
    page.wait_for_timeout(300)

    # then
    assert "ERP 升级项目" in card_names(page, prospecting)
    assert "ERP 升级项目" not in card_names(page, qualification)
    deals["erp"].refresh_from_db()
    assert deals["erp"].stage_id == prospecting.pk


def test_the_board_in_chinese(page: Any, boss: Any, stages: Any, deals: Any) -> None:
    # given
    boss.language = "zh-hans"
    boss.save()
    login(page, "boss", PASSWORD)

    # when
    open_board(page, stages["Prospecting"].pipeline_id)

    # then
    assert page.locator(".kanban-column h2").all_inner_texts() == [
        "初步接触", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
    assert "新业务" in page.locator("h1").inner_text()
    assert "¥120,000.00" in totals_text(page, stages["Prospecting"])
    options = [text.strip() for text in card(page, deals["erp"]).locator(".move-menu option").all_text_contents()]
    assert options == ["初步接触", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
    assert "价格过高" in page.locator("#loss-reason").text_content()
    assert "年" in card(page, deals["erp"]).locator(".card-close").inner_text()  # e.g. 2026年12月27日
    page.screenshot(path="/tmp/board.png")

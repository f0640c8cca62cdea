"""Pipeline pages (issue #4): opportunity list, detail, form with product lines, the stage
move endpoint, the kanban board, the account's section and the settings pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from bizloom.crm import services as crm
from bizloom.crm.models import LossReason, Opportunity, Pipeline
from bizloom.crm.pipeline import services
from bizloom.crm.pipeline.testing import *  # noqa: F403


@pytest.fixture
def account(boss):
    return crm.create_account({"name": "深圳华强电子有限公司", "city": "深圳"}, actor=boss)


@pytest.fixture
def opportunity(boss, account):
    return services.create_opportunity({
        "name": "SMT 产线升级", "account": account, "expected_close": "2025-09-30",
        "lines": [{"product_name": "工业机器人 IRB-120", "quantity": "2", "unit_price": "185000"}]}, actor=boss)


def form_data(account, **extra):
    """A valid create form with two product lines and one blank extra row."""
    data = {
        "name": "仓储自动化", "account": account.pk, "currency": "CNY", "amount": "", "probability": "",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product_name": "数控机床 VMC-850", "lines-0-quantity": "3", "lines-0-unit_price": "260000",
        "lines-0-discount_percent": "10",
        "lines-1-product_name": "ERP 实施服务", "lines-1-quantity": "1", "lines-1-unit_price": "80000",
        "lines-2-product_name": "", "lines-2-quantity": "", "lines-2-unit_price": "",
    }
    data.update(extra)
    return data


# --- list and detail ------------------------------------------------------------------------------


def test_list_shows_stage_amount_and_weighted_amount(client, boss, opportunity):
    # given
    client.force_login(boss)
    # when
    response = client.get(reverse("crm:opportunity_list"))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "SMT 产线升级" in body
    assert "Prospecting" in body
    assert "370,000.00" in body  # amount = the line's total
    assert "37,000.00" in body  # weighted at 10 %


def test_list_filters_by_stage_and_pipeline(client, boss, opportunity, account, stages):
    # given
    other = services.create_opportunity({"name": "另一个机会", "account": account}, actor=boss)
    services.move_stage(other, stages["Proposal"], actor=boss)
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:opportunity_list") + f"?stage={stages['Proposal'].pk}").content.decode()
    # then
    assert "另一个机会" in body
    assert "SMT 产线升级" not in body


def test_detail_shows_lines_history_and_won_lost_actions(client, boss, opportunity):
    # given
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:opportunity_detail", args=[opportunity.pk])).content.decode()
    # then
    assert "工业机器人 IRB-120" in body
    assert 'id="lines-total"' in body
    assert 'id="stage-history"' in body
    assert 'id="mark-won"' in body
    assert 'id="lost-form"' in body
    assert 'id="new-contract"' not in body


def test_detail_of_another_reps_opportunity_is_404(client, rep, other_rep):
    # given
    account = crm.create_account({"name": "别人的客户"}, actor=other_rep)
    theirs = services.create_opportunity({"name": "别人的单", "account": account}, actor=other_rep)
    client.force_login(rep)
    # when / then
    assert client.get(reverse("crm:opportunity_detail", args=[theirs.pk])).status_code == 404


# --- form ----------------------------------------------------------------------------------------------


def test_create_form_saves_lines_and_the_amount_is_their_total(client, boss, account):
    # given
    client.force_login(boss)
    # when
    response = client.post(reverse("crm:opportunity_create"), form_data(account))
    # then
    opportunity = Opportunity.objects.get(name="仓储自动化")
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:opportunity_detail", args=[opportunity.pk])
    assert opportunity.amount == Decimal("782000")
    assert [line.product_name for line in opportunity.lines.all()] == ["数控机床 VMC-850", "ERP 实施服务"]
    assert opportunity.owner == boss


def test_create_form_shows_errors_on_the_bad_line_and_saves_nothing(client, boss, account):
    # given
    client.force_login(boss)
    # when
    response = client.post(reverse("crm:opportunity_create"),
                           form_data(account, **{"lines-1-quantity": "0", "lines-0-discount_percent": "150"}))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "The quantity must be greater than zero." in body
    assert 'class="line-row has-error"' in body
    assert not Opportunity.objects.exists()


def test_create_form_prefills_the_account_from_the_query(client, boss, account):
    # given
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:opportunity_create") + f"?account={account.pk}").content.decode()
    # then
    assert f'<option value="{account.pk}" selected>' in body
    assert 'id="line-template"' in body


def test_edit_form_replaces_lines_and_removes_ticked_ones(client, boss, opportunity, account):
    # given
    line = opportunity.lines.get()
    client.force_login(boss)
    data = {"name": "SMT 产线升级（二期）", "account": account.pk, "currency": "CNY", "amount": "",
            "probability": "10", "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk, "lines-0-product_name": line.product_name, "lines-0-quantity": "2",
            "lines-0-unit_price": "185000", "lines-0-DELETE": "on",
            "lines-1-product_name": "视觉检测系统", "lines-1-quantity": "1", "lines-1-unit_price": "98000"}
    # when
    response = client.post(reverse("crm:opportunity_update", args=[opportunity.pk]), data)
    # then
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.name == "SMT 产线升级（二期）"
    assert [line.product_name for line in opportunity.lines.all()] == ["视觉检测系统"]
    assert opportunity.amount == Decimal("98000")


def test_edit_form_keeps_the_lines_the_user_did_not_touch(client, boss, opportunity, account):
    # given an edit that changes only the name and submits the line as it was shown
    line = opportunity.lines.get()
    client.force_login(boss)
    data = {"name": "SMT 产线升级（改名）", "account": account.pk, "currency": "CNY", "amount": "",
            "probability": "10", "expected_close": "2025-09-30", "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk, "lines-0-product_name": line.product_name, "lines-0-quantity": "2",
            "lines-0-unit_price": "185000", "lines-0-discount_percent": "0",
            "lines-1-product_name": "", "lines-1-quantity": "", "lines-1-unit_price": ""}
    # when
    response = client.post(reverse("crm:opportunity_update", args=[opportunity.pk]), data)
    # then the line and the amount it gives are still there
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.name == "SMT 产线升级（改名）"
    assert [line.product_name for line in opportunity.lines.all()] == ["工业机器人 IRB-120"]
    assert opportunity.amount == Decimal("370000")


# --- moves ---------------------------------------------------------------------------------------------


def test_move_endpoint_answers_json_with_new_totals(client, boss, opportunity, stages):
    # given
    client.force_login(boss)
    # when
    response = client.post(reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": stages["Proposal"].pk},
                           HTTP_ACCEPT="application/json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["columns"][str(stages["Proposal"].pk)]["count"] == 1
    assert body["columns"][str(stages["Prospecting"].pk)]["count"] == 0
    assert body["columns"][str(stages["Proposal"].pk)]["weighted"].endswith("185,000.00")  # 50 % of 370,000
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Proposal"]


def test_move_endpoint_refusal_names_the_reason(client, boss, opportunity, stages):
    # given
    client.force_login(boss)
    # when
    lost = client.post(reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": stages["Lost"].pk},
                       HTTP_ACCEPT="application/json")
    services.update_stage(stages["Negotiation"], {"required_fields": ["contact"]}, actor=boss)
    missing = client.post(reverse("crm:opportunity_move", args=[opportunity.pk]),
                          {"stage": stages["Negotiation"].pk}, HTTP_ACCEPT="application/json")
    # then
    assert (lost.status_code, lost.json()["code"]) == (422, "loss_reason_required")
    assert (missing.status_code, missing.json()["code"]) == (422, "stage_requirements_missing")
    assert "Contact" in missing.json()["message"]
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Prospecting"]


def test_move_with_loss_reason_from_the_detail_page_redirects_back(client, boss, opportunity, stages):
    # given
    client.force_login(boss)
    reason = LossReason.objects.get(name="No budget")
    # when
    response = client.post(reverse("crm:opportunity_move", args=[opportunity.pk]),
                           {"stage": stages["Lost"].pk, "loss_reason": reason.pk, "loss_note": "预算冻结"})
    # then
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.loss_reason, opportunity.loss_note) == (stages["Lost"], reason, "预算冻结")


def test_rep_cannot_move_another_reps_opportunity_through_the_page(client, rep, other_rep, stages):
    # given
    account = crm.create_account({"name": "别人的客户"}, actor=other_rep)
    theirs = services.create_opportunity({"name": "别人的单", "account": account}, actor=other_rep)
    client.force_login(rep)
    # when
    response = client.post(reverse("crm:opportunity_move", args=[theirs.pk]), {"stage": stages["Won"].pk})
    # then
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage == stages["Prospecting"]


def test_won_opportunity_offers_a_new_contract(client, boss, opportunity, stages):
    # given
    from django.contrib.auth.models import Permission
    boss.user_permissions.add(Permission.objects.get(codename="add_contract"))
    services.move_stage(opportunity, stages["Won"], actor=boss)
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:opportunity_detail", args=[opportunity.pk])).content.decode()
    # then
    assert 'id="new-contract"' in body
    assert f"?opportunity={opportunity.pk}" in body


# --- the board -------------------------------------------------------------------------------------------


def test_board_has_a_column_per_stage_with_totals(client, boss, opportunity, account, stages):
    # given
    usd = services.create_opportunity({"name": "Export deal", "account": account, "currency": "USD",
                                       "amount": Decimal("50000")}, actor=boss)
    services.move_stage(usd, stages["Proposal"], actor=boss)
    client.force_login(boss)
    # when
    response = client.get(reverse("crm:pipeline_board", args=[opportunity.pipeline_id]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    for name in ("Prospecting", "Qualification", "Proposal", "Negotiation", "Won", "Lost"):
        assert f">{name}<" in body
    assert "¥370,000.00" in body
    assert "¥37,000.00" in body
    assert "+ $50,000.00" in body  # other currencies are noted, not added
    assert 'class="kanban-card movable"' in body
    assert "vendor/sortablejs/Sortable.min.js" in body


def test_board_shows_only_visible_cards_and_filters_by_owner(client, rep, other_rep, boss, new_business):
    # given
    mine = services.create_opportunity({"name": "我的单", "account": crm.create_account({"name": "甲"}, actor=rep)},
                                       actor=rep)
    services.create_opportunity({"name": "别人的单", "account": crm.create_account({"name": "乙"}, actor=other_rep)},
                                actor=other_rep)
    client.force_login(rep)
    # when
    body = client.get(reverse("crm:pipeline_board", args=[new_business.pk])).content.decode()
    client.force_login(boss)
    filtered = client.get(reverse("crm:pipeline_board", args=[new_business.pk]) + f"?owner={rep.pk}").content.decode()
    # then
    assert mine.name in body
    assert "别人的单" not in body
    assert mine.name in filtered
    assert "别人的单" not in filtered


def test_board_cards_of_others_are_not_draggable_for_view_only_users(client, user_with, opportunity):
    # given
    viewer = user_with("viewer", "view_opportunity")
    client.force_login(viewer)
    # when
    body = client.get(reverse("crm:pipeline_board", args=[opportunity.pipeline_id])).content.decode()
    # then
    assert "SMT 产线升级" in body
    assert "kanban-card movable" not in body
    assert "move-menu" not in body


def test_board_default_redirects_to_the_default_pipeline(client, boss, new_business):
    # given
    client.force_login(boss)
    # when / then
    assert client.get(reverse("crm:pipeline_board_default"))["Location"] == reverse(
        "crm:pipeline_board", args=[new_business.pk])


# --- the account's section ----------------------------------------------------------------------------


def test_account_page_lists_its_open_opportunities_with_totals(client, boss, opportunity, account):
    # given
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:account_detail", args=[account.pk])).content.decode()
    # then
    assert 'id="section-opportunities"' in body
    assert "SMT 产线升级" in body
    assert f"{reverse('crm:opportunity_create')}?account={account.pk}" in body
    assert "¥370,000.00" in body


def test_account_page_lists_won_and_lost_opportunities_below_the_open_ones(client, boss, opportunity, account,
                                                                           stages):
    # given: the only opportunity is won
    services.move_stage(opportunity, stages["Won"], actor=boss)
    client.force_login(boss)
    # when
    body = client.get(reverse("crm:account_detail", args=[account.pk])).content.decode()
    # then: no open one, the won one under "Recently closed" with its amount
    assert 'id="account-closed-opportunities"' in body
    closed = body.split('id="account-closed-opportunities"')[1].split("</table>")[0]
    assert "SMT 产线升级" in closed
    assert "Won" in closed
    assert "¥370,000.00" in closed


# --- settings ---------------------------------------------------------------------------------------------


def test_settings_pages_need_the_pipeline_permissions(client, user_with, boss, new_business):
    # given
    rep = user_with("seller", "view_opportunity", "change_opportunity")
    # when / then
    client.force_login(rep)
    assert client.get(reverse("crm:pipeline_list")).status_code == 403
    assert client.post(reverse("crm:stage_create", args=[new_business.pk]), {"name": "X"}).status_code == 403
    client.force_login(boss)
    assert client.get(reverse("crm:pipeline_list")).status_code == 200
    assert client.get(reverse("crm:pipeline_detail", args=[new_business.pk])).status_code == 200


def test_stage_form_refuses_leaving_the_pipeline_without_a_lost_stage(client, boss, stages):
    # given
    client.force_login(boss)
    lost = stages["Lost"]
    # when
    response = client.post(reverse("crm:stage_update", args=[lost.pk]), {
        "name": "Lost", "name_zh_hans": "输单", "name_zh_hant": "輸單", "position": lost.position, "kind": "lost",
        "probability": 0})  # is_active left out: deactivated
    # then
    assert response.status_code == 200
    assert "missing" in response.content.decode()
    lost.refresh_from_db()
    assert lost.is_active


def test_stage_form_sets_required_fields(client, boss, stages):
    # given
    client.force_login(boss)
    proposal = stages["Proposal"]
    # when
    response = client.post(reverse("crm:stage_update", args=[proposal.pk]), {
        "name": "Proposal", "position": proposal.position, "kind": "open", "probability": 50, "is_active": "on",
        "required_fields": ["expected_close", "lines"]})
    # then
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.required_fields == ["expected_close", "lines"]


def test_new_pipeline_through_the_page(client, boss):
    # given
    client.force_login(boss)
    # when
    response = client.post(reverse("crm:pipeline_create"), {"name": "Renewals", "name_zh_hans": "续约",
                                                             "position": 20, "is_active": "on"})
    # then
    pipeline = Pipeline.objects.get(name="Renewals")
    assert response["Location"] == reverse("crm:pipeline_detail", args=[pipeline.pk])
    assert pipeline.stages.count() == 6


def test_board_filters_by_team_and_expected_close_period(client, boss, rep, other_rep, new_business):
    # given
    import datetime as dt

    from django.utils import timezone

    from bizloom.platform.models import Team
    team = Team.objects.create(name="华东销售组")
    team.members.add(rep)
    today = timezone.localdate()
    services.create_opportunity({"name": "本月成交", "expected_close": today,
                                 "account": crm.create_account({"name": "甲"}, actor=rep)}, actor=rep)
    services.create_opportunity({"name": "明年再说", "expected_close": today + dt.timedelta(days=400),
                                 "account": crm.create_account({"name": "乙"}, actor=other_rep)}, actor=other_rep)
    client.force_login(boss)
    board = reverse("crm:pipeline_board", args=[new_business.pk])
    # when
    by_team = client.get(f"{board}?team={team.pk}").content.decode()
    this_month = client.get(f"{board}?period=this_month").content.decode()
    # then
    assert "本月成交" in by_team
    assert "明年再说" not in by_team
    assert "本月成交" in this_month
    assert "明年再说" not in this_month

"""Defects found in the security review of the CRM areas (issue #4): field rules that a page,
an export or an API operation did not apply, and refusals that must leave nothing behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from bizloom.crm import services as crm
from bizloom.crm.activities import services as activities
from bizloom.crm.leads import services as leads
from bizloom.crm.models import Account, Activity, Contact, Lead, Opportunity, Pipeline, Stage
from bizloom.crm.pipeline import services as pipeline
from bizloom.platform.models import User
from bizloom.platform.org import services as org

API = "/api/v1/crm"
SECRET = "7654321"  # digits of a hidden amount, looked for in answers


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("review-root", "root@example.com", "pw-secret-123")


@pytest.fixture
def role(root) -> Group:
    """A sales rep role: own accounts, contacts, opportunities, leads and activities."""
    group = Group.objects.create(name="Review rep")
    for model in (Account, Contact, Opportunity, Lead, Activity):
        for action in ("view", "add", "change"):
            org.set_role_grant(group, model, action, "own", actor=root)
    org.set_role_grant(group, Lead, "convert", "own", actor=root)
    return group


@pytest.fixture
def rep(role) -> User:
    user = User.objects.create_user("review-rep", password="pw-secret-123", email="rep@example.com")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def stages(db) -> dict[str, Stage]:
    pipeline_ = Pipeline.objects.get(is_default=True)
    return {s.name: s for s in pipeline_.stages.all()}


@pytest.fixture
def account(rep) -> Account:
    return crm.create_account({"name": "苏州精工机械有限公司"}, actor=rep)


@pytest.fixture
def opportunity(rep, account) -> Opportunity:
    return pipeline.create_opportunity({"name": "产线改造", "account": account, "amount": Decimal(SECRET),
                                        "expected_close": timezone.localdate()}, actor=rep)


def hide(root: User, role: Group, model: type, name: str, mode: str = "hidden") -> None:
    org.set_field_rule(role, model, name, mode, actor=root)


# --- opportunity amount hidden by a role ------------------------------------------------------


def test_stage_history_api_does_not_tell_a_hidden_amount(client, root, role, rep, opportunity):
    # given a role that hides the opportunity amount
    hide(root, role, Opportunity, "amount")
    client.force_login(rep)
    # when
    response = client.get(f"{API}/opportunities/{opportunity.pk}/history")
    # then the stays are listed, without the amount on entry
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 1
    assert rows[0].get("amount") is None
    assert SECRET not in response.content.decode()


def test_board_move_answer_does_not_tell_hidden_column_totals(client, root, role, rep, opportunity, stages):
    # given a role that hides the amount (the board shows no totals to it)
    hide(root, role, Opportunity, "amount")
    client.force_login(rep)
    # when the rep drags the card to the next stage
    response = client.post(reverse("crm:opportunity_move", args=[opportunity.pk]),
                           {"stage": stages["Qualification"].pk}, HTTP_ACCEPT="application/json")
    # then the move succeeds and the new column totals carry the count only
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True
    column = body["columns"][str(stages["Qualification"].pk)]
    assert column["count"] == 1
    assert not column.get("amount")
    assert not column.get("weighted")
    assert not column.get("other")
    assert "7,654,321" not in response.content.decode()


def test_forecast_does_not_tell_hidden_amounts(client, root, role, rep, opportunity):
    # given a role that hides the amount
    hide(root, role, Opportunity, "amount")
    client.force_login(rep)
    # when
    api = client.get(f"{API}/forecast", {"period": "month"})
    page = client.get(reverse("crm:forecast_report"), {"period": "month"})
    # then the count is there, the amounts are not
    assert api.status_code == 200, api.content
    totals = api.json()["totals"]
    assert totals[0]["open_count"] == 1
    assert totals[0]["open_amount"] is None
    assert totals[0]["weighted_amount"] is None
    assert SECRET not in api.content.decode()
    assert page.status_code == 200
    assert "7,654,321" not in page.content.decode()
    assert SECRET not in page.content.decode()


def test_lead_conversion_refuses_an_amount_the_role_may_not_set(client, root, role, rep):
    # given a role for which the opportunity amount is read-only
    hide(root, role, Opportunity, "amount", "readonly")
    lead = leads.create_lead({"name": "周杰", "company": "无锡新材料有限公司"}, actor=rep)
    client.force_login(rep)
    # when the rep converts and sets the amount anyway
    response = client.post(f"{API}/leads/{lead.pk}/convert", {"opportunity": {"amount": "990000"}},
                           content_type="application/json")
    # then it is refused on that field and nothing was created
    assert response.status_code == 422, response.content
    assert "opportunity.amount" in response.json()["errors"]
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED
    assert not Opportunity.objects.exists()
    assert not Account.objects.filter(name="无锡新材料有限公司").exists()


def test_lead_conversion_without_an_amount_still_works_for_that_role(client, root, role, rep):
    # given
    hide(root, role, Opportunity, "amount", "readonly")
    lead = leads.create_lead({"name": "周杰", "company": "无锡新材料有限公司"}, actor=rep)
    client.force_login(rep)
    # when
    response = client.post(f"{API}/leads/{lead.pk}/convert", {"opportunity": {"name": "新材料项目"}},
                           content_type="application/json")
    # then
    assert response.status_code == 200, response.content
    assert Opportunity.objects.get().name == "新材料项目"


# --- activity fields hidden by a role ----------------------------------------------------------


@pytest.fixture
def visit(rep, account) -> Activity:
    return activities.create_activity({
        "kind": Activity.Kind.VISIT, "subject": "拜访采购部", "record": account,
        "due_at": timezone.now() + dt.timedelta(days=1), "location": "机密路 88 号",
        "description": "内部底价 SECRET-NOTE"}, actor=rep)


def test_calendar_feed_leaves_out_fields_the_role_hides(client, root, role, rep, visit):
    # given a role that hides the address and the description of activities
    hide(root, role, Activity, "location")
    hide(root, role, Activity, "description")
    client.force_login(rep)
    response = client.post(reverse("crm:activity_calendar_feed"), {"action": "regenerate"})
    token = response.context["feed_url"].rsplit("/", 1)[-1].removesuffix(".ics")
    client.logout()
    # when
    feed = client.get(reverse("crm:activity_calendar_feed_ics", args=[token]))
    # then the visit is in the feed without the hidden fields
    text = feed.content.decode()
    assert feed.status_code == 200
    assert "拜访采购部" in text
    assert "机密路" not in text
    assert "SECRET-NOTE" not in text


def test_record_timeline_leaves_out_an_activity_result_the_role_hides(client, root, role, rep, account, visit):
    # given a done visit with a result, and a role that hides results and descriptions
    activities.complete_activity(visit, actor=rep, result="客户答应签约 SECRET-RESULT")
    hide(root, role, Activity, "result")
    hide(root, role, Activity, "description")
    client.force_login(rep)
    # when
    page = client.get(reverse("crm:account_detail", args=[account.pk]))
    # then the visit is on the account's timeline without its hidden text
    text = page.content.decode()
    assert page.status_code == 200
    assert "拜访采购部" in text
    assert "SECRET-RESULT" not in text
    assert "SECRET-NOTE" not in text


# --- merge racing another merge ----------------------------------------------------------------


def test_merge_of_a_record_merged_away_meanwhile_is_a_clear_conflict(root, monkeypatch):
    # given two look-alike accounts, and another user's merge that deletes one of them after this
    # merge checked its permissions and before it takes its row locks (it waited for them)
    from bizloom.common.errors import DomainError
    from bizloom.crm.merging import services as merging
    from bizloom.platform import access

    kept = crm.create_account({"name": "常州华泰电机有限公司"}, actor=root)
    gone = crm.create_account({"name": "常州华泰电机股份有限公司"}, actor=root)
    checked = access.require_record

    def check_then_lose_the_race(user, obj, action):
        checked(user, obj, action)
        if obj.pk == gone.pk:
            Account.objects.filter(pk=gone.pk).delete()

    monkeypatch.setattr(access, "require_record", check_then_lose_the_race)
    # when / then: a 409 refusal naming the reason, not a server error
    with pytest.raises(DomainError) as refusal:
        merging.merge_records(Account, kept, [gone], actor=root)
    assert refusal.value.status == 409
    assert Account.objects.filter(pk=kept.pk).exists()


# --- dates an activity cannot work with ---------------------------------------------------------


def test_activity_dates_outside_the_calendar_are_refused_not_a_server_error(client, rep):
    # given
    client.force_login(rep)
    # when
    far_past = client.post(f"{API}/activities", {"subject": "旧任务", "due_at": "0001-01-01T00:00:00Z",
                                                  "all_day": True}, content_type="application/json")
    reminder = client.post(f"{API}/activities", {"subject": "提醒", "due_at": "2025-06-01T02:00:00Z",
                                                  "remind_at": "0001-01-01T00:00:00Z"}, content_type="application/json")
    far_future = client.post(f"{API}/activities", {"subject": "每日例会", "kind": "meeting",
                                                    "due_at": "9999-12-31T15:59:00Z", "recurrence": "daily"},
                             content_type="application/json")
    # then each is a 422 on its field, and nothing was stored
    assert far_past.status_code == 422, far_past.content
    assert "due_at" in far_past.json()["errors"]
    assert reminder.status_code == 422, reminder.content
    assert "remind_at" in reminder.json()["errors"]
    assert far_future.status_code == 422, far_future.content
    assert "due_at" in far_future.json()["errors"]
    assert not Activity.objects.exists()


def test_opportunity_timeline_does_not_tell_hidden_line_prices(client, root, role, rep, opportunity):
    # given product lines changed on an opportunity, and a role that hides the amount
    pipeline.set_lines(opportunity, [{"product_name": "伺服电机", "quantity": "3", "unit_price": "4321987"}],
                       actor=rep)
    hide(root, role, Opportunity, "amount")
    client.force_login(rep)
    # when
    pages = [client.get(reverse("crm:opportunity_detail", args=[opportunity.pk])),
             client.get(reverse("crm:account_detail", args=[opportunity.account_id]))]
    # then neither its own timeline nor the account's tells the prices
    for page in pages:
        text = page.content.decode()
        assert page.status_code == 200
        assert "4321987" not in text
        assert "4,321,987" not in text


# --- the duplicate queue and hidden fields ----------------------------------------------------------


def test_the_duplicate_queue_does_not_show_a_value_from_a_hidden_field(client, root, role, rep):
    # given: two contacts of the rep with the same e-mail address, a queue the rep may read, and
    # a role that hides contacts' e-mail addresses
    from bizloom.crm.merging import queue
    from bizloom.crm.models import DuplicatePair

    org.set_role_grant(role, DuplicatePair, "view", "all", actor=root)
    for name in ("王芳", "王芳芳"):
        crm.create_contact({"name": name, "email": "wang.fang@secret.cn"}, actor=rep, allow_duplicate=True)
    queue.scan_duplicates([Contact])
    hide(root, role, Contact, "email")
    client.force_login(rep)
    # when
    page = client.get(reverse("crm:duplicate_list")).content.decode()
    listed = client.get("/api/v1/crm/duplicates").json()["results"]
    # then: the pair is there, its shared value is not
    assert "王芳芳" in page
    assert "wang.fang@secret.cn" not in page
    assert [(row["rule"], row["value"]) for row in listed] == [("email", "")]
    # and without the rule the value shows again
    org.set_field_rule(role, Contact, "email", None, actor=root)
    assert "wang.fang@secret.cn" in client.get(reverse("crm:duplicate_list")).content.decode()

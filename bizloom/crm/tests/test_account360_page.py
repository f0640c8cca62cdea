"""The customer 360 page: key facts, related sections and the timeline of everything, all within the user's access."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from bizloom.crm import account360, selectors
from bizloom.crm import services as crm_services
from bizloom.crm.contracts import services as contract_services
from bizloom.crm.models import Activity, Contact, Contract, Opportunity
from bizloom.crm.tests.contracts_fixtures import *  # noqa: F403
from bizloom.crm.tests.contracts_fixtures import contract_data, today
from bizloom.platform.timeline import services as timeline_services

pytestmark = pytest.mark.django_db


def facts_of(html: str) -> dict[str, str]:
    """``{fact key: shown text}`` of the page's key-facts header."""
    block = html.split('id="account-facts"')[1].split("</section>")[0]
    return {key: re.sub(r"<[^>]+>", "", value).strip()
            for key, value in re.findall(r'class="fact fact-([a-z_]+)"><dt>[^<]*</dt><dd>(.*?)</dd>', block, re.S)}


@pytest.fixture
def shared_customer(boss, rep, other_rep):
    """The rep's key account (the other rep may still own opportunities and contacts on it)."""
    return crm_services.create_account({"name": "杭州云启科技有限公司", "tier": "a", "owner": rep}, actor=boss)


@pytest.fixture
def deals(shared_customer, rep, other_rep, make_opportunity):
    """Open deals of both reps on the same account, and a deal the rep won this year."""
    now = timezone.now()
    return {
        "mine": make_opportunity(shared_customer, rep, "100000"),
        "mine_usd": make_opportunity(shared_customer, rep, "5000", currency="USD"),
        "theirs": make_opportunity(shared_customer, other_rep, "900000"),
        "won": make_opportunity(shared_customer, rep, "250000", kind="won", closed_at=now),
        "won_last_year": make_opportunity(shared_customer, rep, "70000", kind="won",
                                          closed_at=now - dt.timedelta(days=400)),
    }


def test_header_figures_count_only_the_users_own_opportunities(client, rep, shared_customer, deals):
    # given
    client.force_login(rep)
    # when
    facts = facts_of(client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode())
    # then: the other rep's ¥900,000 is not in the sum
    assert "100,000" in facts["open_pipeline"]
    assert "900,000" not in facts["open_pipeline"]
    assert "1,000,000" not in facts["open_pipeline"]
    assert facts["open_pipeline"].endswith("· 2")
    assert "5,000" in facts["open_pipeline"]  # the USD deal, summed on its own
    assert "250,000" in facts["won_this_year"]
    assert "70,000" not in facts["won_this_year"]
    assert facts["tier"] == "A (key account)"


def test_summary_for_the_boss_includes_every_deal(boss, shared_customer, deals):
    # when
    summary = selectors.account_summary(boss, shared_customer)
    # then
    assert summary.open_pipeline.count == 3
    assert dict(summary.open_pipeline.amounts)["CNY"] == 1_000_000


def test_figures_are_left_out_without_permission_to_view_those_records(client, make_user, boss, shared_customer,
                                                                       deals):
    # given: may view accounts only
    viewer = make_user("viewer", "view_account")
    client.force_login(viewer)
    # when
    facts = facts_of(client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode())
    # then
    assert "tier" in facts
    assert not {"open_pipeline", "won_this_year", "active_contracts", "last_activity"} & set(facts)


def test_active_contracts_and_last_activity(client, rep, boss, shared_customer):
    # given
    active = contract_services.create_contract(contract_data(shared_customer, owner=rep), actor=boss)
    contract_services.activate_contract(active, signed_on=today(), actor=boss)
    contract_services.create_contract(contract_data(shared_customer, owner=rep), actor=boss)  # a draft
    done_at = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
    Activity.objects.create(subject="拜访客户", account=shared_customer, owner=rep, status=Activity.Status.DONE,
                            completed_at=done_at)
    Activity.objects.create(subject="下周回访", account=shared_customer, owner=rep,
                            due_at=done_at + dt.timedelta(days=300))
    client.force_login(rep)
    # when
    facts = facts_of(client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode())
    # then
    assert "360,000" in facts["active_contracts"]
    assert facts["active_contracts"].endswith("· 1")
    assert facts["last_activity"] == "03/02/2026"


def test_hidden_amount_leaves_only_the_count(client, root, sales_role, rep, shared_customer, deals):
    # given
    from bizloom.platform.org import services as org

    org.set_field_rule(sales_role, Opportunity, "amount", "hidden", actor=root)
    client.force_login(rep)
    # when
    facts = facts_of(client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode())
    # then
    assert facts["open_pipeline"] == "2"


def test_parent_is_linked_when_visible(client, boss, rep, other_rep):
    # given
    group = crm_services.create_account({"name": "云启控股集团有限公司"}, actor=boss)
    hidden_group = crm_services.create_account({"name": "鼎信控股有限公司", "owner": other_rep}, actor=boss)
    visible_child = crm_services.create_account({"name": "杭州云启科技有限公司", "parent": group, "owner": rep},
                                                actor=boss)
    crm_services.update_account(group, {"owner": rep}, actor=boss)
    other_child = crm_services.create_account({"name": "深圳鼎信电子有限公司", "parent": hidden_group, "owner": rep},
                                              actor=boss)
    client.force_login(rep)
    # when
    linked = client.get(reverse("crm:account_detail", args=[visible_child.pk])).content.decode()
    unlinked = client.get(reverse("crm:account_detail", args=[other_child.pk])).content.decode()
    # then
    assert f'<a href="/crm/accounts/{group.pk}/">云启控股集团有限公司</a>' in linked.split('id="account-facts"')[1]
    assert facts_of(unlinked)["parent"] == "鼎信控股有限公司"
    assert f"/crm/accounts/{hidden_group.pk}/" not in unlinked


def test_sections_come_in_order_and_child_accounts_are_listed(client, boss):
    # given
    group = crm_services.create_account({"name": "云启控股集团有限公司"}, actor=boss)
    crm_services.create_account({"name": "杭州云启科技有限公司", "parent": group}, actor=boss)
    crm_services.create_contact({"name": "周总", "account": group}, actor=boss)
    contract_services.create_contract(contract_data(group), actor=boss)
    client.force_login(boss)
    # when
    html = client.get(reverse("crm:account_detail", args=[group.pk])).content.decode()
    # then
    keys = re.findall(r'id="section-([a-z_]+)"', html)
    assert keys.index("contacts") < keys.index("children") < keys.index("contracts")
    children = html.split('id="section-children"')[1].split("</section>")[0]
    assert "杭州云启科技有限公司" in children
    contracts = html.split('id="section-contracts"')[1].split("</section>")[0]
    assert "年度技术服务合同" in contracts
    assert f"/crm/contracts/new/?account={group.pk}" in contracts


def test_contracts_section_shows_only_visible_contracts(client, boss, rep, other_rep, shared_customer):
    # given
    contract_services.create_contract(contract_data(shared_customer, title="我的合同", owner=rep), actor=boss)
    contract_services.create_contract(contract_data(shared_customer, title="别人的合同", owner=other_rep), actor=boss)
    client.force_login(rep)
    # when
    html = client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode()
    # then
    contracts = html.split('id="section-contracts"')[1].split("</section>")[0]
    assert "我的合同" in contracts
    assert "别人的合同" not in html


# --- the timeline of everything -------------------------------------------------------------------------


def test_timeline_includes_a_contacts_change_and_comment_with_links(client, boss, customer):
    # given
    contact = crm_services.create_contact({"name": "韩梅梅", "account": customer}, actor=boss)
    crm_services.update_contact(contact, {"position": "采购总监"}, actor=boss)
    timeline_services.add_comment(contact, "已确认下季度预算", actor=boss)
    client.force_login(boss)
    # when
    html = client.get(reverse("crm:account_detail", args=[customer.pk])).content.decode()
    # then
    timeline = html.split('class="timeline"')[1]
    assert f'<a href="/crm/contacts/{contact.pk}/">Contact 韩梅梅: Updated</a>' in timeline
    assert "采购总监" in timeline
    assert "已确认下季度预算" in timeline
    assert f'<a href="/crm/contacts/{contact.pk}/">Comment on Contact 韩梅梅</a>' in timeline


def test_timeline_excludes_records_the_user_may_not_view(client, boss, rep, other_rep, shared_customer):
    # given
    mine = crm_services.create_contact({"name": "韩梅梅", "account": shared_customer, "owner": rep}, actor=boss)
    theirs = crm_services.create_contact({"name": "李雷", "account": shared_customer, "owner": other_rep}, actor=boss)
    timeline_services.add_comment(theirs, "内部报价底线 85 折", actor=boss)
    client.force_login(rep)
    # when
    entries = account360.related_timeline(shared_customer, rep)
    html = client.get(reverse("crm:account_detail", args=[shared_customer.pk])).content.decode()
    # then
    assert {entry.url for entry in entries} == {f"/crm/contacts/{mine.pk}/"}
    assert "李雷" not in html
    assert "85 折" not in html


def test_timeline_hides_field_changes_the_users_roles_hide(root, sales_role, boss, rep, shared_customer):
    # given
    from bizloom.platform.org import services as org

    contact = crm_services.create_contact({"name": "韩梅梅", "account": shared_customer, "owner": rep,
                                           "mobile": "13812345678"}, actor=boss)
    org.set_field_rule(sales_role, Contact, "mobile", "hidden", actor=root)
    # when
    entries = account360.related_timeline(shared_customer, rep)
    # then
    assert entries
    assert all("8613812345678" not in entry.body for entry in entries)
    assert any(entry.url == f"/crm/contacts/{contact.pk}/" for entry in entries)


def test_timeline_is_bounded_and_newest_first(boss, customer):
    # given
    contact = crm_services.create_contact({"name": "韩梅梅", "account": customer}, actor=boss)
    for n in range(60):
        timeline_services.add_comment(contact, f"第 {n} 次跟进", actor=boss)
        crm_services.update_contact(contact, {"department": f"部门 {n}"}, actor=boss)
    # when
    entries = account360.related_timeline(customer, boss)
    # then
    assert len(entries) == account360.TIMELINE_LIMIT
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)


def test_related_models_are_found_generically():
    # when
    models = set(account360.related_models())
    # then
    assert {Contact, Opportunity, Activity, Contract} <= models

"""Lead conversion (issue #4): matches before converting, one transaction, refused twice, all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.leads import conversion, services
from bizloom.crm.leads.events import LeadConverted
from bizloom.crm.models import Account, Contact, Lead, Opportunity
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401

CONVERTER_PERMS = ("view_lead", "add_lead", "change_lead", "convert_lead", "view_account", "add_account",
                   "view_contact", "add_contact", "change_contact", "view_opportunity", "add_opportunity")


@pytest.fixture
def rep(make_user):
    return make_user("rep", *CONVERTER_PERMS)


@pytest.fixture
def lead(rep) -> Lead:
    return services.create_lead({
        "name": "王芳", "position": "采购经理", "company": "華為技術股份有限公司", "email": "wang.fang@huawei.example",
        "mobile": "13812345678", "industry": "manufacturing", "city": "深圳", "source": "trade_show",
        "campaign": "2025 春季工业展", "notes": "询价 200 台设备"}, actor=rep, allow_duplicate=True)


def counts() -> tuple[int, int, int]:
    return Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()


# --- matches ---------------------------------------------------------------------------------


def test_matches_find_the_account_by_name_with_another_legal_form_and_traditional_characters(rep, lead):
    # given
    huawei = crm_services.create_account({"name": "华为技术有限公司"}, actor=rep)
    crm_services.create_account({"name": "华为终端有限公司"}, actor=rep)
    # when
    found = conversion.conversion_matches(lead, actor=rep)
    # then
    assert found.account == huawei
    assert [(hit.record, hit.rule) for hit in found.accounts] == [(huawei, "name")]


def test_matches_prefer_the_tax_id_over_the_name(rep, lead):
    # given
    by_name = crm_services.create_account({"name": "华为技术有限公司"}, actor=rep)
    by_code = crm_services.create_account({"name": "Huawei Technologies", "code": "914403001922038216"}, actor=rep)
    services.update_lead(lead, {"company_code": "914403001922038216"}, actor=rep)
    lead.refresh_from_db()
    # when
    found = conversion.conversion_matches(lead, actor=rep)
    # then
    assert [hit.record for hit in found.accounts] == [by_code, by_name]
    assert found.account == by_code


def test_matches_find_contacts_by_email_then_phone(rep, lead):
    # given
    by_phone = crm_services.create_contact({"name": "王 芳", "phone": "+86 138 1234 5678"}, actor=rep)
    by_email = crm_services.create_contact({"name": "Fang", "email": "Wang.Fang@huawei.example"}, actor=rep)
    crm_services.create_contact({"name": "李雷", "email": "li.lei@huawei.example"}, actor=rep)
    # when
    found = conversion.conversion_matches(lead, actor=rep)
    # then
    assert [(hit.record, hit.rule) for hit in found.contacts] == [(by_email, "email"), (by_phone, "phone")]
    assert found.contact == by_email


def test_matches_only_show_records_the_user_may_see(rep, lead, make_user):
    # given
    crm_services.create_account({"name": "华为技术有限公司"}, actor=rep)
    crm_services.create_contact({"name": "Fang", "email": "wang.fang@huawei.example"}, actor=rep)
    blind = make_user("blind", "view_lead", "convert_lead")
    # when
    found = conversion.conversion_matches(lead, actor=blind)
    # then
    assert (found.accounts, found.contacts) == ([], [])


# --- converting --------------------------------------------------------------------------------


def test_convert_creates_account_contact_and_opportunity_and_links_them(rep, lead, subscribe):  # noqa: F811
    # given
    seen: list = []
    subscribe(LeadConverted, seen.append, name="test.lead_converted")
    # when
    result = conversion.convert_lead(lead, actor=rep, opportunity={"amount": Decimal("250000"),
                                                                   "name": "200 台设备"})
    # then
    lead.refresh_from_db()
    account, contact, opportunity = result.account, result.contact, result.opportunity
    assert (account.name, account.industry, account.city, account.owner) == ("華為技術股份有限公司", "manufacturing",
                                                                             "深圳", rep)
    assert (contact.name, contact.position, contact.account, contact.mobile, contact.email) == (
        "王芳", "采购经理", account, "+8613812345678", "wang.fang@huawei.example")
    assert opportunity is not None
    assert (opportunity.name, opportunity.amount, opportunity.account, opportunity.contact, opportunity.source,
            opportunity.campaign) == ("200 台设备", Decimal("250000"), account, contact, "trade_show",
                                      "2025 春季工业展")
    assert (lead.status, lead.converted_account, lead.converted_contact, lead.converted_opportunity) == (
        Lead.Status.CONVERTED, account, contact, opportunity)
    assert lead.converted_at is not None
    assert [(e.lead_id, e.account_created, e.contact_created) for e in seen] == [(lead.pk, True, True)]
    assert AuditEntry.objects.filter(action="state_change", object_id=str(lead.pk),
                                     changes__status=["new", "converted"]).exists()


def test_convert_into_an_existing_account_and_contact_creates_only_the_opportunity(rep, lead):
    # given
    huawei = crm_services.create_account({"name": "华为技术有限公司"}, actor=rep)
    wang = crm_services.create_contact({"name": "王芳", "email": "wang.fang@huawei.example"}, actor=rep)
    before = counts()
    # when
    result = conversion.convert_lead(lead, actor=rep, account=huawei, contact=wang)
    # then
    assert counts() == (before[0], before[1], before[2] + 1)
    assert (result.account, result.contact, result.account_created, result.contact_created) == (
        huawei, wang, False, False)
    wang.refresh_from_db()
    assert wang.account == huawei  # the contact had no account: it gets the converted one


def test_convert_without_opportunity(rep, lead):
    # when
    result = conversion.convert_lead(lead, actor=rep, create_opportunity=False)
    # then
    assert result.opportunity is None
    assert counts() == (1, 1, 0)


def test_converting_twice_is_refused_and_creates_nothing(rep, lead):
    # given
    conversion.convert_lead(lead, actor=rep)
    before = counts()
    # when / then
    with pytest.raises(conversion.LeadAlreadyConverted):
        conversion.convert_lead(lead, actor=rep)
    assert counts() == before


def test_an_unqualified_lead_is_not_converted(rep, lead):
    # given
    services.change_lead_status(lead, Lead.Status.UNQUALIFIED, actor=rep, reason="预算不足")
    # when / then
    with pytest.raises(conversion.LeadNotConvertible):
        conversion.convert_lead(lead, actor=rep)
    assert counts() == (0, 0, 0)


def test_a_failing_opportunity_leaves_nothing_behind(rep, lead):
    # when: the account and contact are created, then the opportunity is refused
    with pytest.raises(ValidationFailed) as failure:
        conversion.convert_lead(lead, actor=rep, opportunity={"amount": Decimal("-5")})
    # then
    assert any(name.startswith("opportunity.") for name in failure.value.fields)
    assert counts() == (0, 0, 0)
    lead.refresh_from_db()
    assert (lead.status, lead.converted_account) == (Lead.Status.NEW, None)


def test_without_permission_to_create_accounts_nothing_is_converted(make_user, lead):
    # given
    limited = make_user("limited", "view_lead", "change_lead", "convert_lead", "add_contact", "add_opportunity")
    # when / then
    with pytest.raises(PermissionDeniedError):
        conversion.convert_lead(lead, actor=limited)
    assert counts() == (0, 0, 0)


def test_an_account_outside_the_actors_scope_cannot_be_chosen(rep, lead, make_user):
    # given
    other = make_user("other", "add_account")
    hidden = crm_services.create_account({"name": "华为技术有限公司"}, actor=other)
    scoped = make_user("scoped", *CONVERTER_PERMS[:3], "convert_lead", "add_contact", "add_opportunity")
    # when / then
    with pytest.raises(ValidationFailed) as failure:
        conversion.convert_lead(lead, actor=scoped, account=hidden)
    assert "account" in failure.value.fields
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW

"""Lead services (issue #4): normalisation at entry, duplicate warnings, status workflow, audit and events."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from bizloom.common.errors import DomainError, InvalidTransition, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.leads import services
from bizloom.crm.leads.events import LeadCreated, LeadOwnerChanged, LeadUpdated
from bizloom.crm.models import Lead
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401

LEAD_PERMS = ("view_lead", "add_lead", "change_lead", "delete_lead", "convert_lead")


@pytest.fixture
def rep(make_user):
    return make_user("rep", *LEAD_PERMS, "view_account", "add_account", "view_contact", "add_contact")


def collect(subscribe, event_cls) -> list:  # noqa: F811
    """The events of ``event_cls`` published from now on."""
    seen: list = []
    subscribe(event_cls, seen.append, name=f"test.collect.{event_cls.name}")
    return seen


def entries(lead: Lead) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Lead),
                                          object_id=str(lead.pk)).order_by("pk"))


# --- normalisation -------------------------------------------------------------------------


def test_create_lead_normalises_names_email_phones_and_tax_id(rep):
    # when
    lead = services.create_lead({
        "name": "  王　芳 ", "company": " 杭州云启科技有限公司\n", "email": " Wang.Fang＠Yunqi。COM ",
        "mobile": "＋８６ １３８ １２３４ ５６７８", "phone": "0571-8888 8888 转 12",
        "company_code": "9135 0100-M000 100Y 43", "score": 60,
    }, actor=rep)
    # then
    lead.refresh_from_db()
    assert (lead.name, lead.company, lead.email, lead.mobile, lead.phone, lead.company_code) == (
        "王 芳", "杭州云启科技有限公司", "wang.fang@yunqi.com", "+8613812345678", "+8657188888888;ext=12",
        "91350100M000100Y43")
    assert (lead.status, lead.owner, lead.score) == (Lead.Status.NEW, rep, 60)


def test_invalid_email_phone_and_uscc_are_reported_on_their_fields_and_nothing_is_saved(rep):
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.create_lead({"name": "李雷", "email": "li@", "mobile": "12345", "company_code": "91350100M000100Y44",
                              "score": 101}, actor=rep)
    # then
    assert {"email", "mobile", "company_code", "score"} <= set(failure.value.fields)
    assert not Lead.objects.exists()


def test_a_foreign_tax_id_is_kept_without_the_uscc_check(rep):
    # when
    lead = services.create_lead({"name": "John Smith", "company_code": "12-3456789"}, actor=rep)
    # then
    assert lead.company_code == "123456789"


# --- duplicate warnings ---------------------------------------------------------------------


def test_a_lead_with_the_email_of_an_existing_lead_is_refused_until_created_anyway(rep):
    # given
    first = services.create_lead({"name": "王芳", "email": "wang@yunqi.com"}, actor=rep)
    # when
    with pytest.raises(services.DuplicateLead) as refusal:
        services.create_lead({"name": "Fang Wang", "email": "WANG@yunqi.com"}, actor=rep)
    # then
    assert refusal.value.context["duplicate_of"] == first.pk
    assert "allow_duplicate" in refusal.value.fields
    assert Lead.objects.count() == 1
    services.create_lead({"name": "Fang Wang", "email": "WANG@yunqi.com"}, actor=rep, allow_duplicate=True)
    assert Lead.objects.count() == 2


def test_a_lead_with_the_phone_of_a_contact_is_refused(rep):
    # given
    crm_services.create_contact({"name": "李雷", "mobile": "13812345678"}, actor=rep)
    # when
    with pytest.raises(services.DuplicateLead) as refusal:
        services.create_lead({"name": "Li Lei", "phone": "+86 138 1234 5678"}, actor=rep)
    # then
    assert refusal.value.context["duplicate_model"] == "contact"


@pytest.mark.parametrize("company", ["華為技術股份有限公司", "华为技术 （有限公司）", "HUAWEI"],
                         ids=["traditional_other_legal_form", "spaced_brackets", "unrelated_name_case"])
def test_a_lead_from_an_existing_company_is_refused_by_normalised_name(rep, company):
    # given
    crm_services.create_account({"name": "华为技术有限公司"}, actor=rep)
    # when / then
    if company == "HUAWEI":
        services.create_lead({"name": "张三", "company": company}, actor=rep)
        return
    with pytest.raises(services.DuplicateLead) as refusal:
        services.create_lead({"name": "张三", "company": company}, actor=rep)
    assert refusal.value.context["duplicate_model"] == "account"


def test_a_lead_with_the_tax_id_of_an_account_is_refused(rep):
    # given
    crm_services.create_account({"name": "Yunqi", "code": "91350100M000100Y43"}, actor=rep)
    # when
    with pytest.raises(services.DuplicateLead) as refusal:
        services.create_lead({"name": "张三", "company": "云启", "company_code": "91350100 M000100Y43"}, actor=rep)
    # then
    assert "tax id" in refusal.value.message


def test_records_outside_the_actors_scope_are_not_duplicates(rep, make_user):
    # given: a lead of someone the rep may not see
    other = make_user("other", *LEAD_PERMS)
    services.create_lead({"name": "王芳", "email": "wang@yunqi.com"}, actor=other)
    blind = make_user("blind", "add_lead")
    # when
    lead = services.create_lead({"name": "王芳", "email": "wang@yunqi.com"}, actor=blind)
    # then
    assert lead.pk is not None


# --- status workflow ------------------------------------------------------------------------


def test_status_moves_new_contacted_qualified_and_is_audited(rep, subscribe):  # noqa: F811
    # given
    lead = services.create_lead({"name": "王芳"}, actor=rep)
    seen = collect(subscribe, LeadUpdated)
    # when
    services.change_lead_status(lead, Lead.Status.CONTACTED, actor=rep)
    services.change_lead_status(lead, Lead.Status.QUALIFIED, actor=rep)
    # then
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED
    assert [e.action for e in entries(lead)] == ["create", "state_change", "state_change"]
    assert entries(lead)[-1].changes["status"] == ["contacted", "qualified"]
    assert [e.changed for e in seen] == [("status",), ("status",)]


def test_unqualified_needs_a_reason_which_is_kept(rep):
    # given
    lead = services.create_lead({"name": "王芳"}, actor=rep)
    # when / then
    with pytest.raises(ValidationFailed) as failure:
        services.change_lead_status(lead, Lead.Status.UNQUALIFIED, actor=rep, reason="  ")
    assert "reason" in failure.value.fields
    services.change_lead_status(lead, Lead.Status.UNQUALIFIED, actor=rep, reason="预算不足")
    lead.refresh_from_db()
    assert (lead.status, lead.unqualified_reason) == ("unqualified", "预算不足")
    services.change_lead_status(lead, Lead.Status.NEW, actor=rep)
    lead.refresh_from_db()
    assert lead.unqualified_reason == ""


def test_converted_cannot_be_set_by_hand_and_qualified_cannot_go_back_to_new(rep):
    # given
    lead = services.create_lead({"name": "王芳"}, actor=rep)
    services.change_lead_status(lead, Lead.Status.QUALIFIED, actor=rep)
    # when / then
    with pytest.raises(DomainError):
        services.change_lead_status(lead, Lead.Status.CONVERTED, actor=rep)
    with pytest.raises(InvalidTransition):
        services.change_lead_status(lead, Lead.Status.NEW, actor=rep)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED


def test_update_changes_fields_publishes_owner_change_and_refuses_status(rep, make_user, subscribe):  # noqa: F811
    # given
    lead = services.create_lead({"name": "王芳"}, actor=rep)
    boss = make_user("boss")
    seen = collect(subscribe, LeadOwnerChanged)
    # when
    services.update_lead(lead, {"score": 80, "owner": boss, "mobile": "13912345678"}, actor=rep)
    # then
    lead.refresh_from_db()
    assert (lead.score, lead.owner, lead.mobile) == (80, boss, "+8613912345678")
    assert [(e.old_owner_id, e.new_owner_id) for e in seen] == [(rep.pk, boss.pk)]
    with pytest.raises(DomainError) as refusal:
        services.update_lead(lead, {"status": "qualified"}, actor=rep)
    assert refusal.value.code == "unknown_fields"


def test_create_publishes_lead_created_and_transfer_changes_owner(rep, make_user, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, LeadCreated)
    lead = services.create_lead({"name": "王芳", "source": "website"}, actor=rep)
    other = make_user("other")
    # when
    changed = services.transfer_leads([lead], other, actor=rep)
    # then
    assert [(e.lead_id, e.source) for e in seen] == [(lead.pk, "website")]
    assert changed == 1
    assert Lead.objects.get(pk=lead.pk).owner == other


def test_delete_lead_records_the_last_values(rep):
    # given
    lead = services.create_lead({"name": "王芳", "company": "云启"}, actor=rep)
    # when
    services.delete_lead(lead, actor=rep)
    # then
    assert not Lead.objects.exists()
    assert AuditEntry.objects.filter(action="delete", object_repr="王芳 (云启)").exists()

"""Contract pages as a user sees them: list, form (with prefill), detail, activate, terminate, signed document."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bizloom.crm.contracts import services
from bizloom.crm.models import Contract
from bizloom.crm.tests.contracts_fixtures import *  # noqa: F403
from bizloom.crm.tests.contracts_fixtures import contract_data, days, today
from bizloom.platform import scheduler

pytestmark = pytest.mark.django_db

LIST_URL = "/crm/contracts/"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def linked_contracts(html: str) -> list[str]:
    return re.findall(r'<a href="/crm/contracts/\d+/">([^<]*)</a>', html)


def test_list_shows_own_contracts_and_filters_by_status(client, rep, other_rep, customer):
    # given
    active = services.create_contract(contract_data(customer, title="年度维保服务合同"), actor=rep)
    services.activate_contract(active, signed_on=today(), actor=rep)
    services.create_contract(contract_data(customer, title="设备采购合同"), actor=rep)
    client.force_login(rep)
    # when
    everything = client.get(LIST_URL).content.decode()
    only_active = client.get(LIST_URL, {"status": "active"}).content.decode()
    # then
    assert sorted(linked_contracts(everything)) == sorted([str(active), str(Contract.objects.exclude(
        pk=active.pk).get())])
    assert linked_contracts(only_active) == [str(active)]


def test_new_contract_form_is_prefilled_from_a_won_opportunity(client, rep, customer, signer, make_opportunity):
    # given
    deal = make_opportunity(customer, rep, "880000", kind="won", currency="USD", contact=signer,
                            name="MES 系统实施项目")
    client.force_login(rep)
    # when
    html = client.get(reverse("crm:contract_create"), {"opportunity": deal.pk}).content.decode()
    # then
    assert 'value="MES 系统实施项目"' in html
    assert re.search(rf'<option value="{customer.pk}" selected>', html)
    assert re.search(rf'<option value="{signer.pk}" selected>', html)
    assert re.search(rf'<option value="{deal.pk}" selected>', html)
    assert 'value="USD"' in html
    assert 'value="880000' in html


def test_prefill_ignores_an_opportunity_the_user_may_not_see(client, rep, other_rep, make_opportunity):
    # given
    from bizloom.crm import services as crm_services

    theirs = crm_services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    deal = make_opportunity(theirs, other_rep, "50000", kind="won", name="保密项目")
    client.force_login(rep)
    # when
    html = client.get(reverse("crm:contract_create"), {"opportunity": deal.pk}).content.decode()
    # then
    assert "保密项目" not in html


def test_creating_through_the_form_redirects_to_the_contract(client, rep, customer):
    # given
    client.force_login(rep)
    # when
    response = client.post(reverse("crm:contract_create"), {
        "title": "年度技术服务合同", "account": customer.pk, "amount": "120000", "currency": "cny",
        "start_date": days(0).isoformat(), "end_date": days(364).isoformat(), "renewal_notice_days": "30"})
    # then
    contract = Contract.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/crm/contracts/{contract.pk}/"
    assert contract.currency == "CNY"


def test_form_shows_the_date_error_inline(client, rep, customer):
    # given
    client.force_login(rep)
    # when
    response = client.post(reverse("crm:contract_create"), {
        "title": "x", "account": customer.pk, "amount": "1", "currency": "CNY",
        "start_date": days(10).isoformat(), "end_date": days(1).isoformat(), "renewal_notice_days": "30"})
    # then
    assert response.status_code == 200
    assert "The end date may not be before the start date." in response.content.decode()
    assert not Contract.objects.exists()


def test_detail_of_a_draft_offers_activate_and_shows_the_status(client, rep, draft):
    # given
    client.force_login(rep)
    # when
    html = client.get(reverse("crm:contract_detail", args=[draft.pk])).content.decode()
    # then
    assert 'status-draft' in html
    assert reverse("crm:contract_activate", args=[draft.pk]) in html
    assert reverse("crm:contract_terminate", args=[draft.pk]) in html


def test_activate_page_then_the_detail_no_longer_offers_it(client, rep, draft):
    # given
    client.force_login(rep)
    url = reverse("crm:contract_activate", args=[draft.pk])
    # when
    response = client.post(url, {"signed_on": today().isoformat()})
    html = client.get(reverse("crm:contract_detail", args=[draft.pk])).content.decode()
    # then
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "active"
    assert "status-active" in html
    assert url not in html


def test_terminate_page_needs_a_reason(client, rep, draft):
    # given
    client.force_login(rep)
    url = reverse("crm:contract_terminate", args=[draft.pk])
    # when
    empty = client.post(url, {"reason": ""})
    done = client.post(url, {"reason": "双方协商一致提前终止"})
    # then
    assert empty.status_code == 200
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "terminated"
    assert draft.termination_reason == "双方协商一致提前终止"


def test_uploading_the_signed_document_shows_its_link(client, rep, draft, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    client.force_login(rep)
    # when
    client.post(reverse("crm:contract_signed_document", args=[draft.pk]),
                {"file": SimpleUploadedFile("签字版.pdf", PDF, content_type="application/pdf")})
    html = client.get(reverse("crm:contract_detail", args=[draft.pk])).content.decode()
    # then
    draft.refresh_from_db()
    assert draft.signed_document is not None
    assert reverse("timeline:attachment_download", args=[draft.signed_document.pk]) in html
    assert "签字版.pdf" in html


def test_other_reps_contract_is_404(client, other_rep, draft):
    # given
    client.force_login(other_rep)
    # when / then
    assert client.get(reverse("crm:contract_detail", args=[draft.pk])).status_code == 404
    assert client.post(reverse("crm:contract_terminate", args=[draft.pk]), {"reason": "x"}).status_code == 404


def test_daily_jobs_are_registered():
    # when
    jobs = {job.name: job for job in scheduler.load_jobs()}
    # then
    assert jobs["crm.expire_contracts"].seconds == 86400
    assert jobs["crm.contract_renewal_reminders"].seconds == 86400


def test_contracts_in_navigation_and_search(client, rep, draft):
    # given
    client.force_login(rep)
    # when
    home = client.get("/").content.decode()
    found = client.get("/search/", {"q": draft.number})
    # then
    assert LIST_URL in home
    assert found.status_code == 200
    assert f"/crm/contracts/{draft.pk}/" in found.content.decode()

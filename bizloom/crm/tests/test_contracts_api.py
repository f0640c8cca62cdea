"""The contracts API: CRUD, activate, terminate, signed document, and problem+json refusals."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bizloom.crm import services as crm_services
from bizloom.crm.contracts import services
from bizloom.crm.models import Contract
from bizloom.crm.tests.contracts_fixtures import *  # noqa: F403
from bizloom.crm.tests.contracts_fixtures import contract_data, days, today
from bizloom.platform.timeline import services as timeline_services

pytestmark = pytest.mark.django_db

URL = "/api/v1/crm/contracts"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def api(client, rep):
    client.force_login(rep)
    return client


def test_create_assigns_a_number_and_returns_the_contract(api, rep, customer, signer):
    # when
    response = api.post(URL, {"title": "年度技术服务合同", "account": customer.pk, "contact": signer.pk,
                              "amount": "360000.50", "currency": "cny", "start_date": days(-10).isoformat(),
                              "end_date": days(355).isoformat(), "payment_terms": "月结 60 天"},
                        content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["number"] == f"HT-{today().year}-00001"
    assert data["status"] == "draft"
    assert data["amount"] == "360000.5000"
    assert data["currency"] == "CNY"
    assert data["contact"] == signer.pk
    assert data["owner"] == rep.pk


def test_create_with_end_before_start_is_422_on_end_date(api, customer):
    # when
    response = api.post(URL, {"title": "x", "account": customer.pk, "start_date": days(5).isoformat(),
                              "end_date": days(1).isoformat()}, content_type="application/json")
    # then
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "end_date" in response.json()["errors"]


def test_account_of_another_rep_reads_as_unknown(api, other_rep):
    # given
    theirs = crm_services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    # when
    response = api.post(URL, {"title": "x", "account": theirs.pk, "start_date": days(0).isoformat(),
                              "end_date": days(30).isoformat()}, content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["errors"]["account"] == ["No account with this id."]


def test_negative_amount_is_refused_by_the_schema(api, customer):
    # when
    response = api.post(URL, {"title": "x", "account": customer.pk, "amount": "-5", "start_date": "2026-01-01",
                              "end_date": "2026-12-31"}, content_type="application/json")
    # then
    assert response.status_code == 422
    assert "amount" in response.json()["errors"]


def test_list_filters_by_status_and_end_date_and_hides_other_reps_contracts(api, rep, other_rep, customer):
    # given
    mine_active = services.create_contract(contract_data(customer, end_date=days(40)), actor=rep)
    services.activate_contract(mine_active, signed_on=today(), actor=rep)
    services.create_contract(contract_data(customer, end_date=days(200)), actor=rep)
    theirs = crm_services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    services.create_contract(contract_data(theirs, end_date=days(40)), actor=other_rep)
    # when
    everything = api.get(URL).json()
    active = api.get(URL, {"status": "active"}).json()
    ending = api.get(URL, {"end_date_from": days(0).isoformat(), "end_date_to": days(60).isoformat()}).json()
    # then
    assert everything["count"] == 2
    assert [c["id"] for c in active["results"]] == [mine_active.pk]
    assert [c["id"] for c in ending["results"]] == [mine_active.pk]


def test_patch_activate_and_terminate(api, draft):
    # when
    patched = api.patch(f"{URL}/{draft.pk}", {"customer_reference": "CG-2026-0042"}, content_type="application/json")
    refused = api.post(f"{URL}/{draft.pk}/activate", {}, content_type="application/json")
    activated = api.post(f"{URL}/{draft.pk}/activate", {"signed_on": today().isoformat()},
                         content_type="application/json")
    again = api.post(f"{URL}/{draft.pk}/activate", {"signed_on": today().isoformat()},
                     content_type="application/json")
    terminated = api.post(f"{URL}/{draft.pk}/terminate", {"reason": "客户业务调整"}, content_type="application/json")
    # then
    assert patched.json()["customer_reference"] == "CG-2026-0042"
    assert refused.status_code == 422
    assert refused.json()["code"] == "signed_on_required"
    assert activated.json()["status"] == "active"
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert terminated.json()["status"] == "terminated"
    assert terminated.json()["termination_reason"] == "客户业务调整"


def test_patch_of_terminated_contract_is_409(api, rep, draft):
    # given
    services.terminate_contract(draft, "作废", actor=rep)
    # when
    response = api.patch(f"{URL}/{draft.pk}", {"title": "new"}, content_type="application/json")
    # then
    assert response.status_code == 409
    assert response.json()["code"] == "contract_not_editable"


def test_delete_of_active_contract_is_409_and_of_draft_204(api, rep, customer, draft):
    # given
    active = services.create_contract(contract_data(customer), actor=rep)
    services.activate_contract(active, signed_on=today(), actor=rep)
    # when
    refused = api.delete(f"{URL}/{active.pk}")
    deleted = api.delete(f"{URL}/{draft.pk}")
    # then
    assert refused.status_code == 409
    assert deleted.status_code == 204
    assert list(Contract.objects.values_list("pk", flat=True)) == [active.pk]


def test_mark_signed_document(api, rep, draft, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    scan = timeline_services.add_attachment(draft, SimpleUploadedFile("signed.pdf", PDF), actor=rep)
    sheet = timeline_services.add_attachment(draft, SimpleUploadedFile("list.csv", b"a,b\n1,2\n"), actor=rep)
    # when
    refused = api.post(f"{URL}/{draft.pk}/signed-document", {"attachment": sheet.pk}, content_type="application/json")
    unknown = api.post(f"{URL}/{draft.pk}/signed-document", {"attachment": 999999}, content_type="application/json")
    marked = api.post(f"{URL}/{draft.pk}/signed-document", {"attachment": scan.pk}, content_type="application/json")
    # then
    assert refused.status_code == 422
    assert refused.json()["code"] == "signed_document_type"
    assert unknown.status_code == 422
    assert marked.json()["signed_document"] == scan.pk


def test_activate_without_the_permission_is_403(client, make_user, draft):
    # given: may view and change contracts, not activate them
    user = make_user("clerk", "view_contract", "change_contract")
    client.force_login(user)
    # when
    response = client.post(f"{URL}/{draft.pk}/activate", {"signed_on": today().isoformat()},
                           content_type="application/json")
    # then
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_account_api_carries_parent_and_tags(api, customer):
    # when
    response = api.post("/api/v1/crm/accounts", {"name": "云启（上海）科技有限公司", "parent": customer.pk,
                                                 "tags": ["重点客户", "华东", "重点客户"]},
                        content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    assert response.json()["parent"] == customer.pk
    assert response.json()["tags"] == ["华东", "重点客户"]

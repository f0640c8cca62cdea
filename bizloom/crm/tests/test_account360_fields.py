"""Account fields of issue #4: parent (visible, no cycles), tags, addresses, account plan, key contacts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bizloom.common.errors import ValidationFailed
from bizloom.crm import services
from bizloom.crm.models import Account, Tag
from bizloom.crm.tests.contracts_fixtures import *  # noqa: F403
from bizloom.platform.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(boss):
    """A group: parent → child → grandchild."""
    parent = services.create_account({"name": "云启控股集团有限公司", "tier": "a"}, actor=boss)
    child = services.create_account({"name": "杭州云启科技有限公司", "parent": parent}, actor=boss)
    grandchild = services.create_account({"name": "云启（苏州）软件有限公司", "parent": child}, actor=boss)
    return parent, child, grandchild


# --- parent --------------------------------------------------------------------------------------


def test_an_account_cannot_be_its_own_parent(boss, group):
    # given
    parent, _child, _grandchild = group
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.update_account(parent, {"parent": parent}, actor=boss)
    # then
    assert refused.value.code == "parent_cycle"
    assert list(refused.value.fields) == ["parent"]


def test_a_descendant_cannot_become_the_parent(boss, group):
    # given
    parent, _child, grandchild = group
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.update_account(parent, {"parent": grandchild, "city": "杭州"}, actor=boss)
    # then
    assert refused.value.code == "parent_cycle"
    assert "云启（苏州）软件有限公司" in refused.value.fields["parent"][0]
    parent.refresh_from_db()
    assert (parent.parent_id, parent.city) == (None, "")  # nothing was written


def test_moving_a_branch_elsewhere_is_fine(boss, group):
    # given
    parent, child, grandchild = group
    other = services.create_account({"name": "上海恒瑞实业有限公司"}, actor=boss)
    # when
    services.update_account(grandchild, {"parent": other}, actor=boss)
    # then
    assert list(other.children.all()) == [grandchild]


def test_parent_must_be_visible_to_the_actor(rep, other_rep, customer):
    # given
    theirs = services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.update_account(customer, {"parent": theirs}, actor=rep)
    # then
    assert refused.value.code == "reference_not_visible"


def test_edit_form_shows_the_cycle_error_on_the_parent_field(client, boss, group):
    # given
    parent, _child, grandchild = group
    client.force_login(boss)
    # when
    response = client.post(reverse("crm:account_update", args=[parent.pk]),
                           {"name": parent.name, "tier": "a", "currency": "CNY", "parent": grandchild.pk})
    # then
    assert response.status_code == 200
    assert "cannot also be its parent account" in response.content.decode()


def test_api_parent_of_another_reps_account_reads_as_unknown(client, rep, other_rep, customer):
    # given
    theirs = services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    client.force_login(rep)
    # when
    response = client.patch(f"/api/v1/crm/accounts/{customer.pk}", {"parent": theirs.pk},
                            content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["errors"]["parent"] == ["No account with this id."]


# --- tags ------------------------------------------------------------------------------------------


def test_typing_a_new_tag_creates_it_and_an_existing_one_is_reused_ignoring_case(boss):
    # given
    Tag.objects.create(name="VIP")
    # when
    account = services.create_account({"name": "宁波众汇贸易有限公司", "tags": ["vip", "  华东　区 ", "ＶＩＰ"]},
                                      actor=boss)
    # then
    assert sorted(t.name for t in account.tags.all()) == ["VIP", "华东 区"]
    assert Tag.objects.count() == 2


def test_tags_are_in_the_audit_snapshot(boss):
    # given
    account = services.create_account({"name": "宁波众汇贸易有限公司", "tags": ["华东"]}, actor=boss)
    # when
    services.update_account(account, {"tags": ["华东", "重点客户"]}, actor=boss)
    services.update_account(account, {"tags": ["重点客户", "华东"]}, actor=boss)  # same set: no entry
    # then
    entries = list(AuditEntry.objects.for_object(account).order_by("pk"))
    assert entries[0].changes["tags"] == [None, ["华东"]]
    assert entries[1].changes == {"tags": [["华东"], ["华东", "重点客户"]]}
    assert len(entries) == 2


def test_too_long_tag_is_refused(boss):
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_account({"name": "x", "tags": ["长" * 51]}, actor=boss)
    # then
    assert refused.value.code == "tag_too_long"
    assert not Account.objects.exists()


def test_form_takes_comma_separated_tags_and_shows_them_again(client, boss):
    # given
    client.force_login(boss)
    # when
    client.post(reverse("crm:account_create"), {"name": "苏州博远精密机械有限公司", "tier": "b", "currency": "CNY",
                                                "tags": "制造业，华东、重点客户"})
    account = Account.objects.get()
    form = client.get(reverse("crm:account_update", args=[account.pk])).content.decode()
    # then
    assert sorted(t.name for t in account.tags.all()) == ["制造业", "华东", "重点客户"]
    assert re.search(r'name="tags"[^>]*value="[^"]*重点客户', form)
    assert '<option value="华东">' in form  # the suggestions


def test_list_filters_by_tag(client, boss):
    # given
    services.create_account({"name": "宁波众汇贸易有限公司", "tags": ["华东"]}, actor=boss)
    services.create_account({"name": "深圳鼎信电子有限公司", "tags": ["华南"]}, actor=boss)
    client.force_login(boss)
    # when
    html = client.get("/crm/accounts/", {"tags": "华东", "cols": ["name", "tags"]}).content.decode()
    # then
    assert "宁波众汇贸易有限公司" in html
    assert "深圳鼎信电子有限公司" not in html


def test_api_filters_by_tag(client, boss):
    # given
    services.create_account({"name": "宁波众汇贸易有限公司", "tags": ["华东"]}, actor=boss)
    services.create_account({"name": "深圳鼎信电子有限公司", "tags": ["华南"]}, actor=boss)
    client.force_login(boss)
    # when
    data = client.get("/api/v1/crm/accounts", {"tag": "华东"}).json()
    # then
    assert [a["name"] for a in data["results"]] == ["宁波众汇贸易有限公司"]
    assert data["results"][0]["tags"] == ["华东"]


# --- addresses and account plan ----------------------------------------------------------------------


def test_key_account_page_shows_the_account_plan_first(client, boss):
    # given
    key = services.create_account({"name": "云启控股集团有限公司", "tier": "a", "account_plan": "扩大 MES 份额",
                                   "billing_address": "杭州市西湖区文三路 90 号"}, actor=boss)
    small = services.create_account({"name": "小微贸易行", "tier": "c", "account_plan": "维持"}, actor=boss)
    client.force_login(boss)
    # when
    key_html = client.get(reverse("crm:account_detail", args=[key.pk])).content.decode()
    small_html = client.get(reverse("crm:account_detail", args=[small.pk])).content.decode()
    # then
    groups = re.findall(r'<section class="card field-group">\s*<h2>([^<]*)</h2>', key_html)
    assert groups[0] == "Account plan"
    assert "扩大 MES 份额" in key_html
    assert "杭州市西湖区文三路 90 号" in key_html
    assert "key-account" in key_html
    small_groups = re.findall(r'<section class="card field-group">\s*<h2>([^<]*)</h2>', small_html)
    assert small_groups[-1] == "Account plan"
    assert "key-account" not in small_html


# --- key contacts -------------------------------------------------------------------------------------


def test_key_contacts_are_first_and_marked_on_the_account_page(client, boss, customer):
    # given
    services.create_contact({"name": "安然", "account": customer}, actor=boss)
    services.create_contact({"name": "周总", "account": customer, "is_key_contact": True}, actor=boss)
    client.force_login(boss)
    # when
    html = client.get(reverse("crm:account_detail", args=[customer.pk])).content.decode()
    # then
    section = html.split('id="section-contacts"')[1].split("</section>")[0]
    assert re.findall(r'<a href="/crm/contacts/\d+/">([^<]*)</a>', section) == ["周总", "安然"]
    assert section.count("Key contact") == 1


def test_key_contact_flag_in_form_list_and_api(client, boss, customer):
    # given
    client.force_login(boss)
    # when
    client.post(reverse("crm:contact_create"), {"name": "周总", "account": customer.pk, "is_key_contact": "on"})
    client.post(reverse("crm:contact_create"), {"name": "安然", "account": customer.pk})
    listed = re.findall(r'<a href="/crm/contacts/\d+/">([^<]*)</a>',
                        client.get("/crm/contacts/", {"is_key_contact": "1"}).content.decode())
    api = client.get("/api/v1/crm/contacts", {"is_key_contact": "true"}).json()
    # then
    assert listed == ["周总"]
    assert [c["name"] for c in api["results"]] == ["周总"]
    assert api["results"][0]["is_key_contact"] is True


def test_csv_export_carries_the_tags_and_the_parent(client, boss):
    # given
    group = services.create_account({"name": "云启控股集团有限公司"}, actor=boss)
    services.create_account({"name": "杭州云启科技有限公司", "parent": group, "tags": ["华东", "重点客户"]}, actor=boss)
    client.force_login(boss)
    # when
    response = client.get("/crm/accounts/export/csv/", {"cols": ["name", "parent", "tags"]})
    body = b"".join(response.streaming_content).decode("utf-8")
    # then
    assert "杭州云启科技有限公司,云启控股集团有限公司,\"华东, 重点客户\"" in body

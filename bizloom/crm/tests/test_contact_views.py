"""Contact pages (issue #4): list with Chinese search, detail linked to its account, the form with
inline errors and "create anyway", and the account page's "Contacts" section."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bizloom.crm import services
from bizloom.crm.models import Contact

LIST_URL = "/crm/contacts/"
ALL_CONTACT_PERMS = ("view_contact", "add_contact", "change_contact", "delete_contact", "export_contact")


def names_in(response) -> list[str]:
    """Contact names in the rendered table, in order."""
    return re.findall(r'<a href="/crm/contacts/\d+/">([^<]*)</a>', response.content.decode())


@pytest.fixture
def boss(make_user):
    return make_user("boss", "view_account", "add_account", "change_account", *ALL_CONTACT_PERMS)


@pytest.fixture
def contacts(boss, huawei, accounts):
    rows = [
        {"name": "李雷", "account": huawei, "position": "采购经理", "mobile": "13812345678",
         "email": "li.lei@huawei.example"},
        {"name": "韩梅梅", "account": huawei, "email": "han.meimei@huawei.example", "consent_email": True},
        {"name": "John Smith", "account": accounts[2], "wechat_id": "jsmith88"},
    ]
    return [services.create_contact(row, actor=boss) for row in rows]


def field_block(html: str, name: str) -> str:
    """The HTML of one form field (label, input, help and errors)."""
    return html.split(f'id="field-{name}"')[1].split('id="field-')[0]


def form_data(**values) -> dict:
    return {"name": "", "mobile": "", "phone": "", "email": "", "position": "", "department": "", "wechat_id": "",
            "notes": "", **values}


# --- list ---------------------------------------------------------------------------------------


def test_list_without_view_permission_is_403(login, nobody, contacts):
    # when
    response = login(nobody).get(LIST_URL)
    # then
    assert response.status_code == 403


def test_list_shows_contacts_with_their_account(login, boss, contacts):
    # when
    response = login(boss).get(LIST_URL)
    # then
    html = response.content.decode()
    assert names_in(response) == ["韩梅梅", "李雷", "John Smith"]  # Chinese by pinyin
    assert "华为技术有限公司" in html
    assert "+8613812345678" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("李雷", ["李雷"]),
    ("梅", ["韩梅梅"]),
    ("138123", ["李雷"]),
    ("jsmith", ["John Smith"]),
    ("HUAWEI.example", ["韩梅梅", "李雷"]),
], ids=["chinese_name_case", "chinese_part_case", "mobile_case", "wechat_case", "email_case"])
def test_search_in_name_email_mobile_and_wechat(login, boss, contacts, query, expected):
    # when
    response = login(boss).get(LIST_URL, {"q": query})
    # then
    assert names_in(response) == expected


def test_consent_and_account_filters(login, boss, contacts):
    # given
    client = login(boss)
    # when
    consenting = client.get(LIST_URL, {"consent_email": "1"})
    at_huawei = client.get(LIST_URL, {"account__name": "华为"})
    # then
    assert names_in(consenting) == ["韩梅梅"]
    assert names_in(at_huawei) == ["韩梅梅", "李雷"]


def test_bulk_transfer_changes_owner(login, boss, viewer, contacts):
    # when
    login(boss).post(reverse("crm:contact_bulk"), {
        "action": "transfer", "ids": [contacts[0].pk], "transfer-new_owner": str(viewer.pk)})
    # then
    assert list(Contact.objects.filter(owner=viewer).values_list("name", flat=True)) == ["李雷"]


# --- detail ---------------------------------------------------------------------------------------


def test_detail_links_to_the_account_page(login, boss, contacts, huawei):
    # when
    html = login(boss).get(reverse("crm:contact_detail", args=[contacts[0].pk])).content.decode()
    # then
    assert f'<a href="{reverse("crm:account_detail", args=[huawei.pk])}">华为技术有限公司</a>' in html
    assert "采购经理" in html
    assert reverse("crm:contact_update", args=[contacts[0].pk]) in html


def test_account_page_lists_its_contacts(login, boss, contacts, huawei):
    # when
    html = login(boss).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    section = html.split('id="section-contacts"')[1].split("</section>")[0]
    assert re.findall(r'<a href="/crm/contacts/\d+/">([^<]*)</a>', section) == ["韩梅梅", "李雷"]
    assert "采购经理" in section
    assert f"/crm/contacts/new/?account={huawei.pk}" in section


def test_account_page_without_contact_permission_has_no_contacts_section(login, viewer, contacts, huawei):
    # when
    html = login(viewer).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    assert 'id="section-contacts"' not in html
    assert "李雷" not in html


# --- form ------------------------------------------------------------------------------------------


def test_create_form_with_bad_email_shows_inline_error_and_creates_nothing(login, boss):
    # when
    response = login(boss).post(reverse("crm:contact_create"), form_data(name="王芳", email="wang@", mobile="95588"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "“wang@” is not a valid email address." in field_block(html, "email")
    assert "“95588” is not a valid phone number." in field_block(html, "mobile")
    assert Contact.objects.count() == 0


def test_create_form_normalises_and_redirects(login, boss, huawei):
    # when
    response = login(boss).post(reverse("crm:contact_create"),
                                form_data(name=" 王芳 ", mobile="１３８ １２３４ ５６７８", account=str(huawei.pk)))
    # then
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_detail", args=[contact.pk])
    assert (contact.name, contact.mobile, contact.account, contact.owner) == ("王芳", "+8613812345678", huawei, boss)


def test_duplicate_shows_create_anyway_checkbox_then_creates(login, boss, contacts):
    # given
    client = login(boss)
    data = form_data(name="Li Lei", email="LI.LEI@huawei.example")
    # when
    refused = client.post(reverse("crm:contact_create"), data)
    # then
    html = refused.content.decode()
    assert refused.status_code == 200
    block = field_block(html, "allow_duplicate")
    assert 'type="checkbox"' in block
    assert "already exists: 李雷" in block
    assert Contact.objects.count() == 3
    # when
    accepted = client.post(reverse("crm:contact_create"), {**data, "allow_duplicate": "on"})
    # then
    assert accepted.status_code == 302
    assert Contact.objects.filter(email="li.lei@huawei.example").count() == 2


def test_create_form_hides_create_anyway_until_a_duplicate(login, boss):
    # when
    html = login(boss).get(reverse("crm:contact_create")).content.decode()
    # then
    assert '<input type="hidden" name="allow_duplicate"' in html
    assert 'id="field-allow_duplicate"' not in html


def test_edit_form_saves_changes(login, boss, contacts):
    # when
    response = login(boss).post(reverse("crm:contact_update", args=[contacts[1].pk]),
                                form_data(name="韩梅梅", position="财务经理", email="han.meimei@huawei.example",
                                          account=str(contacts[1].account_id), consent_email="on"))
    # then
    assert response.status_code == 302
    contacts[1].refresh_from_db()
    assert (contacts[1].position, contacts[1].consent_email) == ("财务经理", True)


def test_delete_contact(login, boss, contacts):
    # when
    response = login(boss).post(reverse("crm:contact_delete", args=[contacts[2].pk]))
    # then
    assert response.status_code == 302
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["李雷", "韩梅梅"]


def test_list_query_count_is_constant(login, boss, huawei, django_assert_max_num_queries):
    # given
    for i in range(40):
        services.create_contact({"name": f"Person {i:02d}", "account": huawei}, actor=boss)
    client = login(boss)
    # when / then: session, user, permissions (2), count, rows, prefetched accounts, saved views, custom fields
    with django_assert_max_num_queries(10):
        response = client.get(LIST_URL, {"per_page": "50"})
    assert len(names_in(response)) == 40


# --- navigation and global search ------------------------------------------------------------------


def test_navigation_shows_contacts_with_view_permission(login, boss, nobody):
    # when
    allowed = login(boss).get("/").content.decode()
    denied = login(nobody).get("/").content.decode()
    # then
    assert f'href="{LIST_URL}"' in allowed
    assert f'href="{LIST_URL}"' not in denied


def test_global_search_finds_contacts_by_name_email_and_mobile(boss, contacts):
    # given
    from bizloom.platform import search

    def contact_hits(text: str) -> list[str]:
        groups = [g for g in search.search(boss, text) if g["url_name"] == "crm:contact_detail"]
        return [str(hit) for group in groups for hit in group["hits"]]

    # when / then
    assert contact_hits("李雷") == ["李雷"]
    assert contact_hits("han.meimei@") == ["韩梅梅"]
    assert contact_hits("13812345678") == ["李雷"]

"""The duplicate queue and the merge tool over the REST API and the web pages (issue #4)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bizloom.crm import services as crm_services
from bizloom.crm.merging import queue
from bizloom.crm.models import Account, Contact, DuplicatePair

PERMS = ("view_account", "add_account", "change_account", "delete_account", "view_contact", "add_contact",
         "view_duplicatepair", "add_duplicatepair", "change_duplicatepair")


@pytest.fixture
def boss(make_user):
    return make_user("boss", *PERMS)


@pytest.fixture
def api(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def twins(boss) -> tuple[Account, Account]:
    keep = crm_services.create_account({"name": "云启科技有限公司", "city": "杭州"}, actor=boss)
    other = crm_services.create_account({"name": "雲啟科技", "code": "91350100M000100Y43"}, actor=boss)
    return keep, other


def test_scan_then_list_then_dismiss(api, twins):
    # when
    scan = api.post("/api/v1/crm/duplicates/scan")
    listing = api.get("/api/v1/crm/duplicates", {"type": "account"}).json()
    pair_id = listing["results"][0]["id"]
    dismissed = api.post(f"/api/v1/crm/duplicates/{pair_id}/dismiss")
    again = api.post(f"/api/v1/crm/duplicates/{pair_id}/dismiss")
    # then
    assert scan.status_code == 202
    assert listing["count"] == 1
    assert {listing["results"][0]["first"]["id"], listing["results"][0]["second"]["id"]} == {t.pk for t in twins}
    assert dismissed.json()["status"] == "dismissed"
    assert again.status_code == 409
    assert api.get("/api/v1/crm/duplicates").json()["count"] == 0


def test_the_queue_needs_its_permission(client, make_user, twins):
    # given
    client.force_login(make_user("viewer", "view_account"))
    # when / then
    assert client.get("/api/v1/crm/duplicates").status_code == 403
    assert client.post("/api/v1/crm/duplicates/scan").status_code == 403
    assert not DuplicatePair.objects.exists()


def test_preview_and_merge(api, twins):
    # given
    keep, other = twins
    selection = {"type": "account", "survivor": keep.pk, "others": [other.pk]}
    # when
    preview = api.post("/api/v1/crm/merge/preview", selection, content_type="application/json").json()
    merged = api.post("/api/v1/crm/merge", {**selection, "chosen": {"name": other.pk}},
                      content_type="application/json")
    # then
    rows = {row["name"]: row for row in preview["fields"]}
    assert rows["code"]["chosen"] == other.pk
    assert rows["city"]["chosen"] == keep.pk
    assert merged.status_code == 200
    assert merged.json()["merged"] == [other.pk]
    keep.refresh_from_db()
    assert (keep.name, keep.city, keep.code) == ("雲啟科技", "杭州", "91350100M000100Y43")


def test_merge_refusals(api, client, make_user, twins):
    # given
    keep, other = twins
    selection = {"type": "account", "survivor": keep.pk, "others": [other.pk]}
    # when
    unknown_field = api.post("/api/v1/crm/merge", {**selection, "chosen": {"nope": keep.pk}},
                             content_type="application/json")
    missing = api.post("/api/v1/crm/merge", {**selection, "others": [999999]}, content_type="application/json")
    client.force_login(make_user("editor", "view_account", "change_account"))
    no_delete = client.post("/api/v1/crm/merge", selection, content_type="application/json")
    # then
    assert unknown_field.status_code == 422
    assert "nope" in unknown_field.json()["errors"]
    assert missing.status_code == 404
    assert no_delete.status_code == 403
    assert Account.objects.count() == 2


# --- pages ---------------------------------------------------------------------------------------


def test_the_possible_duplicates_page_lists_pairs_with_merge_and_dismiss(api, twins):
    # given
    queue.scan_duplicates()
    pair = DuplicatePair.objects.get()
    # when
    page = api.get(reverse("crm:duplicate_list")).content.decode()
    dismissed = api.post(reverse("crm:duplicate_dismiss", args=[pair.pk]))
    # then
    assert "云启科技有限公司" in page
    assert "雲啟科技" in page
    assert reverse("crm:merge_start", args=["account", f"{pair.first_id},{pair.second_id}"]) in page
    assert dismissed.status_code == 302
    assert DuplicatePair.objects.get().status == "dismissed"


def test_scan_now_button(api, twins):
    # when
    response = api.post(reverse("crm:duplicate_scan"))
    # then
    assert response.status_code == 302
    assert DuplicatePair.objects.count() == 1


def test_the_merge_page_shows_fields_and_merges_with_the_chosen_survivor(api, boss, twins):
    # given
    keep, other = twins
    crm_services.create_contact({"name": "王芳", "account": other}, actor=boss)
    url = reverse("crm:merge_start", args=["account", f"{keep.pk},{other.pk}"])
    # when
    page = api.get(url + f"?survivor={other.pk}").content.decode()
    response = api.post(url, {"survivor": str(other.pk), "field_city": str(keep.pk)})
    # then
    assert "91350100M000100Y43" in page
    assert "Contacts" in page
    assert response.status_code == 302
    assert not Account.objects.filter(pk=keep.pk).exists()
    other.refresh_from_db()
    assert other.city == "杭州"
    assert Contact.objects.get().account == other


def test_the_merge_page_is_404_for_unknown_kinds_and_invisible_records(api, make_user, client, twins):
    # given
    keep, other = twins
    # when / then
    assert api.get(reverse("crm:merge_start", args=["invoice", f"{keep.pk},{other.pk}"])).status_code == 404
    assert api.get(reverse("crm:merge_start", args=["account", f"{keep.pk},999999"])).status_code == 404
    client.force_login(make_user("nobody"))
    assert client.get(reverse("crm:merge_start", args=["account", f"{keep.pk},{other.pk}"])).status_code == 403

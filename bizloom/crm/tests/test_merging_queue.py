"""The standing duplicate queue (issue #4): scans, idempotence, dismissal, new records, visibility."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from bizloom.common.errors import DomainError
from bizloom.crm import services as crm_services
from bizloom.crm.leads import services as lead_services
from bizloom.crm.merging import handlers, queue
from bizloom.crm.models import Account, Contact, DuplicatePair, Lead
from bizloom.platform.models import User
from bizloom.platform.org import services as org

ACCOUNT_AND_CONTACT = ("view_account", "add_account", "view_contact", "add_contact", "view_lead", "add_lead")


@pytest.fixture
def boss(make_user):
    return make_user("boss", *ACCOUNT_AND_CONTACT, "view_duplicatepair", "add_duplicatepair",
                     "change_duplicatepair")


def pairs(model) -> list[tuple[int, int, str, str]]:
    return list(DuplicatePair.objects.filter(content_type=ContentType.objects.get_for_model(model))
                .order_by("first_id", "second_id").values_list("first_id", "second_id", "rule", "value"))


def test_scan_finds_accounts_by_tax_id_and_by_normalised_name(boss):
    # given
    huawei = crm_services.create_account({"name": "华为技术有限公司"}, actor=boss)
    huawei_tw = crm_services.create_account({"name": "華為技術股份有限公司"}, actor=boss)
    acme = crm_services.create_account({"name": "Acme Trading Ltd", "code": "12-3456789"}, actor=boss)
    acme_inc = crm_services.create_account({"name": "Globex", "code": "123456789"}, actor=boss)
    crm_services.create_account({"name": "华为终端有限公司"}, actor=boss)
    # when
    added = queue.scan_duplicates()
    # then
    assert added["crm.Account"] == 2
    assert pairs(Account) == [(huawei.pk, huawei_tw.pk, "name", "华为技术"),
                              (acme.pk, acme_inc.pk, "tax_id", "123456789")]


def test_scan_finds_contacts_by_email_and_phone_in_either_field_and_the_strongest_rule_wins(boss):
    # given
    a = crm_services.create_contact({"name": "王芳", "mobile": "13812345678", "email": "wang@acme.example"},
                                    actor=boss)
    b = crm_services.create_contact({"name": "Wang Fang", "phone": "+86 138 1234 5678",
                                     "email": "wang@acme.example"}, actor=boss, allow_duplicate=True)
    c = crm_services.create_contact({"name": "芳", "phone": "138-1234-5678"}, actor=boss, allow_duplicate=True)
    # when
    queue.scan_duplicates([Contact])
    # then
    assert pairs(Contact) == [(a.pk, b.pk, "email", "wang@acme.example"), (a.pk, c.pk, "phone", "+8613812345678"),
                              (b.pk, c.pk, "phone", "+8613812345678")]


def test_scan_finds_leads_of_the_same_person_at_the_same_company(boss):
    # given
    a = lead_services.create_lead({"name": "张三", "company": "云启科技有限公司"}, actor=boss)
    b = lead_services.create_lead({"name": "張三", "company": "雲啟科技股份有限公司"}, actor=boss, allow_duplicate=True)
    lead_services.create_lead({"name": "张三", "company": "别的公司"}, actor=boss)
    # when
    queue.scan_duplicates([Lead])
    # then
    assert [(first, second, rule) for first, second, rule, _v in pairs(Lead)] == [(a.pk, b.pk, "name")]


def test_a_second_scan_adds_nothing_and_a_dismissed_pair_stays_dismissed(boss):
    # given
    crm_services.create_account({"name": "云启科技有限公司"}, actor=boss)
    crm_services.create_account({"name": "雲啟科技"}, actor=boss)
    queue.scan_duplicates()
    pair = DuplicatePair.objects.get()
    queue.dismiss_pair(pair, actor=boss)
    # when
    again = queue.scan_duplicates()
    # then
    assert again == {"crm.Account": 0, "crm.Contact": 0, "crm.Lead": 0}
    pair.refresh_from_db()
    assert (pair.status, pair.resolved_by) == (DuplicatePair.Status.DISMISSED, boss)
    assert DuplicatePair.objects.count() == 1
    with pytest.raises(DomainError):
        queue.dismiss_pair(pair, actor=boss)


def test_creating_an_account_queues_its_duplicates_after_commit(boss, django_capture_on_commit_callbacks):
    # given
    handlers.register()
    first = crm_services.create_account({"name": "云启科技有限公司"}, actor=boss)
    # when: the outbox delivers the async handler after the commit
    with django_capture_on_commit_callbacks(execute=True):
        second = crm_services.create_account({"name": "雲啟科技"}, actor=boss)
    # then
    assert pairs(Account) == [(first.pk, second.pk, "name", "云启科技")]


def test_creating_a_contact_queues_its_duplicates_after_commit(boss, django_capture_on_commit_callbacks):
    # given
    handlers.register()
    first = crm_services.create_contact({"name": "王芳", "mobile": "13812345678"}, actor=boss)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        second = crm_services.create_contact({"name": "王芳", "phone": "+8613812345678"}, actor=boss,
                                             allow_duplicate=True)
    # then
    assert pairs(Contact) == [(first.pk, second.pk, "phone", "+8613812345678")]


def test_a_shared_placeholder_value_does_not_flood_the_queue(boss):
    # given: 25 contacts with the company switchboard as their phone
    for number in range(queue.MAX_GROUP + 5):
        crm_services.create_contact({"name": f"员工{number}", "phone": "0571-88888888"}, actor=boss,
                                    allow_duplicate=True)
    # when
    queue.scan_duplicates([Contact])
    # then
    assert pairs(Contact) == []


def test_the_queue_shows_only_pairs_whose_both_records_the_user_may_view(db):
    # given: a rep who sees their own accounts only
    root = User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="rep")
    org.set_role_grant(role, Account, "view", "own", actor=root)
    org.set_role_grant(role, DuplicatePair, "view", "all", actor=root)
    rep = User.objects.create_user("rep", password="pw-secret-123")
    rep.groups.add(role)
    mine = [crm_services.create_account({"name": f"云启科技{suffix}", "owner": rep}, actor=root)
            for suffix in ("有限公司", "股份有限公司")]
    crm_services.create_account({"name": "云启科技集团", "owner": root}, actor=root)
    crm_services.create_account({"name": "雲啟科技", "owner": root}, actor=root)
    queue.scan_duplicates()
    # when
    visible = list(queue.list_pairs(User.objects.get(pk=rep.pk)))
    # then
    assert DuplicatePair.objects.count() == 3  # 云启科技集团 keeps 集团: another company, not paired
    assert [(p.first_id, p.second_id) for p in visible] == [(mine[0].pk, mine[1].pk)]


def test_an_accounts_name_key_follows_its_name_without_entering_the_audit_trail(boss):
    # given
    from bizloom.platform.audit.models import AuditEntry

    account = crm_services.create_account({"name": "深圳雲啟科技股份有限公司"}, actor=boss)
    # when
    crm_services.update_account(account, {"name": "Acme Trading Co., Ltd."}, actor=boss)
    # then the key is the folded name, found by an indexed lookup, and no entry mentions it
    account.refresh_from_db()
    assert account.name_key == "acmetrading"
    assert Account.objects.filter(name_key="acmetrading").get() == account
    assert all("name_key" not in (entry.changes or {}) for entry in AuditEntry.objects.all())


# --- "Merge…" on a record's page: choosing the other record ------------------------------------------


def test_merge_picker_offers_the_look_alikes_the_user_may_see(client, make_user):
    # given: a rep (own scope) with an account, its look-alike, and a look-alike owned by someone else
    from django.urls import reverse

    root = User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="Rep")
    for action in ("view", "change", "delete"):
        org.set_role_grant(role, Account, action, "own", actor=root)
    rep = make_user("rep")
    rep.groups.add(role)
    mine = crm_services.create_account({"name": "华为技术有限公司", "owner": rep}, actor=root)
    twin = crm_services.create_account({"name": "華為技術股份有限公司", "owner": rep}, actor=root)
    crm_services.create_account({"name": "华为技术有限公司（深圳）", "code": "914403001922038216", "owner": root},
                                actor=root)
    hidden = crm_services.create_account({"name": "華為技術有限公司", "owner": root}, actor=root)
    client.force_login(rep)

    # when
    response = client.get(reverse("crm:merge_start", args=["account", f"{mine.pk}"]))

    # then: the visible twin, linking to the merge page of the two; never the hidden one
    body = response.content.decode()
    assert response.status_code == 200
    assert "華為技術股份有限公司" in body
    assert reverse("crm:merge_start", args=["account", f"{mine.pk},{twin.pk}"]) in body
    assert f"{mine.pk},{hidden.pk}" not in body
    # a search by name finds only visible records, not the record itself
    body = client.get(reverse("crm:merge_start", args=["account", f"{mine.pk}"]), {"q": "华为"}).content.decode()
    assert 'id="merge-found"' in body
    assert f"{mine.pk},{hidden.pk}" not in body
    assert f"{mine.pk},{mine.pk}" not in body
    # and a record outside the scope is a 404
    assert client.get(reverse("crm:merge_start", args=["account", f"{hidden.pk}"])).status_code == 404

"""Account services write the audit trail and publish events (issue #3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from bizloom.common.errors import DomainError
from bizloom.crm import services
from bizloom.crm.events import AccountCreated, AccountDeleted, AccountOwnerChanged, AccountUpdated
from bizloom.crm.models import Account
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401
from bizloom.platform.middleware_context import use_channel


def entries_of(account: Account) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Account),
                                          object_id=str(account.pk)).order_by("pk"))


def ref(user) -> dict:
    return {"id": user.pk, "repr": str(user)}


def test_create_account_records_every_given_value(manager):
    # when
    account = services.create_account({"name": "Acme", "city": "上海", "annual_revenue": Decimal("12.34")},
                                      actor=manager)
    # then
    [entry] = entries_of(account)
    assert (entry.action, entry.actor, entry.channel, entry.request_id, entry.object_repr) == (
        "create", manager, "system", "", "Acme")
    assert entry.changes == {
        "name": [None, "Acme"], "tier": [None, "c"], "city": [None, "上海"],
        "annual_revenue": [None, "12.3400"], "currency": [None, "CNY"], "is_customer": [None, True],
        "is_supplier": [None, False], "owner": [None, ref(manager)],
    }


def test_create_account_in_an_import_records_the_import_channel(manager):
    # when
    with use_channel("import", request_id="job-42"):
        account = services.create_account({"name": "Acme"}, actor=manager)
    # then
    [entry] = entries_of(account)
    assert (entry.channel, entry.request_id) == ("import", "job-42")


def test_update_account_records_old_and_new_values(huawei, manager):
    # when
    services.update_account(huawei, {"city": "东莞", "annual_revenue": Decimal("1.5"), "tier": "a"}, actor=manager)
    # then
    entry = entries_of(huawei)[-1]
    assert (entry.action, entry.actor, entry.channel) == ("update", manager, "system")
    assert entry.changes == {"city": ["深圳", "东莞"], "annual_revenue": ["704200000000.0000", "1.5000"]}


def test_update_account_that_changes_nothing_writes_no_entry(huawei, manager):
    # given
    before = AuditEntry.objects.count()
    messages_before = OutboxMessage.objects.count()  # other apps may react to the account's creation
    # when: the same values, the revenue typed with fewer decimals
    services.update_account(huawei, {"city": "深圳", "annual_revenue": Decimal("704200000000")}, actor=manager)
    # then
    assert AuditEntry.objects.count() == before
    assert OutboxMessage.objects.count() == messages_before


def test_update_account_owner_records_references(huawei, manager, viewer):
    # when
    services.update_account(huawei, {"owner": viewer}, actor=manager)
    # then
    assert entries_of(huawei)[-1].changes == {"owner": [ref(manager), ref(viewer)]}


def test_invalid_update_writes_no_entry(huawei, manager):
    # given
    before = AuditEntry.objects.count()
    # when
    with pytest.raises(DomainError):
        services.update_account(huawei, {"name": ""}, actor=manager)
    # then
    assert AuditEntry.objects.count() == before


def test_delete_account_records_last_values(manager):
    # given
    account = services.create_account({"name": "Acme", "city": "上海"}, actor=manager)
    account_id = account.pk
    # when
    services.delete_account(account, actor=manager)
    # then
    entry = AuditEntry.objects.get(object_id=str(account_id), action="delete")
    assert (entry.actor, entry.channel, entry.object_repr) == (manager, "system", "Acme")
    assert entry.changes == {"name": ["Acme", None], "tier": ["c", None], "city": ["上海", None],
                             "currency": ["CNY", None], "is_customer": [True, None], "is_supplier": [False, None],
                             "owner": [ref(manager), None]}


def test_transfer_writes_one_owner_change_entry_per_changed_account(accounts, manager, viewer):
    # given
    services.update_account(accounts[2], {"owner": viewer}, actor=manager)  # already the new owner's
    before = AuditEntry.objects.count()
    # when
    changed = services.transfer_accounts(accounts[:3], viewer, actor=manager)
    # then
    assert changed == 2
    new = list(AuditEntry.objects.order_by("pk")[before:])
    assert [(e.object_id, e.action, e.actor, e.channel, e.changes) for e in new] == [
        (str(accounts[0].pk), "owner_change", manager, "system", {"owner": [ref(manager), ref(viewer)]}),
        (str(accounts[1].pk), "owner_change", manager, "system", {"owner": [ref(manager), ref(viewer)]}),
    ]
    assert [e.object_repr for e in new] == ["华为技术有限公司", "阿里巴巴（中国）有限公司"]


def test_transfer_of_an_account_without_owner_records_none_as_old_value(huawei, manager, viewer):
    # given
    Account.objects.filter(pk=huawei.pk).update(owner=None)
    # when
    services.transfer_accounts([huawei], viewer, actor=manager)
    # then
    assert entries_of(huawei)[-1].changes == {"owner": [None, ref(viewer)]}


def test_edit_view_records_web_channel_and_request_id(login, manager, huawei):
    # given
    form = {"name": huawei.name, "code": huawei.code, "industry": huawei.industry, "tier": "a", "city": "东莞",
            "annual_revenue": "704200000000", "currency": "CNY", "is_customer": "on", "is_supplier": "on",
            "owner": str(manager.pk)}
    # when
    response = login(manager).post(reverse("crm:account_update", args=[huawei.pk]), form)
    # then
    assert response.status_code == 302
    entry = entries_of(huawei)[-1]
    assert (entry.action, entry.actor, entry.channel, entry.changes) == ("update", manager, "web",
                                                                        {"city": ["深圳", "东莞"]})
    assert entry.request_id == response["X-Request-ID"]
    assert len(entry.request_id) == 36


def test_detail_page_shows_the_audit_trail(login, manager, huawei):
    # given
    services.update_account(huawei, {"city": "东莞"}, actor=manager)
    # when
    html = login(manager).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    assert "Updated via system" in html
    assert "city: 深圳 → 东莞" in html


# --- events ---------------------------------------------------------------------------------

def test_services_publish_account_events(subscribe, manager, viewer):  # noqa: F811
    # given
    seen = []
    for event_cls in (AccountCreated, AccountUpdated, AccountDeleted, AccountOwnerChanged):
        subscribe(event_cls, seen.append, name=f"test.{event_cls.name}")
    # when
    account = services.create_account({"name": "Acme"}, actor=manager)
    pk = account.pk
    services.update_account(account, {"city": "上海", "owner": viewer}, actor=manager)
    services.transfer_accounts([account], manager, actor=manager)
    services.delete_account(account, actor=manager)
    # then
    assert seen == [
        AccountCreated(account_id=pk, owner_id=manager.pk, actor_id=manager.pk),
        AccountUpdated(account_id=pk, changed=("city", "owner"), actor_id=manager.pk),
        AccountOwnerChanged(account_id=pk, old_owner_id=manager.pk, new_owner_id=viewer.pk,
                            actor_id=manager.pk),
        AccountOwnerChanged(account_id=pk, old_owner_id=viewer.pk, new_owner_id=manager.pk,
                            actor_id=manager.pk),
        AccountDeleted(account_id=pk, account_name="Acme", actor_id=manager.pk),
    ]


def test_failing_sync_handler_rolls_back_account_creation(subscribe, manager):  # noqa: F811
    # given
    def refuse(event):
        raise RuntimeError("credit check failed")

    subscribe(AccountCreated, refuse, name="test.refuse")
    # when
    with pytest.raises(RuntimeError, match="credit check failed"):
        services.create_account({"name": "Acme"}, actor=manager)
    # then
    assert Account.objects.count() == 0
    assert AuditEntry.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_async_handler_gets_an_outbox_row_delivered_after_commit(subscribe, manager,  # noqa: F811
                                                                 django_capture_on_commit_callbacks):
    # given
    seen = []
    subscribe(AccountCreated, seen.append, mode="async", name="test.async_seen")
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        account = services.create_account({"name": "Acme"}, actor=manager)
    # then: written with the account, not delivered before commit
    message = OutboxMessage.objects.get(handler="test.async_seen")  # other apps may subscribe too
    assert (message.event_name, message.handler, message.status, message.attempts) == (
        "crm.account.created", "test.async_seen", "pending", 0)
    assert message.payload == {"account_id": account.pk, "owner_id": manager.pk, "actor_id": manager.pk}
    assert seen == []
    # when: the commit runs the callbacks, which enqueue deliver_outbox (immediate backend)
    for callback in callbacks:
        callback()
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("delivered", 1, "")
    assert message.delivered_at is not None
    assert seen == [AccountCreated(account_id=account.pk, owner_id=manager.pk, actor_id=manager.pk)]


def test_failing_async_handler_leaves_the_account_created(subscribe, manager,  # noqa: F811
                                                          django_capture_on_commit_callbacks):
    # given
    def broken(event):
        raise ValueError("webhook endpoint down")

    subscribe(AccountCreated, broken, mode="async", name="test.broken")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        account = services.create_account({"name": "Acme"}, actor=manager)
    # then
    assert Account.objects.get().pk == account.pk
    message = OutboxMessage.objects.get(handler="test.broken")  # other apps may subscribe too
    assert (message.status, message.attempts, message.last_error) == ("pending", 1,
                                                                      "ValueError: webhook endpoint down")


def test_timeline_shows_choice_labels_not_codes(login, manager, huawei):
    # given
    services.update_account(huawei, {"industry": "software"}, actor=manager)
    # when
    html = login(manager).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    assert "Software and IT" in html
    assert "→ software" not in html


def test_audited_account_shows_its_history_once(login, manager):
    # given: created and changed through the services, so the audit trail has both
    account = services.create_account({"name": "深圳前海微众科技有限公司"}, actor=manager)
    services.update_account(account, {"city": "深圳"}, actor=manager)
    # when
    html = login(manager).get(reverse("crm:account_detail", args=[account.pk])).content.decode()
    # then: the audit entries, without the bare created/updated fallback entries
    assert html.count('class="timeline-audit"') == 2
    assert 'class="timeline-created"' not in html
    assert 'class="timeline-updated"' not in html

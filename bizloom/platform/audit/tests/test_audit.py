"""The audit trail: append-only storage, JSON-safe snapshots and diffs, access and channels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from bizloom.platform import middleware_context as ctx
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry, AuditEntryImmutable
from bizloom.platform.audit.selectors import entries_for
from bizloom.platform.audit.timeline import audit_timeline
from bizloom.platform.models import User

# The platform layer may not import crm statically (import-linter); any business model will do.
Account = apps.get_model("crm", "Account")


@pytest.fixture
def alice(db) -> User:
    user = User.objects.create_user(username="alice", password="pw-secret-123")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename="view_account"))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def account(alice) -> Account:
    return Account.objects.create(name="Acme", owner=alice, annual_revenue=Decimal("10.5"))


@pytest.fixture
def entry(account, alice) -> AuditEntry:
    return audit.record_change(account, actor=alice, action="update", before={"city": ""}, after={"city": "上海"})


# --- append-only ----------------------------------------------------------------------------

def test_saving_an_existing_entry_is_refused(entry):
    # given
    entry.action = "delete"
    # when
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    # then
    assert AuditEntry.objects.get(pk=entry.pk).action == "update"


def test_deleting_an_entry_is_refused(entry):
    # when
    with pytest.raises(AuditEntryImmutable):
        entry.delete()
    # then
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_and_delete_are_refused(entry):
    # when / then
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="delete")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.bulk_update([entry], ["action"])
    # then
    assert list(AuditEntry.objects.values_list("pk", "action")) == [(entry.pk, "update")]


def test_raw_sql_update_is_refused_by_the_database(entry):
    # when
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["delete", entry.pk])
    # then
    assert AuditEntry.objects.get(pk=entry.pk).action == "update"


def test_raw_sql_delete_is_refused_by_the_database(entry):
    # when
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    # then
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_raw_sql_insert_is_allowed(account, alice):
    # given
    content_type = ContentType.objects.get_for_model(Account)
    # when
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_auditentry (content_type_id, object_id, object_repr, action, channel, "
                       "request_id, at, changes) VALUES (%s, %s, 'Acme', 'share', 'system', '', %s, '{}')",
                       [content_type.pk, str(account.pk), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)])
    # then
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["share"]


def test_user_with_history_cannot_be_deleted(entry, alice):
    # when
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        alice.delete()
    # then
    assert User.objects.filter(pk=alice.pk).exists()


# --- snapshots and diffs -------------------------------------------------------------------

def test_to_json_makes_values_json_safe(alice):
    # when
    values = audit.to_json({
        "amount": Decimal("1.50"), "day": dt.date(2025, 3, 1),
        "at": dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC), "user": alice, "tags": ("a", 1), "none": None,
    })
    # then
    assert values == {"amount": "1.50", "day": "2025-03-01", "at": "2025-03-01T08:30:00+00:00",
                      "user": {"id": alice.pk, "repr": "alice"}, "tags": ["a", 1], "none": None}


def test_snapshot_has_concrete_fields_and_custom_data_but_no_timestamps(account, alice):
    # given
    account.custom_data = {"segment": "smb", "score": Decimal("4.5")}
    # when
    state = audit.snapshot(account)
    # then
    assert state == {
        "name": "Acme", "code": "", "industry": "", "tier": "c", "city": "", "phone": "", "email": "",
        "website": "", "annual_revenue": "10.5000", "currency": "CNY", "is_customer": True,
        "is_supplier": False, "owner": {"id": alice.pk, "repr": "alice"}, "notes": "",
        "parent": None, "billing_address": "", "shipping_address": "", "account_plan": "", "size": "",
        "cf_segment": "smb", "cf_score": "4.5",
    }


def test_custom_fields_are_diffed_key_by_key(account, alice):
    # given
    account.custom_data = {"segment": "smb", "score": 1}
    before = audit.snapshot(account)
    account.custom_data = {"segment": "enterprise", "region": "north"}
    # when
    entry = audit.record_change(account, actor=alice, action="update", before=before, after=audit.snapshot(account))
    # then
    assert entry.changes == {"cf_segment": ["smb", "enterprise"], "cf_score": [1, None],
                             "cf_region": [None, "north"]}


def test_renamed_reference_is_not_a_change(alice):
    # when
    changes = audit.diff({"owner": {"id": 1, "repr": "old name"}}, {"owner": {"id": 1, "repr": "new name"}})
    # then
    assert changes == {}


def test_unchanged_snapshot_writes_nothing(account, alice):
    # given
    before = audit.snapshot(account)
    # when
    entry = audit.record_change(account, actor=alice, action="update", before=before, after=audit.snapshot(account))
    # then
    assert entry is None
    assert AuditEntry.objects.count() == 0


def test_free_event_name_without_snapshots_is_recorded(account, alice):
    # when
    entry = audit.record_change(account, actor=None, action="crm.account.merged", before=None, after=None,
                                channel="automation")
    # then
    entry.refresh_from_db()
    assert (entry.action, entry.actor, entry.channel, entry.changes, entry.action_label) == (
        "crm.account.merged", None, "automation", {}, "crm.account.merged")


def test_record_bulk_writes_one_entry_per_id_in_one_insert(account, alice, django_assert_num_queries):
    # given
    other = Account.objects.create(name="Beta")
    ContentType.objects.get_for_model(Account)  # cached, as in a running process
    # when
    with django_assert_num_queries(2):  # read the reprs, insert the entries
        entries = audit.record_bulk(Account, [account.pk, other.pk], actor=alice, action="share",
                                    changes_by_id={account.pk: {"shared_with": (None, alice)}})
    # then
    assert [(e.object_id, e.object_repr, e.action, e.changes) for e in entries] == [
        (str(account.pk), "Acme", "share", {"shared_with": [None, {"id": alice.pk, "repr": "alice"}]}),
        (str(other.pk), "Beta", "share", {}),
    ]
    assert AuditEntry.objects.count() == 2


def test_unknown_channel_is_refused(account, alice):
    # when
    with pytest.raises(ValueError, match="Unknown channel"):
        audit.record_change(account, actor=alice, action="share", before=None, after=None, channel="fax")
    # then
    assert AuditEntry.objects.count() == 0


# --- reading ------------------------------------------------------------------------------

def test_entries_for_needs_view_permission_on_the_record(entry, account, alice):
    # given
    stranger = User.objects.create_user(username="stranger", password="pw-secret-123")
    # when
    mine = list(entries_for(account, alice))
    theirs = list(entries_for(account, stranger))
    # then
    assert mine == [entry]
    assert theirs == []


def test_timeline_shows_who_when_channel_and_changes(entry, account, alice):
    # when
    [item] = audit_timeline(account, alice)
    # then
    assert (item.at, item.actor, item.kind) == (entry.at, alice, "audit")
    assert str(item.title) == "Updated via system"
    assert item.body == "city: — → 上海"


# --- request context ----------------------------------------------------------------------

def test_middleware_sets_web_or_api_channel_and_request_id_header():
    # given
    seen = []

    def view(request):
        seen.append((ctx.current_channel(), ctx.current_request_id(), request.request_id))
        return HttpResponse()

    middleware = ctx.RequestContextMiddleware(view)
    factory = RequestFactory()
    # when
    web = middleware(factory.get("/crm/accounts/"))
    api = middleware(factory.get("/api/v1/crm/accounts"))
    # then
    assert [s[0] for s in seen] == ["web", "api"]
    assert [s[1] for s in seen] == [web["X-Request-ID"], api["X-Request-ID"]]
    assert [s[2] for s in seen] == [web["X-Request-ID"], api["X-Request-ID"]]
    assert web["X-Request-ID"] != api["X-Request-ID"]
    assert ctx.current() == ctx.ActionContext(channel="system", request_id="")


def test_use_channel_restores_the_previous_context_after_an_error():
    # given
    seen = []

    def job():
        with ctx.use_channel("import", request_id="job-1"):
            seen.append((ctx.current_channel(), ctx.current_request_id()))
            raise RuntimeError

    # when
    with pytest.raises(RuntimeError):
        job()
    # then
    assert seen == [("import", "job-1")]
    assert ctx.current() == ctx.ActionContext()


def test_use_channel_refuses_unknown_channels():
    # when / then
    with pytest.raises(ValueError, match="Unknown channel"), ctx.use_channel("carrier-pigeon"):
        pass

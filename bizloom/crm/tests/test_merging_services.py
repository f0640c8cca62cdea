"""The merge tool (issue #4): field choice, repointing every reference, audit, access refusals."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.leads import conversion
from bizloom.crm.leads import services as lead_services
from bizloom.crm.merging import services
from bizloom.crm.merging.events import AccountMerged
from bizloom.crm.models import Account, Activity, Contact, Contract, DuplicatePair, Lead, Opportunity, Pipeline
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.models import CustomField
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401
from bizloom.platform.models import RecordShare, User
from bizloom.platform.org import services as org
from bizloom.platform.timeline.models import Comment

ALL = tuple(f"{action}_{model}" for model in ("account", "contact", "lead")
            for action in ("view", "add", "change", "delete")) + ("convert_lead", "view_opportunity",
                                                                  "add_opportunity")
_NUMBERS = itertools.count(1)


@pytest.fixture
def boss(make_user):
    return make_user("boss", *ALL)


def ct(model) -> ContentType:
    return ContentType.objects.get_for_model(model)


def make_opportunity(account: Account, contact: Contact | None = None) -> Opportunity:
    pipeline = Pipeline.objects.get(is_default=True)
    return Opportunity.objects.create(name=f"Deal {next(_NUMBERS)}", account=account, contact=contact,
                                      pipeline=pipeline, stage=pipeline.stages.order_by("position").first())


def make_contract(account: Account, contact: Contact | None = None) -> Contract:
    return Contract.objects.create(number=f"HT-{next(_NUMBERS):05d}", title="年度框架合同", account=account,
                                   contact=contact, start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31))


def make_activity(record, account: Account | None = None, contact: Contact | None = None) -> Activity:
    return Activity.objects.create(subject="回访", content_type=ct(record), object_id=str(record.pk),
                                   account=account, contact=contact)


def make_comment(record, author: User) -> Comment:
    return Comment.objects.create(content_type=ct(record), object_id=str(record.pk), author=author, body="已电话联系")


# --- preview and field choice -------------------------------------------------------------------


def test_preview_defaults_to_the_survivors_value_or_the_others_when_empty(boss):
    # given
    keep = crm_services.create_account({"name": "华为技术有限公司", "city": "深圳"}, actor=boss)
    other = crm_services.create_account({"name": "華為技術股份有限公司", "city": "", "code": "914403001922038216",
                                         "phone": "0755-28780808"}, actor=boss)
    # when
    preview = services.merge_preview(Account, keep, [other], actor=boss)
    # then
    rows = {row.name: row for row in preview.fields}
    assert rows["name"].chosen == keep.pk
    assert rows["name"].differs
    assert rows["city"].chosen == keep.pk
    assert rows["code"].chosen == other.pk
    assert [text for _pk, text in rows["code"].values] == ["", "914403001922038216"]


def test_merge_applies_the_chosen_values_and_defaults(boss):
    # given
    keep = crm_services.create_account({"name": "华为技术有限公司", "city": "深圳", "tier": "b"}, actor=boss)
    other = crm_services.create_account({"name": "華為技術股份有限公司", "city": "东莞", "tier": "a",
                                         "code": "914403001922038216"}, actor=boss)
    # when
    merged = services.merge_records(Account, keep, [other], chosen_values={"city": other.pk, "tier": other.pk},
                                    actor=boss)
    # then
    assert (merged.name, merged.city, merged.tier, merged.code) == ("华为技术有限公司", "东莞", "a",
                                                                    "914403001922038216")
    assert not Account.objects.filter(pk=other.pk).exists()


def test_custom_field_values_merge_like_fields(boss):
    # given
    CustomField.objects.create(content_type=ct(Account), key="region", type=CustomField.Type.TEXT, label_en="Region")
    CustomField.objects.create(content_type=ct(Account), key="level", type=CustomField.Type.TEXT, label_en="Level")
    keep = crm_services.create_account({"name": "云启科技", "custom_fields": {"level": "VIP"}}, actor=boss)
    other = crm_services.create_account(
        {"name": "云启科技有限公司", "custom_fields": {"region": "华东", "level": "普通"}}, actor=boss)
    # when
    merged = services.merge_records(Account, keep, [other], actor=boss)
    # then
    assert merged.custom_data == {"region": "华东", "level": "VIP"}
    merged = services.merge_records(Account, merged, [
        crm_services.create_account({"name": "云启", "custom_fields": {"level": "金牌"}}, actor=boss)],
        chosen_values={"cf_level": Account.objects.get(name="云启").pk}, actor=boss)
    assert merged.custom_data["level"] == "金牌"


def test_unknown_fields_and_foreign_records_in_the_choice_are_refused(boss):
    # given
    keep = crm_services.create_account({"name": "云启科技"}, actor=boss)
    other = crm_services.create_account({"name": "云启科技有限公司"}, actor=boss)
    third = crm_services.create_account({"name": "别的公司"}, actor=boss)
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.merge_records(Account, keep, [other], chosen_values={"password": other.pk, "city": third.pk},
                               actor=boss)
    # then
    assert set(failure.value.fields) == {"password", "city"}
    assert Account.objects.count() == 3


# --- repointing ---------------------------------------------------------------------------------


def test_merging_accounts_repoints_foreign_keys_m2m_self_references_and_generic_references(boss):
    # given
    keep = crm_services.create_account({"name": "华为技术有限公司"}, actor=boss)
    other = crm_services.create_account({"name": "華為技術股份有限公司"}, actor=boss)
    child = crm_services.create_account({"name": "华为北京分公司"}, actor=boss)
    Account.objects.filter(pk=child.pk).update(parent=other)
    Account.objects.filter(pk=keep.pk).update(parent=other)  # the survivor's parent is merged away
    contact = crm_services.create_contact({"name": "王芳", "account": other}, actor=boss)
    linked = crm_services.create_contact({"name": "李雷", "account": child, "accounts": [other, keep]}, actor=boss)
    opportunity = make_opportunity(other, contact)
    contract = make_contract(other)
    activity = make_activity(other, account=other)
    comment = make_comment(other, boss)
    sales = Group.objects.create(name="Sales")
    share = RecordShare.objects.create(content_type=ct(Account), object_id=other.pk, team=None, user=boss)
    RecordShare.objects.create(content_type=ct(Account), object_id=keep.pk, user=boss)  # already shared: no duplicate
    assert sales
    # when
    services.merge_records(Account, keep, [other], actor=boss)
    # then
    keep.refresh_from_db()
    assert keep.parent is None
    assert Account.objects.get(pk=child.pk).parent == keep
    assert Contact.objects.get(pk=contact.pk).account == keep
    assert set(Contact.objects.get(pk=linked.pk).accounts.values_list("pk", flat=True)) == {keep.pk}
    assert Opportunity.objects.get(pk=opportunity.pk).account == keep
    assert Contract.objects.get(pk=contract.pk).account == keep
    refreshed = Activity.objects.get(pk=activity.pk)
    assert (refreshed.object_id, refreshed.account) == (str(keep.pk), keep)
    assert Comment.objects.get(pk=comment.pk).object_id == str(keep.pk)
    assert not RecordShare.objects.filter(pk=share.pk).exists()
    assert RecordShare.objects.filter(content_type=ct(Account), object_id=keep.pk).count() == 1


def test_merging_contacts_unions_their_accounts_and_moves_activities(boss):
    # given
    acme, globex = (crm_services.create_account({"name": name}, actor=boss) for name in ("Acme", "Globex"))
    keep = crm_services.create_contact({"name": "王芳", "account": acme, "mobile": "13812345678"}, actor=boss)
    other = crm_services.create_contact({"name": "王 芳", "account": globex, "accounts": [acme],
                                         "email": "wang@acme.example", "consent_email": True}, actor=boss,
                                        allow_duplicate=True)
    meeting = make_activity(acme, account=acme, contact=other)
    meeting.contact_attendees.add(other, keep)
    opportunity = make_opportunity(globex, other)
    # when
    merged = services.merge_records(Contact, keep, [other], chosen_values={"consent_email": other.pk}, actor=boss)
    # then
    assert merged.email == "wang@acme.example"
    assert merged.consent_email
    assert merged.consent_email_at == other.consent_email_at
    assert merged.account == acme
    assert list(merged.accounts.values_list("pk", flat=True)) == [globex.pk]
    assert Activity.objects.get(pk=meeting.pk).contact == merged
    assert list(Activity.objects.get(pk=meeting.pk).contact_attendees.all()) == [merged]
    assert Opportunity.objects.get(pk=opportunity.pk).contact == merged


def test_merging_writes_merge_audit_entries_and_publishes_the_event(boss, subscribe):  # noqa: F811
    # given
    seen: list = []
    subscribe(AccountMerged, seen.append, name="test.account_merged")
    keep = crm_services.create_account({"name": "云启科技"}, actor=boss)
    other = crm_services.create_account({"name": "云启科技有限公司", "city": "杭州"}, actor=boss)
    # when
    services.merge_records(Account, keep, [other], actor=boss)
    # then
    kept = AuditEntry.objects.get(content_type=ct(Account), object_id=str(keep.pk), action="merge")
    assert kept.changes["merged"] == [None, [{"id": other.pk, "repr": "云启科技有限公司"}]]
    assert kept.changes["city"] == ["", "杭州"]
    gone = AuditEntry.objects.get(content_type=ct(Account), object_id=str(other.pk), action="merge")
    assert gone.changes["merged_into"] == [None, {"id": keep.pk, "repr": "云启科技"}]
    assert AuditEntry.objects.filter(object_id=str(other.pk), action="create").exists()  # history stays
    assert [(e.account_id, e.merged_ids) for e in seen] == [(keep.pk, (other.pk,))]


def test_duplicate_pairs_among_the_merged_records_are_resolved_and_others_move(boss):
    # given
    a, b, c = (crm_services.create_account({"name": f"云启{i}"}, actor=boss) for i in range(3))
    inside = DuplicatePair.objects.create(content_type=ct(Account), first_id=a.pk, second_id=b.pk, rule="name")
    outside = DuplicatePair.objects.create(content_type=ct(Account), first_id=b.pk, second_id=c.pk, rule="name")
    # when
    services.merge_records(Account, a, [b], actor=boss)
    # then
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert (inside.status, inside.resolved_by) == (DuplicatePair.Status.MERGED, boss)
    assert (outside.first_id, outside.second_id, outside.status) == (a.pk, c.pk, DuplicatePair.Status.OPEN)


# --- leads and refusals ---------------------------------------------------------------------------


def test_a_converted_lead_may_only_be_the_survivor(boss):
    # given
    converted = lead_services.create_lead({"name": "王芳", "company": "云启"}, actor=boss)
    conversion.convert_lead(converted, actor=boss, create_opportunity=False)
    fresh = lead_services.create_lead({"name": "王芳", "company": "云启"}, actor=boss, allow_duplicate=True)
    # when / then
    with pytest.raises(services.MergeConflict):
        services.merge_records(Lead, fresh, [converted], actor=boss)
    merged = services.merge_records(Lead, Lead.objects.get(pk=converted.pk), [fresh], actor=boss)
    assert merged.status == Lead.Status.CONVERTED
    assert Lead.objects.count() == 1


def test_the_actor_needs_change_on_the_survivor_and_delete_on_the_others(boss, make_user):
    # given
    keep = crm_services.create_account({"name": "云启科技"}, actor=boss)
    other = crm_services.create_account({"name": "云启科技有限公司"}, actor=boss)
    editor = make_user("editor", "view_account", "change_account")
    # when / then
    with pytest.raises(PermissionDeniedError) as refusal:
        services.merge_records(Account, keep, [other], actor=editor)
    assert "delete_account" in refusal.value.context["rule"]
    assert Account.objects.count() == 2


def test_records_outside_the_scope_cannot_be_merged_away(db):
    # given: a rep whose role covers their own accounts only
    root = User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="own accounts")
    for action in ("view", "change", "delete"):
        org.set_role_grant(role, Account, action, "own", actor=root)
    rep = User.objects.create_user("rep", password="pw-secret-123")
    rep.groups.add(role)
    mine = crm_services.create_account({"name": "云启科技", "owner": rep}, actor=root)
    theirs = crm_services.create_account({"name": "云启科技有限公司", "annual_revenue": Decimal(1)}, actor=root)
    # when / then
    with pytest.raises(PermissionDeniedError):
        services.merge_records(Account, mine, [theirs], actor=User.objects.get(pk=rep.pk))
    assert Account.objects.filter(pk=theirs.pk).exists()


def test_at_least_two_distinct_records_are_needed(boss):
    # given
    keep = crm_services.create_account({"name": "云启科技"}, actor=boss)
    # when / then
    with pytest.raises(ValidationFailed):
        services.merge_records(Account, keep, [keep], actor=boss)

"""Contact services (issue #4): normalisation at entry, duplicates, account scope, audit and events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.crm import services
from bizloom.crm.events import ContactCreated, ContactDeleted, ContactOwnerChanged, ContactUpdated
from bizloom.crm.models import Account, Contact
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401
from bizloom.platform.models import User
from bizloom.platform.org import services as org

ALL_CONTACT_PERMS = ("view_contact", "add_contact", "change_contact", "delete_contact", "export_contact")


@pytest.fixture
def boss(make_user):
    """Every account and contact permission, scope all."""
    return make_user("boss", "view_account", "add_account", "change_account", *ALL_CONTACT_PERMS)


@pytest.fixture
def acme(boss):
    return services.create_account({"name": "Acme Trading Ltd", "city": "上海"}, actor=boss)


@pytest.fixture
def scoped(db, boss):
    """Two reps holding a role whose account and contact grants are limited to their own records."""
    root = User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="Own records rep")
    for model in (Account, Contact):
        for action in ("view", "add", "change"):
            org.set_role_grant(role, model, action, "own", actor=root)
    reps = []
    for name in ("rep", "other"):
        user = User.objects.create_user(name, password="pw-secret-123")
        user.groups.add(role)
        reps.append(User.objects.get(pk=user.pk))
    return reps


def contact_entries(contact: Contact) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Contact),
                                          object_id=str(contact.pk)).order_by("pk"))


def ref(obj) -> dict:
    return {"id": obj.pk, "repr": str(obj)}


# --- normalisation -------------------------------------------------------------------------


def test_create_contact_normalises_name_email_and_phones(boss):
    # when
    contact = services.create_contact({
        "name": "  ＬＩ　Lei \n", "position": " 采购经理 ", "email": " Li.Lei＠Example。COM ",
        "mobile": "＋８６ １３８ １２３４ ５６７８", "phone": "0755-8888 8888 转 123", "wechat_id": "ｗｘ＿lilei",
    }, actor=boss)
    # then
    contact.refresh_from_db()
    assert (contact.name, contact.position, contact.email, contact.mobile, contact.phone, contact.wechat_id) == (
        "LI Lei", "采购经理", "li.lei@example.com", "+8613812345678", "+8675588888888;ext=123", "wx_lilei")
    assert contact.owner == boss


@pytest.mark.parametrize("typed", ["13812345678", "+86 138-1234-5678", "0086 138 1234 5678", "１３８１２３４５６７８"],
                         ids=["plain_case", "plus86_case", "0086_case", "fullwidth_case"])
def test_mainland_mobile_is_stored_in_e164(boss, typed):
    # when
    contact = services.create_contact({"name": "王芳", "mobile": typed}, actor=boss)
    # then
    contact.refresh_from_db()
    assert contact.mobile == "+8613812345678"


def test_bad_email_and_phone_are_field_errors_and_nothing_is_written(boss):
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.create_contact({"name": "", "email": "li@", "mobile": "95588"}, actor=boss)
    # then
    assert caught.value.fields == {
        "email": ["“li@” is not a valid email address."],
        "mobile": ["“95588” is not a valid phone number. Write numbers of other countries with + and the "
                   "country code."],
        "name": ["This field cannot be blank."],
    }
    assert Contact.objects.count() == 0
    assert AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Contact)).count() == 0


def test_update_with_bad_email_changes_nothing(boss):
    # given
    contact = services.create_contact({"name": "王芳", "email": "wang@example.com"}, actor=boss)
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.update_contact(contact, {"email": "wang at example", "position": "总经理"}, actor=boss)
    # then
    assert list(caught.value.fields) == ["email"]
    contact.refresh_from_db()
    assert (contact.email, contact.position) == ("wang@example.com", "")
    assert len(contact_entries(contact)) == 1


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_email_is_refused_naming_the_existing_contact(boss):
    # given
    first = services.create_contact({"name": "李雷", "email": "li.lei@example.com"}, actor=boss)
    # when
    with pytest.raises(services.DuplicateContact) as caught:
        services.create_contact({"name": "Li Lei", "email": "LI.LEI@Example.com"}, actor=boss)
    # then
    error = caught.value
    assert error.code == "duplicate_contact"
    assert error.context == {"duplicate_of": first.pk}
    assert error.message == ("A contact with the same email or phone already exists: 李雷. "
                             "Tick “Create anyway” to create this one too.")
    assert list(error.fields) == ["allow_duplicate"]
    assert list(Contact.objects.values_list("name", flat=True)) == ["李雷"]


def test_duplicate_phone_written_differently_is_refused(boss):
    # given
    services.create_contact({"name": "李雷", "mobile": "+86 138 1234 5678"}, actor=boss)
    # when
    with pytest.raises(services.DuplicateContact):
        services.create_contact({"name": "李 雷", "phone": "138-1234-5678"}, actor=boss)
    # then
    assert Contact.objects.count() == 1


def test_allow_duplicate_creates_the_second_contact(boss):
    # given
    services.create_contact({"name": "李雷", "email": "li.lei@example.com"}, actor=boss)
    # when
    second = services.create_contact({"name": "李雷", "email": "li.lei@example.com"}, actor=boss,
                                     allow_duplicate=True)
    # then
    assert Contact.objects.filter(email="li.lei@example.com").count() == 2
    assert second.pk is not None


def test_duplicate_outside_the_actors_scope_does_not_count(scoped):
    # given a contact of the other rep, which the rep may not see
    rep, other = scoped
    services.create_contact({"name": "李雷", "email": "li.lei@example.com"}, actor=other)
    # when
    mine = services.create_contact({"name": "李雷", "email": "li.lei@example.com"}, actor=rep)
    # then
    assert mine.owner == rep
    assert Contact.objects.count() == 2


# --- account references --------------------------------------------------------------------------


def test_account_outside_the_actors_read_scope_is_refused(scoped):
    # given an account owned by the other rep
    rep, other = scoped
    theirs = services.create_account({"name": "他们的公司"}, actor=other)
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.create_contact({"name": "王芳", "account": theirs}, actor=rep)
    # then
    assert caught.value.code == "reference_not_visible"
    assert caught.value.fields == {"account": ["You may not refer to this account."]}
    assert Contact.objects.count() == 0


def test_linked_account_outside_the_actors_read_scope_is_refused(scoped):
    # given
    rep, other = scoped
    mine = services.create_account({"name": "我的公司"}, actor=rep)
    theirs = services.create_account({"name": "他们的公司"}, actor=other)
    contact = services.create_contact({"name": "王芳", "account": mine}, actor=rep)
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.update_contact(contact, {"accounts": [theirs]}, actor=rep)
    # then
    assert caught.value.fields == {"accounts": ["You may not refer to this account."]}
    assert list(contact.accounts.all()) == []


def test_own_account_is_accepted_and_primary_is_not_repeated_among_others(boss, acme):
    # given
    other = services.create_account({"name": "Beta Ltd"}, actor=boss)
    # when
    contact = services.create_contact({"name": "王芳", "account": acme, "accounts": [acme, other]}, actor=boss)
    # then
    assert contact.account == acme
    assert list(contact.accounts.values_list("name", flat=True)) == ["Beta Ltd"]


# --- consent ---------------------------------------------------------------------------------------


def test_consent_date_is_set_when_turned_on_and_cleared_when_off(boss):
    # given
    contact = services.create_contact({"name": "王芳"}, actor=boss)
    assert (contact.consent_email_at, contact.consent_sms_at) == (None, None)
    # when
    services.update_contact(contact, {"consent_email": True}, actor=boss)
    contact.refresh_from_db()
    given_at = contact.consent_email_at
    services.update_contact(contact, {"consent_sms": True}, actor=boss)
    contact.refresh_from_db()
    # then: turning SMS on keeps the email consent date
    assert isinstance(given_at, dt.datetime)
    assert contact.consent_email_at == given_at
    assert contact.consent_sms_at is not None
    # when
    services.update_contact(contact, {"consent_email": False}, actor=boss)
    # then
    contact.refresh_from_db()
    assert (contact.consent_email, contact.consent_email_at) == (False, None)


# --- audit and events --------------------------------------------------------------------------


def test_create_and_update_record_audit_entries(boss, acme):
    # when
    contact = services.create_contact({"name": "王芳", "email": "Wang@Example.com", "account": acme}, actor=boss)
    services.update_contact(contact, {"position": "采购经理", "email": "wang@example.com"}, actor=boss)
    # then
    create, update = contact_entries(contact)
    assert (create.action, create.actor, create.object_repr) == ("create", boss, "王芳")
    assert create.changes == {"name": [None, "王芳"], "account": [None, ref(acme)], "email": [None, "wang@example.com"],
                              "consent_email": [None, False], "consent_sms": [None, False],
                              "is_key_contact": [None, False],
                              "owner": [None, ref(boss)]}
    assert (update.action, update.changes) == ("update", {"position": ["", "采购经理"]})


def test_linking_accounts_is_audited(boss, acme):
    # given
    contact = services.create_contact({"name": "王芳"}, actor=boss)
    # when
    services.update_contact(contact, {"accounts": [acme]}, actor=boss)
    # then
    assert contact_entries(contact)[-1].changes == {"accounts": [[], [ref(acme)]]}


def test_services_publish_contact_events(subscribe, boss, make_user):  # noqa: F811
    # given
    viewer = make_user("viewer", "view_contact")
    seen = []
    for event_cls in (ContactCreated, ContactUpdated, ContactDeleted, ContactOwnerChanged):
        subscribe(event_cls, seen.append, name=f"test.{event_cls.name}")
    # when
    contact = services.create_contact({"name": "王芳"}, actor=boss)
    pk = contact.pk
    services.update_contact(contact, {"department": "采购部", "owner": viewer}, actor=boss)
    services.update_contact(contact, {"department": "采购部"}, actor=boss)  # no change: no event
    services.transfer_contacts([contact], boss, actor=boss)
    services.delete_contact(contact, actor=boss)
    # then
    assert seen == [
        ContactCreated(contact_id=pk, account_id=None, owner_id=boss.pk, actor_id=boss.pk),
        ContactUpdated(contact_id=pk, changed=("department", "owner"), actor_id=boss.pk),
        ContactOwnerChanged(contact_id=pk, old_owner_id=boss.pk, new_owner_id=viewer.pk, actor_id=boss.pk),
        ContactOwnerChanged(contact_id=pk, old_owner_id=viewer.pk, new_owner_id=boss.pk, actor_id=boss.pk),
        ContactDeleted(contact_id=pk, contact_name="王芳", actor_id=boss.pk),
    ]


def test_refused_duplicate_publishes_nothing(subscribe, boss):  # noqa: F811
    # given
    services.create_contact({"name": "李雷", "mobile": "13812345678"}, actor=boss)
    seen = []
    subscribe(ContactCreated, seen.append, name="test.created")
    # when
    with pytest.raises(services.DuplicateContact):
        services.create_contact({"name": "Li Lei", "mobile": "13812345678"}, actor=boss)
    # then
    assert seen == []
    assert AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Contact)).count() == 1


def test_account_with_contacts_cannot_be_deleted(boss, acme):
    # given
    services.create_contact({"name": "王芳", "account": acme}, actor=boss)
    # when
    with pytest.raises(DomainError) as caught:
        services.delete_account(acme, actor=boss)
    # then
    assert caught.value.code == "account_in_use"
    assert Account.objects.filter(pk=acme.pk).exists()


# --- demo ---------------------------------------------------------------------------------------------


def test_demo_gives_every_account_one_to_three_valid_contacts(db):
    # given
    from bizloom.platform import demo

    # when
    demo.build_demo(seed=7, size="small", overrides={"accounts": 6})
    # then
    for account in Account.objects.all():
        contacts = list(account.contacts.all())
        assert 1 <= len(contacts) <= 3
        for contact in contacts:
            assert contact.owner == account.owner
            assert contact.email.endswith("@" + account.email.rsplit("@", 1)[1])
            if any("\u4e00" <= ch <= "\u9fff" for ch in account.name):
                assert all("\u4e00" <= ch <= "\u9fff" for ch in contact.name)
                assert contact.mobile.startswith("+861")
                assert len(contact.mobile) == 14


def test_demo_contacts_are_reproducible_from_the_seed(db):
    # given
    from bizloom.crm.demo import contact_values
    from bizloom.platform import demo

    account = Account(name="杭州云启科技有限公司", email="info@yunqi.cn")

    def draw() -> list[dict]:
        ctx = demo.make_context(7, "small", name="crm.contacts")
        return [contact_values(ctx.rng, ctx.fake, account, set()) for _ in range(3)]

    # when / then
    assert draw() == draw()

"""The duplicate queue's batch check of new records (``queue.scan_records``, delivered from the
outbox after an import) stores exactly what checking each record in turn stores."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bizloom.crm import duplicates
from bizloom.crm import services as crm_services
from bizloom.crm.merging import handlers, queue
from bizloom.crm.models import Account, Contact, DuplicatePair
from bizloom.platform.events import services as outbox
from bizloom.platform.events.models import OutboxMessage

PEOPLE = ("view_contact", "add_contact", "view_account", "add_account")


@pytest.fixture
def boss(make_user):
    return make_user("boss", *PEOPLE)


def stored(model) -> list[tuple[int, int, str, str, str]]:
    """The pairs of ``model`` in the order they were stored."""
    return list(DuplicatePair.objects.filter(content_type=ContentType.objects.get_for_model(model)).order_by("pk")
                .values_list("first_id", "second_id", "rule", "value", "status"))


def one_by_one(model, pks) -> tuple[int, list[tuple[int, int, str, str, str]]]:
    """What ``scan_record`` for each of ``pks`` in turn adds and leaves stored; then undone."""
    with transaction.atomic():
        added = sum(queue.scan_record(model, pk) for pk in pks)
        result = stored(model)
        transaction.set_rollback(True)
    return added, result


def earlier_pair(model, first, second, status) -> None:
    DuplicatePair.objects.create(content_type=ContentType.objects.get_for_model(model), first_id=first.pk,
                                 second_id=second.pk, rule="phone", value="stored earlier", status=status)


def test_new_contacts_checked_together_get_the_pairs_of_checking_each_in_turn(boss):
    # given: existing contacts, two pairs already stored (one open, one dismissed)
    def contact(name, **fields):
        return crm_services.create_contact({"name": name, **fields}, actor=boss, allow_duplicate=True)

    old_wang = contact("王芳", email="wang@acme.example", mobile="13812345678")
    old_li = contact("李雷", mobile="13900001111")
    old_zhao = contact("赵敏", email="zhao@acme.example")
    # the new ones: two pairs of duplicates of each other, one of an existing contact, two whose
    # pair with an existing contact is already stored, one without duplicates, one deleted
    chen = contact("陈晨", email="chen@new.example", mobile="13700000001")
    chen_again = contact("Chen Chen", email="CHEN@new.example", phone="+86 137 0000 0001")
    zhou = contact("周杰", mobile="13500000001", phone="13500000002")
    zhou_again = contact("周杰", mobile="13500000002", phone="13500000001")
    wang = contact("王 芳", phone="138-1234-5678")
    zhao = contact("赵敏", email="zhao@acme.example")
    li = contact("李雷", mobile="+86 139 0000 1111")
    alone = contact("孙悟空", email="sun@new.example")
    gone = contact("白骨精", email="wang@acme.example")
    earlier_pair(Contact, old_zhao, zhao, DuplicatePair.Status.OPEN)
    earlier_pair(Contact, old_li, li, DuplicatePair.Status.DISMISSED)
    new = [chen.pk, chen_again.pk, zhou.pk, zhou_again.pk, wang.pk, zhao.pk, li.pk, alone.pk, gone.pk]
    gone.delete()
    expected = one_by_one(Contact, new)
    # when
    added = queue.scan_records(Contact, new)
    # then: the Zhou pair shows the number found first when checking the first of them (its
    # other contact's mobile), as when checking them in turn
    assert (added, stored(Contact)) == expected
    assert added == 3
    assert stored(Contact) == [
        (old_zhao.pk, zhao.pk, "phone", "stored earlier", "open"),
        (old_li.pk, li.pk, "phone", "stored earlier", "dismissed"),
        (chen.pk, chen_again.pk, "email", "chen@new.example", "open"),
        (zhou.pk, zhou_again.pk, "phone", "+8613500000002", "open"),
        (old_wang.pk, wang.pk, "phone", "+8613812345678", "open"),
    ]


def test_new_accounts_checked_together_get_the_pairs_of_checking_each_in_turn(boss):
    # given
    def account(name, code=""):
        return crm_services.create_account({"name": name, "code": code}, actor=boss)

    huawei = account("华为技术有限公司")
    acme = account("Acme Trading Ltd", "12-3456789")
    cloud = account("云启科技有限公司")
    huawei_tw = account("華為技術股份有限公司")
    globex = account("Globex", "123456789")
    acme_again = account("Acme Trading Limited", "12-3456789")
    cloud_tw = account("雲啟科技")
    cloud_group = account("雲啟科技股份有限公司")
    earlier_pair(Account, cloud, cloud_tw, DuplicatePair.Status.OPEN)
    new = [huawei_tw.pk, globex.pk, acme_again.pk, cloud_tw.pk, cloud_group.pk]
    expected = one_by_one(Account, new)
    # when
    added = queue.scan_records(Account, new)
    # then: Globex's tax id is looked up as it is stored, so checking Globex misses the accounts
    # that stored it as 12-3456789, and checking Acme Trading Limited (tax key 123456789) finds it
    assert (added, stored(Account)) == expected
    assert added == 5
    assert stored(Account) == [
        (cloud.pk, cloud_tw.pk, "phone", "stored earlier", "open"),
        (huawei.pk, huawei_tw.pk, "name", "华为技术", "open"),
        (acme.pk, acme_again.pk, "tax_id", "123456789", "open"),
        (globex.pk, acme_again.pk, "tax_id", "123456789", "open"),
        (cloud_tw.pk, cloud_group.pk, "name", "云启科技", "open"),
        (cloud.pk, cloud_group.pk, "name", "云启科技", "open"),
    ]


def test_the_outbox_delivers_an_imports_new_contacts_to_the_batch_check(boss, django_assert_num_queries):
    # given: 30 contacts created in one go (their messages are due, not yet delivered), two by two
    # with the same mobile, and an existing contact with the mobile of the first two
    handlers.register()
    first = crm_services.create_contact({"name": "老客户", "mobile": "+8613600000000"}, actor=boss)
    OutboxMessage.objects.all().delete()
    with transaction.atomic():
        new = [crm_services.create_contact({"name": f"新客户{i}", "mobile": f"+86136{i // 2:08d}"}, actor=boss,
                                           allow_duplicate=True) for i in range(30)]
    assert OutboxMessage.objects.filter(handler="crm.merging.contact_created", status="pending").count() == 30
    expected = one_by_one(Contact, [c.pk for c in new])
    # when: the worker's sweep runs (one transaction and the same queries for 30 messages as for 2)
    with django_assert_num_queries(13):
        delivered = outbox.deliver_due()
    # then
    assert delivered == 30
    assert OutboxMessage.objects.exclude(status="delivered").count() == 0
    assert stored(Contact) == expected[1]
    assert stored(Contact)[:3] == [(first.pk, new[0].pk, "phone", "+8613600000000", "open"),
                                   (new[0].pk, new[1].pk, "phone", "+8613600000000", "open"),
                                   (first.pk, new[1].pk, "phone", "+8613600000000", "open")]
    assert len(expected[1]) == 3 + 14


# --- the same, for random records stored as anything may have stored them ----------------------

EMAILS = ("a@x.cn", "A@X.cn", "b@x.cn", "", "not an email")
PHONES = ("+8613800000001", "13800000001", "138 0000 0001", "+8613800000002", "0571-88888888", "")
NAMES = ("华为技术有限公司", "華為技術股份有限公司", "华为", "云启科技", "雲啟科技有限公司", "Acme Ltd", "")
CODES = ("12-3456789", "123456789", "", "N/A", "91350100M000100Y43")
STATUSES = ("open", "dismissed", "merged")

contacts = st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(PHONES), st.sampled_from(PHONES)),
                    min_size=2, max_size=12)
accounts = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(CODES), st.booleans()), min_size=2, max_size=12)
checks = st.fixed_dictionaries({
    "new": st.lists(st.integers(0, 11), min_size=1, max_size=10),  # may repeat a record
    "deleted": st.lists(st.integers(0, 11), max_size=2),
    "earlier": st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.sampled_from(STATUSES)), max_size=3),
})


def check_in_turn_and_together(model, records, drawn) -> None:
    pks = [record.pk for record in records]
    for i, j, status in drawn["earlier"]:
        if i < len(pks) and j < len(pks) and i != j:
            DuplicatePair.objects.get_or_create(content_type=ContentType.objects.get_for_model(model),
                                                first_id=min(pks[i], pks[j]), second_id=max(pks[i], pks[j]),
                                                defaults={"rule": "name", "value": "stored earlier",
                                                          "status": status})
    model._default_manager.filter(pk__in=[pks[i] for i in drawn["deleted"] if i < len(pks)]).delete()
    new = [pks[i % len(pks)] for i in drawn["new"]]
    with mock.patch.object(queue, "MAX_GROUP", 3):  # small groups already count as noise
        expected = one_by_one(model, new)
        added = queue.scan_records(model, new)
    assert (added, stored(model)) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=contacts, drawn=checks)
@pytest.mark.django_db
def test_checking_random_contacts_together_equals_checking_each_in_turn(rows, drawn):
    with transaction.atomic():
        records = Contact.objects.bulk_create(
            [Contact(name=f"客户{i}", email=email, mobile=mobile, phone=phone)
             for i, (email, mobile, phone) in enumerate(rows)])
        check_in_turn_and_together(Contact, records, drawn)
        transaction.set_rollback(True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=accounts, drawn=checks)
@pytest.mark.django_db
def test_checking_random_accounts_together_equals_checking_each_in_turn(rows, drawn):
    with transaction.atomic():
        # bulk_create skips save(): a name key is stored only where the row says so
        records = Account.objects.bulk_create(
            [Account(name=name, code=code, name_key=duplicates.company_key(name)[:200] if keyed else "")
             for name, code, keyed in rows])
        check_in_turn_and_together(Account, records, drawn)
        transaction.set_rollback(True)

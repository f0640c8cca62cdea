"""CRM account services as the list bulk actions and forms use them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizloom.common.errors import ValidationFailed
from bizloom.crm import services
from bizloom.crm.models import Account


def test_create_account_owned_by_actor(manager):
    # when
    account = services.create_account({"name": "  华为技术有限公司 ", "annual_revenue": Decimal("12.3400")},
                                      actor=manager)
    # then
    account.refresh_from_db()
    assert account.name == "华为技术有限公司"
    assert account.owner == manager
    assert account.annual_revenue == Decimal("12.3400")


def test_create_account_without_name_creates_nothing(manager):
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.create_account({"name": "", "email": "not-an-email"}, actor=manager)
    # then
    assert set(caught.value.fields) >= {"name", "email"}
    assert Account.objects.count() == 0


def test_create_account_code_longer_than_32_is_refused(manager):
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.create_account({"name": "Acme", "code": "X" * 33}, actor=manager)
    # then
    assert "code" in caught.value.fields
    assert Account.objects.count() == 0


def test_transfer_accounts_changes_owner_of_given_accounts_only(accounts, viewer, manager):
    # when
    changed = services.transfer_accounts(accounts[:2], viewer, actor=manager)
    # then
    assert changed == 2
    owners = dict(Account.objects.values_list("name", "owner__username"))
    assert owners == {"华为技术有限公司": "viewer", "阿里巴巴（中国）有限公司": "viewer",
                      "Acme Trading Ltd": "manager", "=1+1 Formula Co": "manager"}


def test_update_account_changes_only_given_fields(huawei, manager):
    # when
    services.update_account(huawei, {"city": "东莞"}, actor=manager)
    # then
    huawei.refresh_from_db()
    assert (huawei.city, huawei.name) == ("东莞", "华为技术有限公司")

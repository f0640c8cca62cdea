"""The demo company: reproducible from its seed, sized, with users who can sign in."""

from __future__ import annotations

import importlib
import random
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client

from bizloom.platform import demo
from bizloom.platform.models import User

pytestmark = pytest.mark.django_db

# The platform layer may not import crm statically (import-linter); the demo is cross-app by design.
crm_demo = importlib.import_module("bizloom.crm.demo")
Account = apps.get_model("crm", "Account")


def account_names() -> list[str]:
    return list(Account.objects.order_by("pk").values_list("name", flat=True))


def built(seed: int, size: str = "small", **overrides: int) -> tuple[list[str], list[str]]:
    """Build a demo company, read its accounts and owners, and roll it all back.

    Rolling back (instead of deleting) is what lets the next build start from an empty
    database: users with an audit history cannot be deleted.
    """
    with transaction.atomic():
        demo.build_demo(seed=seed, size=size, overrides=overrides)
        names = account_names()
        owners = list(Account.objects.order_by("pk").values_list("owner__username", flat=True))
        transaction.set_rollback(True)
    return names, owners


def test_same_seed_same_company_other_seed_other_company():
    first = built(7, accounts=10)
    assert built(7, accounts=10) == first
    assert built(8, accounts=10)[0] != first[0]


def test_size_and_override_are_respected():
    with transaction.atomic():
        ctx = demo.build_demo(seed=42, size="small")
        assert Account.objects.count() == 60 == ctx.counts["accounts"]
        transaction.set_rollback(True)
    call_command("demo", seed=1, size="medium", accounts=12, verbosity=0)
    assert Account.objects.count() == 12
    # Medium has more sales reps than small; ownership is spread over them.
    reps = set(Account.objects.values_list("owner__username", flat=True))
    assert reps == {"sales", "sales2", "sales3", "sales4"}


def test_accounts_look_like_a_chinese_company_book():
    demo.build_demo(seed=42, size="small")
    accounts = list(Account.objects.all())
    chinese = [a for a in accounts if a.currency == "CNY"]
    assert len(chinese) > len(accounts) / 2
    assert len(chinese) < len(accounts)  # some foreign companies too
    for account in chinese:
        assert re.fullmatch(r"\w{2}\w{2}\w+(有限公司|股份有限公司|有限责任公司)", account.name)
        assert re.fullmatch(r"91\d{6}[0-9A-Z]{10}", account.code)
        assert crm_demo.uscc_check(account.code[:17]) == account.code[17]
        assert crm_demo.org_code_check(account.code[8:16]) == account.code[16]
        assert account.city
        assert account.industry
        assert account.tier
        assert account.owner_id
    assert len({a.name for a in accounts}) == len(accounts)
    assert {a.tier for a in accounts} == {"a", "b", "c"}


def test_uscc_check_digit_matches_a_published_example():
    # GB 32100 worked example: 91350100M000100Y43.
    assert crm_demo.uscc_check("91350100M000100Y4") == "3"
    code = crm_demo.make_uscc(random.Random(1), "330100")
    assert code.startswith("91330100")
    assert len(code) == 18


def test_demo_users_sign_in_with_their_permissions():
    call_command("demo", seed=42, verbosity=0)
    client = Client()
    for username in ("admin", "manager", "sales"):
        assert client.login(username=username, password=username), username
        client.logout()
    admin, manager, sales = (User.objects.get(username=name) for name in ("admin", "manager", "sales"))
    assert admin.is_superuser
    assert admin.is_staff
    assert sales.has_perms(["crm.view_account", "crm.add_account", "crm.change_account", "crm.export_account"])
    assert not sales.has_perm("crm.delete_account")
    assert not sales.has_perm("crm.import_account")
    assert manager.has_perms(["crm.delete_account", "crm.import_account", "crm.view_account"])
    assert not manager.is_superuser
    assert demo.demo_logins() == [("admin", "admin"), ("manager", "manager"), ("sales", "sales")]


def test_second_run_refuses_without_force():
    call_command("demo", accounts=3, verbosity=0)
    with pytest.raises(CommandError, match="already has data"):
        call_command("demo", accounts=3, verbosity=0)
    assert Account.objects.count() == 3
    call_command("demo", accounts=3, force=True, verbosity=0)
    assert Account.objects.count() == 6
    assert User.objects.filter(username="admin").count() == 1


def test_builders_run_in_order_and_apps_can_add_their_own():
    calls: list[str] = []

    @demo.builder("tests.after_accounts", order=99)
    def after(ctx: demo.DemoContext) -> None:
        calls.append(f"{ctx.counts['accounts']} accounts, reps {len(ctx.sales_reps)}")

    try:
        names = [b.name for b in demo.registered_builders()]
        assert names.index("platform.users") < names.index("crm.accounts") < names.index("tests.after_accounts")
        demo.build_demo(seed=3, size="small", overrides={"accounts": 4})
    finally:
        demo._builders.pop("tests.after_accounts", None)
    assert calls == ["4 accounts, reps 2"]


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="size"):
        demo.build_demo(size="huge")

"""The shared list/detail/form kit in a real browser, on CRM accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rep(django_user_model):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("wangfang", password="s3cret-pass")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_account", "add_account", "change_account", "export_account"]))
    return user


@pytest.fixture
def accounts(rep):  # type: ignore[no-untyped-def]
    from bizloom.crm.models import Account

    names = ["华为技术有限公司", "杭州云启科技有限公司", "Acme Trading Ltd", "北京远航物流有限公司"]
    return [Account.objects.create(name=name, city="深圳", owner=rep, annual_revenue=Decimal("1250000.5"))
            for name in names]


def row_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#list-results tbody tr td a").all_inner_texts()


def test_search_sort_open_and_edit_with_an_error(page, rep, accounts):  # type: ignore[no-untyped-def]
    # given
    login(page, "wangfang", "s3cret-pass")
    page.locator("nav#sidebar").get_by_role("link", name="Accounts").click()
    page.wait_for_url("**/crm/accounts/**")
    assert len(row_names(page)) == 4

    # when: searching in Chinese (HTMX replaces only the results)
    page.fill("#list-form input[name=q]", "云启")
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 1")
    # then
    assert row_names(page) == ["杭州云启科技有限公司"]
    assert "q=" in page.url

    # when: clearing the search and sorting by name descending (click twice)
    page.fill("#list-form input[name=q]", "")
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 4")
    header = page.locator("#list-results thead").get_by_role("link", name="Name")
    header.click()
    page.wait_for_timeout(400)
    first_order = row_names(page)
    page.locator("#list-results thead").get_by_role("link", name="Name").click()
    page.wait_for_timeout(400)
    # then
    assert row_names(page) == list(reversed(first_order))
    assert "CN¥1,250,000.50" in page.locator("#list-results tbody").inner_text()

    # when: opening a record
    page.get_by_role("link", name="华为技术有限公司").click()
    page.wait_for_url("**/crm/accounts/*/")
    # then
    assert page.get_by_role("heading", name="华为技术有限公司").is_visible()

    # when: submitting the edit form with an empty name and a bad email
    page.get_by_role("link", name="Edit").click()
    page.fill("#id_name", "")
    page.fill("#id_email", "not-an-email")
    page.get_by_role("button", name="Save").click()
    # then: inline errors, nothing saved
    page.locator(".field-error").first.wait_for()
    errors = page.locator(".field-error").all_inner_texts()
    assert any("required" in text for text in errors)
    assert any("email" in text.lower() for text in errors)
    accounts[0].refresh_from_db()
    assert accounts[0].name == "华为技术有限公司"

    # when: correcting it
    page.fill("#id_name", "华为技术有限公司（深圳）")
    page.fill("#id_email", "sales@huawei.example")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/crm/accounts/*/")
    # then
    assert page.get_by_role("heading", name="华为技术有限公司（深圳）").is_visible()


def test_money_and_dates_follow_the_language(page, rep, accounts):  # type: ignore[no-untyped-def]
    # given
    rep.language = "zh-hans"
    rep.save()
    login(page, "wangfang", "s3cret-pass")
    # when
    page.goto(f"/crm/accounts/{accounts[0].pk}/")
    # then
    text = page.locator("main").inner_text()
    assert "¥1,250,000.50" in text
    assert "年" in text  # dates in Chinese form, e.g. 2026年11月27日

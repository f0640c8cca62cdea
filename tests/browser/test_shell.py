"""The application shell as a person meets it: sign in, languages, navigation on a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sales_rep(django_user_model):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("lihua", password="s3cret-pass", first_name="Hua", last_name="Li")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_account", "add_account",
                                                                       "change_account"]))
    return user


def test_wrong_password_is_refused_with_a_message(page, sales_rep):  # type: ignore[no-untyped-def]
    # when
    page.goto("/login/")
    page.fill("#id_username", "lihua")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    # then
    assert page.locator(".form-errors").is_visible()
    assert "/login/" in page.url


def test_sign_in_shows_modules_and_sign_out_returns_to_login(page, sales_rep):  # type: ignore[no-untyped-def]
    # when
    login(page, "lihua", "s3cret-pass")
    # then
    assert page.locator("nav#sidebar").get_by_role("link", name="Accounts").is_visible()
    # when
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    # then
    page.wait_for_url("**/login/**")


def test_language_switch_changes_the_interface_and_is_remembered(page, sales_rep):  # type: ignore[no-untyped-def]
    # given
    login(page, "lihua", "s3cret-pass")
    # when
    with page.expect_navigation():
        page.select_option(".topbar .language-switch select", "zh-hans")
    # then
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("nav#sidebar").get_by_role("link", name="客户").is_visible()
    sales_rep.refresh_from_db()
    assert sales_rep.language == "zh-hans"
    # when: a fresh browser with an English Accept-Language signs in again
    page.context.clear_cookies()
    login(page, "lihua", "s3cret-pass")
    # then: the user's choice wins over the browser's
    assert page.locator("nav#sidebar").get_by_role("link", name="客户").is_visible()
    # when
    with page.expect_navigation():
        page.select_option(".topbar .language-switch select", "zh-hant")
    # then
    assert page.locator("nav#sidebar").get_by_role("link", name="客戶").is_visible()


def test_phone_width_hides_the_menu_behind_a_toggle(page, sales_rep):  # type: ignore[no-untyped-def]
    # given
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, "lihua", "s3cret-pass")
    sidebar_link = page.locator("nav#sidebar").get_by_role("link", name="Accounts")
    # then
    assert not sidebar_link.is_visible() or sidebar_link.bounding_box()["x"] < 0
    # when
    page.click(".menu-toggle")
    page.wait_for_timeout(300)
    # then
    assert sidebar_link.bounding_box()["x"] >= 0

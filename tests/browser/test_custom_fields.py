"""Custom fields in a real browser: an administrator defines "客户来源" on accounts, then uses it
in the account form, the list (column chooser, filter) and the export."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import login

# The settings pages are mounted by bizloom/urls.py; the test URLs add them if they are not yet.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def administrator(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("zhangwei", password="s3cret-pass")


@pytest.fixture
def accounts(administrator):  # type: ignore[no-untyped-def]
    from bizloom.crm.models import Account

    return [Account.objects.create(name=name, city="深圳", owner=administrator)
            for name in ("华为技术有限公司", "杭州云启科技有限公司")]


def row_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#list-results tbody tr td a").all_inner_texts()


def test_administrator_defines_a_choice_field_and_uses_it_everywhere(page, administrator, accounts):  # type: ignore[no-untyped-def]
    # given
    login(page, "zhangwei", "s3cret-pass")

    # when: defining the field in the settings
    page.locator("nav#sidebar").get_by_role("link", name="Custom fields").click()
    page.wait_for_url("**/settings/custom-fields/")
    page.get_by_role("link", name="New custom field").click()
    page.select_option("#id_content_type", "crm.account")
    page.fill("#id_key", "customer_source")
    page.select_option("#id_type", "choice")
    page.fill("#id_label_zh_hans", "客户来源")
    page.fill("#id_choices", "web | Website | 官网\nfair | Trade fair | 展会")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/settings/custom-fields/?model=crm.account")
    # then
    assert page.locator("tr[data-key=customer_source]").inner_text().startswith("客户来源")

    # when: setting it on an account
    page.goto(f"/crm/accounts/{accounts[1].pk}/edit/")
    page.select_option("#id_cf_customer_source", "web")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/crm/accounts/{accounts[1].pk}/")
    # then: the detail page shows it
    assert "Website" in page.locator("main").inner_text()

    # when: showing the column through the column chooser
    page.goto("/crm/accounts/")
    page.locator("summary", has_text="Columns").click()
    page.locator(".column-chooser input[value=cf_customer_source]").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("document.querySelector('#list-results thead').innerText.includes('客户来源')")
    # then
    assert "Website" in page.locator("#list-results tbody").inner_text()
    page.locator("summary", has_text="Columns").click()  # close the chooser

    # when: filtering by it
    page.select_option("select[name=cf_customer_source]", "web")
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 1")
    # then
    assert row_names(page) == ["杭州云启科技有限公司"]
    assert "cf_customer_source=web" in page.url

    # when: exporting what the list shows
    with page.expect_download() as download_info:
        page.locator("#list-results a", has_text="Export CSV").click()
    path = download_info.value.path()
    # then
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert "客户来源" in rows[0]
    column = rows[0].index("客户来源")
    assert [row[column] for row in rows[1:]] == ["Website"]
    assert [row[0] for row in rows[1:]] == ["杭州云启科技有限公司"]

"""Roles in the browser (issue #3): an administrator builds a department, a role and a custom field,
gives the role to a rep, and the rep sees only their own accounts, without the hidden field
anywhere, while the new custom field shows in their form, list, filter and export."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizloom.crm.models import Account
from bizloom.platform.models import User
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_creates_role_and_rep_sees_only_own_accounts_without_hidden_field(page):
    # given
    User.objects.create_superuser("boss", "boss@x.cn", "boss-pw-123")
    rep = User.objects.create_user("rep1", password="rep-pw-123")
    other = User.objects.create_user("rep2", password="rep-pw-123")
    mine = Account.objects.create(name="Mine Trading", owner=rep, annual_revenue=Decimal("987654"))
    theirs = Account.objects.create(name="Theirs Trading", owner=other, annual_revenue=Decimal("555"))
    # when the administrator creates a department and a role in the UI
    login(page, "boss", "boss-pw-123")
    page.goto("/settings/org/departments/new/")
    page.fill("#id_name", "华东销售组")
    page.click("main button[type=submit]")
    page.wait_for_url("**/settings/org/")
    assert page.locator("#departments").inner_text().count("华东销售组") == 1
    page.goto("/settings/org/roles/new/")
    page.fill("#id_name", "Sales rep")
    page.click("main button[type=submit]")
    page.wait_for_url("**/settings/org/roles/*/")
    for action in ("view", "add", "change", "export"):
        page.select_option(f"select[name='scope__crm.account__{action}']", "own")
    page.click("form.role-matrix details summary")
    page.select_option("select[name='field__crm.account__annual_revenue']", "hidden")
    page.click("form.role-matrix button[type=submit]")
    page.wait_for_load_state()
    # and defines a custom field the role does not hide
    page.goto("/settings/custom-fields/new/")
    page.select_option("#id_content_type", "crm.account")
    page.fill("#id_key", "source")
    page.select_option("#id_type", "choice")
    page.fill("#id_label_zh_hans", "客户来源")
    page.fill("#id_label_en", "Source")
    page.fill("#id_choices", "web | Website | 官网\nfair | Trade fair | 展会")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/settings/custom-fields/?model=crm.account")
    # and assigns the role, with the department, to rep1
    page.goto(f"/settings/org/users/{rep.pk}/")
    page.select_option("#id_department", label="华东销售组")
    page.get_by_label("Sales rep").check()
    page.click("main button[type=submit]")
    page.wait_for_url("**/settings/org/")
    page.click("details.user-menu summary")
    page.click("text=Sign out")
    # then rep1 signs in and sees only their own account, never the hidden field
    login(page, "rep1", "rep-pw-123")
    page.goto("/crm/accounts/?cols=name&cols=annual_revenue")
    body = page.content()
    assert "Mine Trading" in body
    assert "Theirs Trading" not in body
    assert "Annual revenue" not in body
    assert "987" not in body
    assert page.goto(f"/crm/accounts/{theirs.pk}/").status == 404
    page.goto(f"/crm/accounts/{mine.pk}/")
    assert "Mine Trading" in page.content()
    assert "Annual revenue" not in page.content()
    page.goto(f"/crm/accounts/{mine.pk}/edit/")
    assert page.locator("[name=annual_revenue]").count() == 0
    # while the new custom field is there for them: form, list column, filter, export
    page.select_option("#id_cf_source", "fair")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/crm/accounts/{mine.pk}/")
    page.goto("/crm/accounts/?cols=name&cols=cf_source&cf_source=fair")
    assert "Trade fair" in page.locator("#list-results tbody").inner_text()
    assert page.locator("select[name=cf_source]").count() == 1
    export = page.request.get("/crm/accounts/export/csv/?cols=name&cols=annual_revenue&cols=cf_source")
    assert export.status == 200
    assert "Annual revenue" not in export.text()
    assert "987654" not in export.text()
    assert "Source" in export.text()
    assert "Trade fair" in export.text()

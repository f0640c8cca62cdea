"""The values-based export path gives exactly what per-record formatting gives (issue #5, export speed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
from django.utils import translation

from bizloom.crm import services as crm_services
from bizloom.crm.lists import ACCOUNT_LIST
from bizloom.platform import export_jobs, exporting
from bizloom.platform.customfields import services as cf_services
from bizloom.platform.listing.config import ListState
from bizloom.platform.listing.views import config_for
from bizloom.platform.middleware_context import use_channel
from bizloom.platform.models import User

CHOICES = [{"value": "web", "label_en": "Website", "label_zh_hans": "官网"},
           {"value": "fair", "label_en": "Trade fair", "label_zh_hans": "展会"}]


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser(username="admin", password="pw-secret-123", first_name="伟", last_name="张")


@pytest.fixture
def accounts(admin):
    from bizloom.crm.models import Account

    for key, kind, extra in (("source", "choice", {"choices": CHOICES}), ("staff", "integer", {}),
                             ("rating", "decimal", {}), ("since", "date", {}), ("vip", "boolean", {}),
                             ("note", "text", {})):
        cf_services.create_custom_field({"content_type": Account, "key": key, "type": kind,
                                         "label_en": key.title(), **extra}, actor=admin)
    parent = crm_services.create_account({"name": "华为技术有限公司", "annual_revenue": Decimal("1234.5678"),
                                          "currency": "CNY", "industry": "software", "tier": "a"}, actor=admin)
    other = User.objects.create_user(username="li", password="pw-secret-123")
    rows = [
        {"name": "=1+1 Formula Co", "annual_revenue": Decimal("-99.995"), "currency": "JPY", "is_supplier": True,
         "owner": other, "custom_fields": {"source": "fair", "staff": "12", "rating": "4.25", "since": "2024-03-05",
                                           "vip": "yes", "note": "@danger"}},
        {"name": "阿里巴巴（中国）有限公司", "code": "91330100716105852F", "city": "杭州", "industry": "wholesale",
         "email": "ir@alibaba.example", "custom_fields": {"source": "web", "note": "多行\n文本, 引号\"", "vip": "no"}},
        {"name": "Acme, \"Quoted\" Ltd", "annual_revenue": Decimal("0"), "currency": "USD", "phone": "+8613812345678",
         "notes": "-minus"},
    ]
    return [parent, *[crm_services.create_account(data, actor=admin) for data in rows]]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_fast_path_rows_equal_the_per_record_formatting(admin, accounts, language):
    # given: every column but the tags (a many-to-many, which keeps the per-record path)
    with translation.override(language):
        config = config_for(ACCOUNT_LIST, admin)
        names = [name for name in config.bound_columns if name != "tags"]
        params = {"cols": [",".join(names)], "sort": ["name"]}
        state = ListState.from_params(config, params)
        # when
        header, queryset, fast = export_jobs.export_rows(ACCOUNT_LIST, admin, params)
        fast_rows = list(fast)
        slow_rows = [[column.export(obj) for column in state.visible_columns] for obj in queryset]
    # then
    assert len(fast_rows) == 4
    assert {"cf_source", "cf_since", "owner", "annual_revenue", "is_supplier"} <= set(names)
    assert fast_rows == slow_rows
    by_name = {row[names.index("name")]: row for row in fast_rows}
    formula = by_name["=1+1 Formula Co"]
    assert formula[names.index("annual_revenue")] == Decimal("-100")  # JPY has no minor unit
    assert formula[names.index("cf_since")] == dt.date(2024, 3, 5)
    assert formula[names.index("owner")] == "li"
    assert formula[names.index("cf_source")] == ("展会" if language == "zh-hans" else "Trade fair")


def test_fast_path_uses_values_not_records(admin, accounts, django_assert_max_num_queries):
    # given
    params = {"cols": ["name,owner,annual_revenue,cf_source,created_at"]}
    # when: the rows in one query and the owners' names in one, however many rows (custom field
    # definitions are read once per request)
    with use_channel("web", request_id="export-test"):
        export_jobs.export_rows(ACCOUNT_LIST, admin, params)
        with django_assert_max_num_queries(2):
            header, _queryset, rows = export_jobs.export_rows(ACCOUNT_LIST, admin, params)
            rows = list(rows)
    # then
    assert len(rows) == 4


def test_fast_path_xlsx_round_trip_keeps_chinese_formulas_and_types(admin, accounts, tmp_path):
    # given
    header, _queryset, rows = export_jobs.export_rows(ACCOUNT_LIST, admin,
                                                      {"cols": ["name,annual_revenue,is_supplier,cf_since,notes"],
                                                       "sort": ["name"]})
    path = tmp_path / "a.xlsx"
    # when
    exporting.write_xlsx(str(path), header, rows)
    # then
    sheet = openpyxl.load_workbook(path, read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    names = [row[0] for row in values[1:]]
    assert "'=1+1 Formula Co" in names
    assert "阿里巴巴（中国）有限公司" in names
    formula_row = values[1 + names.index("'=1+1 Formula Co")]
    assert formula_row[1] == -100
    assert formula_row[3] == dt.datetime(2024, 3, 5)

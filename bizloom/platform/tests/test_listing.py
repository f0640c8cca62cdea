"""The list engine on a platform model (users), independent of any business app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import translation

from bizloom.platform import access
from bizloom.platform.listing import BooleanFilter, ChoiceFilter, Column, DateRangeFilter, ListConfig, ListState
from bizloom.platform.listing.config import filtered_queryset
from bizloom.platform.models import User
from bizloom.platform.templatetags.bizloom import format_money, format_qty

USERS = ListConfig(
    key="platform.user",
    model=User,
    queryset=lambda user: access.restrict(User.objects.all(), user, "view"),
    url_prefix="platform:user",
    columns=[Column("username", link=True), Column("first_name"), Column("email", sortable=False),
             Column("language"), Column("is_active"), Column("date_joined")],
    default_columns=("username", "first_name"),
    search_fields=("username", "first_name", "last_name"),
    filters=[ChoiceFilter("language"), BooleanFilter("is_active"), DateRangeFilter("date_joined")],
    default_sort="username",
)


@pytest.fixture
def admin_viewer(db):
    user = User.objects.create_user(username="zz-viewer", password="pw-secret-123")
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def people(admin_viewer):
    rows = [("wang", "王小明", "zh-hans", True), ("chen", "陳大文", "zh-hant", True), ("alice", "Alice", "en", False)]
    return [User.objects.create_user(username=u, first_name=f, language=lang, is_active=active)
            for u, f, lang, active in rows]


def usernames(state, user) -> list[str]:
    return list(filtered_queryset(state, user).values_list("username", flat=True))


def test_search_with_chinese_text(admin_viewer, people):
    # given
    state = ListState.from_params(USERS, {"q": ["小明"]})
    # when / then
    assert usernames(state, admin_viewer) == ["wang"]


def test_search_is_or_across_fields(admin_viewer, people):
    # given
    state = ListState.from_params(USERS, {"q": ["ali"]})
    # when / then
    assert usernames(state, admin_viewer) == ["alice"]


def test_without_view_permission_nothing_is_listed(people):
    # given
    outsider = User.objects.create_user(username="outsider")
    # when / then
    assert usernames(ListState.from_params(USERS, {}), outsider) == []


@pytest.mark.parametrize(("sort", "expected"), [
    ("username", ["alice", "chen", "wang", "zz-viewer"]),
    ("-username", ["zz-viewer", "wang", "chen", "alice"]),
], ids=["asc_case", "desc_case"])
def test_sort(admin_viewer, people, sort, expected):
    # given
    state = ListState.from_params(USERS, {"sort": [sort]})
    # when / then
    assert usernames(state, admin_viewer) == expected


@pytest.mark.parametrize("sort", ["password", "-password", "email", "username; DROP TABLE x", "__class__"],
                         ids=["hidden_field_case", "hidden_desc_case", "unsortable_case", "injection_case",
                              "dunder_case"])
def test_sort_outside_allow_list_falls_back_to_default(admin_viewer, people, sort):
    # given
    state = ListState.from_params(USERS, {"sort": [sort]})
    # then
    assert state.sort == "username"
    assert usernames(state, admin_viewer)[0] == "alice"


@pytest.mark.parametrize(("raw", "expected"), [("50", 50), ("100", 100), ("1000", 25), ("-1", 25), ("x", 25), ("", 25)],
                         ids=["50_case", "100_case", "too_big_case", "negative_case", "text_case", "empty_case"])
def test_page_size_is_bounded(raw, expected):
    # when
    state = ListState.from_params(USERS, {"per_page": [raw]})
    # then
    assert state.per_page == expected


def test_filters_choice_boolean_and_date_range(admin_viewer, people):
    # given
    User.objects.filter(username="chen").update(date_joined=dt.datetime(2021, 3, 1, 12, tzinfo=dt.UTC))
    # when
    by_language = ListState.from_params(USERS, {"language": ["zh-hant"]})
    inactive = ListState.from_params(USERS, {"is_active": ["0"]})
    in_march = ListState.from_params(USERS, {"date_joined_from": ["2021-03-01"], "date_joined_to": ["2021-03-31"]})
    bad_values = ListState.from_params(USERS, {"language": ["klingon"], "is_active": ["maybe"],
                                               "date_joined_from": ["yesterday"]})
    # then
    assert usernames(by_language, admin_viewer) == ["chen"]
    assert usernames(inactive, admin_viewer) == ["alice"]
    assert usernames(in_march, admin_viewer) == ["chen"]
    assert bad_values.filters == {}


def test_columns_choice_keeps_known_columns_in_declaration_order():
    # when
    state = ListState.from_params(USERS, {"cols": ["is_active", "password", "username"]})
    # then
    assert [c.name for c in state.visible_columns] == ["username", "is_active"]


def test_columns_default_when_none_chosen():
    # when
    state = ListState.from_params(USERS, {})
    # then
    assert [c.name for c in state.visible_columns] == ["username", "first_name"]


def test_state_round_trips_through_params():
    # given
    state = ListState.from_params(USERS, {"q": ["王"], "sort": ["-username"], "per_page": ["50"],
                                          "cols": ["username", "language"], "language": ["zh-hans"]})
    # when
    again = ListState.from_params(USERS, state.to_params())
    # then
    assert state.to_params() == {"q": ["王"], "language": ["zh-hans"], "sort": ["-username"], "per_page": ["50"],
                                 "cols": ["username", "language"]}
    assert (again.q, again.sort, again.per_page, again.columns, again.filters) == (
        "王", "-username", 50, ["username", "language"], {"language": "zh-hans"})


def test_column_labels_and_kinds_come_from_the_model():
    # when
    columns = USERS.bound_columns
    # then
    assert (str(columns["language"].label), columns["language"].kind) == ("Language", "choice")
    assert columns["is_active"].kind == "boolean"
    assert columns["date_joined"].kind == "datetime"


def test_choice_and_boolean_cells_show_labels(people):
    # given
    columns = USERS.bound_columns
    # when / then
    assert columns["language"].display(people[0]) == "简体中文"
    assert columns["is_active"].display(people[2]) == "No"


def test_misdeclared_config_fails_fast():
    # when / then
    with pytest.raises(ValueError, match="default sort"):
        ListConfig(key="x", model=User, queryset=lambda u: User.objects.none(), url_prefix="x",
                   columns=[Column("username")], default_sort="password")


@pytest.mark.parametrize(("language", "expected"), [("en", "CN¥1,234.50"), ("zh-hans", "¥1,234.50"),
                                                    ("zh-hant", "CN¥1,234.50")],
                         ids=["en_case", "zh_hans_case", "zh_hant_case"])
def test_money_follows_active_language(language, expected):
    # when
    with translation.override(language):
        text = format_money(Decimal("1234.5"), "CNY")
    # then
    assert text == expected


def test_money_rounds_to_currency_minor_unit():
    # when
    with translation.override("en"):
        text = format_money(Decimal("1234.5678"), "JPY")
    # then
    assert text == "¥1,235"


def test_qty_drops_trailing_zeros_or_uses_given_places():
    # when
    with translation.override("en"):
        plain, fixed = format_qty(Decimal("1200.5000")), format_qty(Decimal("3"), 2)
    # then
    assert (plain, fixed) == ("1,200.5", "3.00")

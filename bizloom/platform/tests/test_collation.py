"""Chinese-friendly ordering of text columns, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bizloom.platform.collation import sort_key, text_order
from bizloom.platform.models import User

# ICU's zh order, as PostgreSQL's "zh-x-icu" gives it: Han by pinyin, then Latin text
# case-insensitively.
EXPECTED = ["北京远航", "东莞中源", "佛山云成", "杭州", "华为", "上海宏成", "长沙", "Acme", "zeta"]


def test_traditional_sorts_next_to_simplified():
    # when
    ordered = sorted(["上海", "長沙", "杭州", "长沙", "Acme"], key=sort_key)
    # then: the same city in both scripts is adjacent (which comes first is the collation's choice)
    assert ordered[2:4] in (["长沙", "長沙"], ["長沙", "长沙"])


def test_sort_key_orders_han_by_pinyin_then_latin():
    # when
    ordered = sorted(reversed(EXPECTED), key=sort_key)
    # then
    assert ordered == EXPECTED


@pytest.mark.django_db
def test_database_orders_text_by_pinyin():
    # given: names stored as last names of users (any text column will do)
    for index, name in enumerate(reversed(EXPECTED)):
        User.objects.create(username=f"u{index}", last_name=name)
    # when
    ascending = list(User.objects.order_by(text_order("last_name")).values_list("last_name", flat=True))
    descending = list(User.objects.order_by(text_order("last_name", descending=True))
                      .values_list("last_name", flat=True))
    # then
    assert ascending == EXPECTED
    assert descending == list(reversed(EXPECTED))


@pytest.mark.django_db
def test_sqlite_key_function_orders_exactly_like_the_collation_for_hand_written_sql():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the key function and the collation are SQLite's")
    # given mixed text: Han (both scripts), Latin in both cases, digits, punctuation, blanks
    names = ["長沙", "长沙", "Zeta", "acme", "Acme", "3M 中国", "（北京）", "", "华为", "華為", "éclair", "上海"]
    for index, name in enumerate(names):
        User.objects.create(username=f"k{index}", last_name=name)
    with connection.cursor() as cursor:
        # when
        cursor.execute('SELECT last_name FROM platform_user ORDER BY last_name COLLATE "bizloom_zh", id')
        by_collation = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT last_name FROM platform_user ORDER BY bizloom_zh_key(last_name), id")
        by_key = [row[0] for row in cursor.fetchall()]
    # then
    assert by_key == by_collation == sorted(by_collation, key=sort_key)

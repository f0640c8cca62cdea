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

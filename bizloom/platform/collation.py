"""Sorting text the way Chinese users expect: Han characters by pinyin, on both databases.

PostgreSQL sorts with ICU's ``zh`` collation (Han characters by pinyin first, then Latin
text). SQLite has no such collation, so we register a sort-key function,
``bizloom_zh_key(text)``, whose result (a UTF-8 blob; blobs compare byte by byte, which is
code point order) imitates ICU's order: punctuation and digits, then Han by pinyin (a
Traditional and a Simplified form of the same character are neighbours, since they share a
reading), then other letters case-insensitively. ``ORDER BY bizloom_zh_key(name)`` calls
Python once per row; a collation would be called once per comparison (1.7 million times for
100,000 rows: 4.9 s instead of well under one). The same order is also registered as the
collation ``bizloom_zh`` for hand-written SQL. Keys are computed per character from
pypinyin's table and cached.

Use :func:`text_order` wherever the user sorts by a text column (list pages, API ordering).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Func

SQLITE_COLLATION = "bizloom_zh"
SQLITE_KEY_FUNCTION = "bizloom_zh_key"
POSTGRES_COLLATION = "zh-x-icu"


@functools.cache
def _pinyin_table() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    def plain(reading: str) -> str:
        first = reading.split(",")[0]
        return "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))

    return {codepoint: plain(reading) for codepoint, reading in pinyin_dict.items()}


@functools.lru_cache(maxsize=200_000)
def sort_key(text: str) -> str:
    """A string whose plain ordering is the Chinese-friendly order of ``text``.

    >>> sorted(["上海", "Acme", "北京", "东莞"], key=sort_key)
    ['北京', '东莞', '上海', 'Acme']
    """
    table = _pinyin_table()
    parts = []
    for char in text.casefold():
        reading = table.get(ord(char))
        if reading is not None:
            parts.append("\x02" + reading + "\x01")
        elif char.isalpha():
            parts.append("\x03" + char)
        else:
            parts.append("\x01" + char)
    # The original text breaks ties (same reading, different characters) deterministically.
    return "".join(parts) + "\x00" + text


def _compare(left: str | None, right: str | None) -> int:
    left_key, right_key = sort_key(left or ""), sort_key(right or "")
    return (left_key > right_key) - (left_key < right_key)


def _key_blob(text: str | None) -> bytes:
    return sort_key(text or "").encode("utf-8")


def register_sqlite_collation(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: make ``bizloom_zh_key()`` and ``COLLATE bizloom_zh``
    available on SQLite."""
    if connection.vendor == "sqlite":
        # Load the pinyin table now, not inside SQLite's callback: a callback holds the
        # connection's mutex, and in tests the live server's threads share one connection, so
        # a slow first import there could deadlock with another thread waiting for it.
        _pinyin_table()
        connection.connection.create_function(SQLITE_KEY_FUNCTION, 1, _key_blob, deterministic=True)
        connection.connection.create_collation(SQLITE_COLLATION, _compare)


class _ChineseCollate(Func):
    """``expr`` in the Chinese order of this database: ``COLLATE "zh-x-icu"`` on PostgreSQL,
    ``bizloom_zh_key(expr)`` on SQLite."""

    template = "%(expressions)s"
    arity = 1

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template=f"{SQLITE_KEY_FUNCTION}(%(expressions)s)", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template=f'%(expressions)s COLLATE "{POSTGRES_COLLATION}"',
                              **extra)


def text_order(field: str, *, descending: bool = False) -> models.OrderBy:
    """An ``order_by()`` term sorting the text column ``field`` in Chinese-friendly order."""
    expression = _ChineseCollate(models.F(field), output_field=models.TextField())
    return expression.desc() if descending else expression.asc()


def is_text_field(model: type[models.Model], path: str) -> bool:
    """Whether ``path`` (``owner__username``) ends at a free-text column (not a choice code)."""
    current: Any = model
    field: Any = None
    for part in path.split("__"):
        if current is None:
            return False
        try:
            field = current._meta.get_field(part)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist and friends: not a sortable text column
            return False
        current = field.related_model if field.is_relation else None
    return isinstance(field, models.CharField | models.TextField) and not getattr(field, "choices", None)


def order_terms(model: type[models.Model], fields: Any) -> list[Any]:
    """``order_by()`` arguments for ``["name", "-created_at"]``: text columns in Chinese-friendly order."""
    terms: list[Any] = []
    for spec in fields:
        if not isinstance(spec, str):
            terms.append(spec)
            continue
        path = spec.lstrip("-")
        if is_text_field(model, path):
            terms.append(text_order(path, descending=spec.startswith("-")))
        else:
            terms.append(spec)
    return terms

"""Template filters shared by every page: money and quantities in the active language.

``{% load bizloom %}`` then ``{{ amount|money:currency }}`` or ``{{ quantity|qty }}``. The plain
functions (:func:`format_money`, :func:`format_qty`) are what list cells and exports use too.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency, format_decimal
from django import template
from django.conf import settings
from django.utils import translation

from bizloom.common.money import quantize

register = template.Library()

# Django language code → babel locale. Unknown languages fall back to English (US).
BABEL_LOCALES = {"zh-hans": "zh_Hans_CN", "zh-hant": "zh_Hant_TW", "en": "en_US"}


def babel_locale(language: str | None = None) -> str:
    """The babel locale for ``language`` (default: the active language)."""
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    return BABEL_LOCALES.get(code, BABEL_LOCALES.get(code.split("-")[0], "en_US"))


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_money(amount: Any, currency: str | None = None) -> str:
    """``amount`` rounded to ``currency``'s minor unit and formatted for the active language; '' for None."""
    value = _to_decimal(amount)
    if value is None:
        return ""
    currency = (currency or settings.COMPANY_CURRENCY).upper()
    return format_currency(quantize(value, currency), currency, locale=babel_locale())


def format_qty(value: Any, places: int | None = None) -> str:
    """A quantity with grouping and without trailing zeros (or exactly ``places`` decimals)."""
    number = _to_decimal(value)
    if number is None:
        return ""
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(number, format=pattern, locale=babel_locale())
    number = number.normalize() if number == number.to_integral() else number
    return format_decimal(number, locale=babel_locale(), decimal_quantization=False)


@register.filter(name="money")
def money(amount: Any, currency: str | None = None) -> str:
    """``{{ account.annual_revenue|money:account.currency }}`` → "¥1,234.50" in Chinese."""
    return format_money(amount, currency)


@register.filter(name="qty")
def qty(value: Any, places: int | None = None) -> str:
    """``{{ line.quantity|qty }}`` or ``{{ line.quantity|qty:2 }}``."""
    return format_qty(value, places)


@register.filter(name="get_item")
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ dict|get_item:key }}``: look up a key the template language cannot spell."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None

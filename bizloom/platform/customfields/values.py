"""Converting custom field values: input (strings from forms and imports, JSON from the API,
Python objects from forms) → stored JSON form, and stored form → Python values.

:func:`coerce` raises :class:`InvalidValue` with a translated message; it never checks
access (the caller, :func:`~bizloom.platform.customfields.services.validate_custom_values`,
does) and treats ``None``, ``""`` and ``[]`` as "no value" (returns None).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from bizloom.platform.customfields.models import CustomField

T = CustomField.Type

TEXT_MAX_LENGTH = 255
LONG_TEXT_MAX_LENGTH = 10_000
URL_MAX_LENGTH = 500
DECIMAL_MAX_DIGITS = 28
DECIMAL_MAX_PLACES = 10
INTEGER_MIN, INTEGER_MAX = -(2**53) + 1, 2**53 - 1  # exact in every JSON reader
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-.]{3,31}(?:(?:ext\.?|x|#)\s?[0-9]{1,6})?$")
TRUE_STRINGS = frozenset({"true", "1", "yes", "y", "on", "是"})
FALSE_STRINGS = frozenset({"false", "0", "no", "n", "off", "否"})


class InvalidValue(ValueError):
    """A value that does not fit the field; ``str(error)`` is the translated message."""


def is_empty(value: Any) -> bool:
    """None, blank text and empty lists mean "no value"."""
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple | set | frozenset) and not value)


def _text(value: Any, max_length: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidValue(_("Enter text."))
    text = str(value).strip()
    if "\x00" in text:
        raise InvalidValue(_("Text may not contain NUL characters."))
    if len(text) > max_length:
        raise InvalidValue(_("At most %(max)s characters (it has %(length)s).") % {
            "max": max_length, "length": len(text)})
    return text


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue(_("Enter a whole number."))
    if isinstance(value, int):
        number = value
    else:
        try:
            parsed = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str | Decimal | float) else None
        except InvalidOperation:
            parsed = None
        if parsed is None or not parsed.is_finite() or parsed != parsed.to_integral_value():
            raise InvalidValue(_("Enter a whole number."))
        number = int(parsed)
    if not INTEGER_MIN <= number <= INTEGER_MAX:
        raise InvalidValue(_("The number is too large."))
    return number


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidValue(_("Enter a number."))
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidValue(_("Enter a number.")) from None
    if not number.is_finite():
        raise InvalidValue(_("Enter a number."))
    sign, digits, exponent = number.as_tuple()
    places = -int(exponent) if int(exponent) < 0 else 0
    if places > DECIMAL_MAX_PLACES:
        raise InvalidValue(_("At most %(places)s decimal places.") % {"places": DECIMAL_MAX_PLACES})
    whole_digits = len(digits) - places if int(exponent) < 0 else len(digits) + int(exponent)
    if whole_digits > DECIMAL_MAX_DIGITS - DECIMAL_MAX_PLACES:
        raise InvalidValue(_("The number is too large."))
    if int(exponent) > 0:
        number = number.quantize(Decimal(1))
    text = format(number, "f")
    if "." in text:  # one spelling per number: "12.50" and "12.5" are the same value
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise InvalidValue(_("Enter a date (YYYY-MM-DD)."))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.isoformat()
    raise InvalidValue(_("Enter a date (YYYY-MM-DD)."))


def _datetime(value: Any) -> str:
    parsed: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None and (day := parse_date(text)) is not None:
                parsed = dt.datetime.combine(day, dt.time())
        except ValueError:
            parsed = None
    if parsed is None:
        raise InvalidValue(_("Enter a date and time (YYYY-MM-DDTHH:MM)."))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # the site's time zone, as a form would read it
    return parsed.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_STRINGS:
            return True
        if text in FALSE_STRINGS:
            return False
    raise InvalidValue(_("Enter yes or no (true/false)."))


def _choice(field: CustomField, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(_("Choose one of: %(choices)s.") % {"choices": ", ".join(field.choice_values)})
    text = value.strip()
    if text not in field.choice_values:
        raise InvalidValue(_("“%(value)s” is not one of the choices: %(choices)s.") % {
            "value": text[:50], "choices": ", ".join(field.choice_values)})
    return text


def _multi_choice(field: CustomField, value: Any) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise InvalidValue(_("Give a list of choices."))
    chosen = {_choice(field, item) for item in items}
    return [v for v in field.choice_values if v in chosen]  # the definition's order, no duplicates


def _reference(field: CustomField, value: Any) -> int:
    if isinstance(value, models.Model):
        value = value.pk
    try:
        pk = _integer(value)
    except InvalidValue:
        raise InvalidValue(_("Give the id of a record.")) from None
    if pk < 1:
        raise InvalidValue(_("Give the id of a record."))
    target = field.target_model()
    if target is None or not target._default_manager.filter(pk=pk).exists():
        raise InvalidValue(_("No %(model)s with id %(id)s.") % {
            "model": target._meta.verbose_name if target is not None else _("record"), "id": pk})
    return pk


def _email(value: Any) -> str:
    text = _text(value, 254)
    try:
        EmailValidator()(text)
    except ValidationError:
        raise InvalidValue(_("Enter a valid email address.")) from None
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"  # domains are case-insensitive, local parts need not be


def _phone(value: Any) -> str:
    text = _text(value, 32)
    if not PHONE_PATTERN.match(text):
        raise InvalidValue(_("Enter a phone number: digits, spaces, “+”, “-” and brackets."))
    return text


def _url(value: Any) -> str:
    text = _text(value, URL_MAX_LENGTH)
    if "://" not in text:
        text = "https://" + text
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise InvalidValue(_("Enter a valid web address.")) from None
    return text


def coerce(field: CustomField, value: Any) -> Any:
    """``value`` in the stored form of ``field``'s type, or None for an empty value.

    Accepts the forms input arrives in: strings (forms, CSV imports), JSON types (API),
    Python objects (``Decimal``, ``date``, ``datetime``, model instances for references).
    Reference targets must exist (visibility is the caller's business). Raises InvalidValue.
    """
    if is_empty(value):
        return None
    kind = field.type
    if kind == T.TEXT:
        return _text(value, TEXT_MAX_LENGTH)
    if kind == T.LONG_TEXT:
        return _text(value, LONG_TEXT_MAX_LENGTH)
    if kind == T.INTEGER:
        return _integer(value)
    if kind == T.DECIMAL:
        return _decimal(value)
    if kind == T.DATE:
        return _date(value)
    if kind == T.DATETIME:
        return _datetime(value)
    if kind == T.BOOLEAN:
        return _boolean(value)
    if kind == T.CHOICE:
        return _choice(field, value)
    if kind == T.MULTI_CHOICE:
        return _multi_choice(field, value)
    if kind == T.REFERENCE:
        return _reference(field, value)
    if kind == T.EMAIL:
        return _email(value)
    if kind == T.PHONE:
        return _phone(value)
    if kind == T.URL:
        return _url(value)
    raise InvalidValue(_("Unknown field type."))


def to_python(field: CustomField, stored: Any) -> Any:
    """A stored value as a Python value: Decimal, date, aware datetime, int, bool, str or list.

    Values that do not parse any more are returned as they are (never raises).
    """
    if stored is None:
        return None
    try:
        if field.type == T.DECIMAL:
            return Decimal(str(stored))
        if field.type == T.DATE and isinstance(stored, str):
            return dt.date.fromisoformat(stored)
        if field.type == T.DATETIME and isinstance(stored, str):
            return dt.datetime.fromisoformat(stored)
    except (InvalidOperation, ValueError):
        return stored
    return stored


def to_text(stored: Any) -> Any:
    """A stored value as the input another type's :func:`coerce` may accept (for type changes):
    numbers and booleans become strings, lists stay lists."""
    if isinstance(stored, bool):
        return "true" if stored else "false"
    if isinstance(stored, int | float):
        return str(stored)
    return stored


def coerce_equal(stored: Any, raw: Any) -> bool:
    """Whether input ``raw`` is the stored value ``stored`` sent back (``5`` or ``"5"`` for 5)."""
    if stored == raw:
        return True
    if isinstance(stored, list | dict) or isinstance(raw, list | dict):
        return False
    return str(to_text(stored)) == str(to_text(raw))

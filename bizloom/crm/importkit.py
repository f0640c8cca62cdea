"""Pieces shared by the import declarations of leads, opportunities, activities and contracts (issue #5).

CRM sits below integration in the layers: these helpers only use what the engine hands to a
declaration's ``build`` (the ``BuildContext``: parsers that raise ValueError with a readable
message, ``resolve_user``, ``resolve_record``) and the CRM's own models and services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

from bizloom.crm.duplicates import company_key, email_key, person_key, tax_key
from bizloom.crm.models import Account, Contact
from bizloom.crm.normalize import fold_width, to_simplified
from bizloom.platform import access

ACCOUNT_KEYS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("code", tax_key), ("name", lambda text: text.strip() or None), ("name", company_key))
"""How a cell names an account: tax id, then (the engine adds) external id, exact name, company key."""

CONTACT_KEYS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("email", email_key), ("name", lambda text: text.strip() or None), ("name", person_key))
"""How a cell names a contact: email, external id, exact name, then the same person key."""


def clean(values: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    """The (key, trimmed text) of the non-blank cells: blank cells neither clear nor override a value."""
    for key, raw in values.items():
        text = raw.strip()
        if text:
            yield key, text


def parse_int(text: str, context: Any, *, low: int = 0, high: int | None = None) -> int:
    """A whole number between ``low`` and ``high``; ValueError with a readable message otherwise."""
    number = context.parse_decimal(text.rstrip("%％"))
    if number != number.to_integral_value() or number < low or (high is not None and number > high):
        if high is None:
            raise ValueError(gettext("“%(value)s” is not a whole number of at least %(low)s.")
                             % {"value": text, "low": low})
        raise ValueError(gettext("“%(value)s” is not a whole number between %(low)s and %(high)s.")
                         % {"value": text, "low": low, "high": high})
    return int(number)


_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                     "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H:%M:%S",
                     "%Y.%m.%d %H:%M")


def parse_datetime(text: str, context: Any) -> dt.datetime:
    """A local date and time as spreadsheets write it (``2024-03-05 14:30``, ``2024/3/5 14:30:00``,
    ISO ``2024-03-05T14:30:00``); a date alone is its local midnight. ValueError otherwise."""
    cleaned = " ".join(text.strip().replace("：", ":").split())
    cleaned = cleaned.split(".")[0] if cleaned.count(":") == 2 and "." in cleaned.rsplit(":", 1)[1] else cleaned
    if cleaned.endswith("Z") or "+" in cleaned[10:]:
        try:
            parsed = dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        except ValueError:
            pass
    for pattern in _DATETIME_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(cleaned, pattern))  # noqa: DTZ007 - local time
        except ValueError:
            continue
    try:
        day = context.parse_date(cleaned)
    except ValueError:
        raise ValueError(gettext("“%(value)s” is not a date and time (use 2024-03-05 14:30).")
                         % {"value": text}) from None
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def translated(model: type[models.Model], text: str, queryset: models.QuerySet[Any] | None = None,
               ) -> list[Any]:
    """Records of a ``TranslatedName`` model (pipelines, stages) whose name in any language is ``text``."""
    wanted = name_key(text)
    rows: Iterable[Any] = queryset if queryset is not None else model._default_manager.all()
    return [row for row in rows
            if wanted in {name_key(n) for n in (row.name, row.name_zh_hans, row.name_zh_hant) if n}]


def name_key(text: str) -> str:
    """``text`` compared without case, width, spacing or Traditional/Simplified differences."""
    folded = " ".join(fold_width(text).casefold().split())
    return to_simplified(folded) if any(ord(char) >= 0x2E80 for char in folded) else folded


def find_account(text: str, context: Any) -> Account:
    """The account ``text`` names among those the importer may see (tax id, external id or name)."""
    return context.resolve_record(text, Account, ACCOUNT_KEYS)  # type: ignore[no-any-return]


def row_account(cells: Mapping[str, str], data: dict[str, Any], context: Any, errors: dict[str, str]) -> Account | None:
    """The account the row's "account" cell names, put in ``data`` (or its error in ``errors``), read
    before the other cells because the contact and other look-ups of the row depend on it."""
    if "account" not in cells:
        return None
    try:
        account = data["account"] = find_account(cells["account"], context)
    except ValueError as exc:
        errors["account"] = str(exc)
        return None
    return account


def find_contact(text: str, context: Any, account: Account | None) -> Contact:
    """The contact ``text`` names: first by exact name among ``account``'s readable contacts, then
    by email, external id or name among every contact the importer may see."""
    if account is not None:
        found = list(access.restrict(Contact.objects.filter(account=account, name=text.strip()), context.user,
                                     "view").order_by("pk")[:2])
        if len(found) == 1:
            found[0]._import_readable_by = context.user.pk  # type: ignore[attr-defined]
            return found[0]
    return context.resolve_record(text, Contact, CONTACT_KEYS)  # type: ignore[no-any-return]


def changed(obj: models.Model, data: Mapping[str, Any], *, skip: Sequence[str] = ()) -> dict[str, Any]:
    """The items of ``data`` that differ from ``obj``'s stored values (all custom fields are kept:
    the services convert and compare them).

    Foreign keys compare by id, numbers by value; a value of another type (an undo restoring a
    date given as text) counts as a change and goes to the service, which converts it.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in skip:
            continue
        if key == "custom_fields":
            current = getattr(obj, "custom_data", None) or {}
            if any(str(current.get(name, "")) != str(text) for name, text in value.items()):
                out[key] = value
            continue
        field = obj._meta.get_field(key)
        if field.is_relation and not field.many_to_many:
            current_id = getattr(obj, field.attname)  # type: ignore[union-attr]
            if (value.pk if isinstance(value, models.Model) else value) != current_id:
                out[key] = value
            continue
        current = getattr(obj, key)
        if isinstance(current, Decimal) and isinstance(value, Decimal | int):
            if current != value:
                out[key] = value
        elif current != value:
            out[key] = value
    return out

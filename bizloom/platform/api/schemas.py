"""Base schemas of the API: what every write and read schema shares."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# Largest value a 64-bit signed primary key can hold; bigger ids would overflow the database driver.
MAX_ID = 2**63 - 1

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A primary key in a path, query or body: a positive 64-bit integer."""


class OneOf:
    """``Annotated[str, OneOf(Account.Industry, blank=True)]``: a string restricted to a model's
    choices ("" too when ``blank``), documented as an enum.

    One plain string type rather than a union of an Enum and ``Literal[""]``, so an error
    names just the field (``industry``), not a union member.
    """

    def __init__(self, choices: type[TextChoices] | Iterable[str], *, blank: bool = False) -> None:
        values = [str(v) for v in (choices.values if isinstance(choices, type) else choices)]
        if blank and "" not in values:
            values = ["", *values]
        self.values = values
        self.allowed = frozenset(values)

    def _check(self, value: str) -> str:
        if value not in self.allowed:
            raise PydanticCustomError("enum", _("Choose one of: {expected}."),
                                      {"expected": ", ".join(repr(v) for v in self.values)})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "enum": self.values}


def amount_str(value: Decimal | None, places: int = 4) -> str | None:
    """An amount as the API sends it: a string with the field's decimal places (``"1250.5000"``)."""
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


class WriteSchema(Schema):
    """Base of every request body: unknown fields are refused (no mass assignment), and text may
    not carry NUL characters (PostgreSQL rejects them)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(_("Text may not contain NUL characters."))
        return value


class ReadSchema(Schema):
    """Base of every response body (read from model instances)."""

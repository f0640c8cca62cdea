"""Base schemas of the API: what every write and read schema shares."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from django.apps import apps
from django.db.models import Model, TextChoices
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from bizloom.platform import access

# Largest value a 64-bit signed primary key can hold; bigger ids would overflow the database driver.
MAX_ID = 2**63 - 1



def _not_a_boolean(value: Any) -> Any:
    # JSON true/false would otherwise pass as the ids 1 and 0.
    if isinstance(value, bool):
        raise PydanticCustomError("record_id", "A record id is a number, not true or false.")
    return value


RecordId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_not_a_boolean)]
"""A primary key in a path, query or body: a positive 64-bit integer (never a boolean)."""


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


_SCHEMA_SUFFIXES = ("Patch", "Create", "Update", "Write", "Input", "In", "Out", "Read", "Schema")
_UNRESOLVED: Any = object()


def schema_model(schema: type[Any]) -> type[Model] | None:
    """The model a schema describes, for field rules: ``access_model`` when declared, else the
    class name without its suffix in the app of the schema's module (``bizloom.crm.schemas.
    AccountPatch`` → ``crm.Account``); None when there is no such model."""
    cached = schema.__dict__.get("_access_model_resolved", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached  # type: ignore[no-any-return]
    declared = getattr(schema, "access_model", None)
    model: type[Model] | None = None
    if isinstance(declared, type) and issubclass(declared, Model):
        model = declared
    elif isinstance(declared, str):
        model = apps.get_model(declared)
    else:
        parts = schema.__module__.split(".")
        app_label = parts[1] if len(parts) > 2 and parts[0] == "bizloom" else ""
        name = schema.__name__
        for suffix in _SCHEMA_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        if app_label in access.BUSINESS_APPS:
            try:
                model = apps.get_model(app_label, name)
            except LookupError:
                model = None
    type.__setattr__(schema, "_access_model_resolved", model)
    return model


def _request_user(context: Any) -> Any:
    request = context.get("request") if isinstance(context, dict) else None
    return getattr(request, "user", None) if request is not None else None


class WriteSchema(Schema):
    """Base of every request body: unknown fields are refused (no mass assignment), and text may
    not carry NUL characters (PostgreSQL rejects them).

    Field rules (issue #3): a body that sets a field the caller's roles hide or make
    read-only on the schema's model (see :func:`schema_model`; declare ``access_model`` when
    the name does not say it) is refused with 422 and an error on that field. POST to a
    collection checks the ``add`` rules, anything else (PATCH, PUT, POST actions on a
    record) the ``change`` rules.
    """

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    access_model: ClassVar[type[Model] | str | None] = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(_("Text may not contain NUL characters."))
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _field_rules(cls, value: Any, info: ValidationInfo) -> Any:
        user = _request_user(info.context)
        if user is None or info.field_name is None:
            return value
        model = schema_model(cls)
        if model is None:
            return value
        request = info.context["request"]  # type: ignore[index]
        on_record = bool(getattr(getattr(request, "resolver_match", None), "kwargs", None))
        action = "add" if request.method == "POST" and not on_record else "change"
        if info.field_name in access.field_policy(user, model, action).unwritable:
            access.log.info("refused write user=%s model=%s field=%s rule=field rules for %s",
                            getattr(user, "pk", None), model._meta.label, info.field_name,
                            access.codename(model, action))
            raise PydanticCustomError("field_not_writable", _("You may not change this field."))
        return value


class ReadSchema(Schema):
    """Base of every response body (read from model instances).

    Fields the caller's roles hide on the instance's model (``access.field_policy``) are
    left out of the response: every resource gets this without code of its own. The
    caller comes from the serialization context ninja passes (``{"request": ...}``).
    """

    _source_model: type[Model] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_model(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        result = handler(value)
        source = getattr(value, "_obj", value)  # ninja wraps instances in a DjangoGetter
        if isinstance(source, Model) and isinstance(result, ReadSchema):
            result._source_model = type(source)
        return result

    @model_serializer(mode="wrap")
    # No return annotation on purpose: pydantic would document the response as that type
    # instead of the schema's fields.
    def _hide_fields(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):  # type: ignore[no-untyped-def]  # noqa: ANN201
        data = handler(self)
        model = self._source_model
        user = _request_user(info.context)
        if model is None or user is None or not isinstance(data, dict):
            return data
        for name in access.field_policy(user, model, "view").hidden:
            data.pop(name, None)
        return data

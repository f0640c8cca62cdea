"""What an import needs to know about one kind of record: the declaration registry (issue #5).

A domain app describes each importable model once, in ``<app>/imports.py``::

    from bizloom.integration.imports.declarations import ImportDeclaration, model_field_specs, register

    register(ImportDeclaration(
        key="catalog.product", model=Product, label=_("Products"),
        fields=model_field_specs(Product, ["sku", "name", "unit_price"], required=("sku", "name")),
        natural_keys=("sku",),
        build=build_product,              # (values, context) -> data dict for the service
        create=lambda data, actor: services.create_product(data, actor=actor),
        update=lambda obj, data, actor: services.update_product(obj, data, actor=actor),
        delete=lambda obj, actor: services.delete_product(obj, actor=actor),
    ))

``IntegrationConfig.ready`` imports every app's ``imports`` module. The engine
(:mod:`.engine`) does the rest: mapping, upsert by external id or natural key, duplicate
matching (when ``duplicate_fields`` is given), access and field rules, dry run, undo.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.functional import Promise

from bizloom.integration.importing.headers import FieldSpec, normalise_header
from bizloom.platform import access

EXTERNAL_ID = "__external_id__"
"""The field key of the column that holds the record's id in the old system."""


class CellError(ValueError):
    """A value of one cell that cannot be used; ``message`` is shown next to the row and column."""

    def __init__(self, message: str | Promise, **params: Any) -> None:
        super().__init__(str(message))
        self.template = message
        self.params = params

    @property
    def message(self) -> str:
        """The message in the active language."""
        text = str(self.template)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message


@dataclass
class BuildContext:
    """What ``build`` may use besides the row: the importing user, per-run caches and parsers.

    The parsers raise :class:`CellError` (a ValueError whose ``str`` is the readable message),
    so a declaration in a lower app needs no import from this package.
    """

    user: Any
    cache: dict[str, Any] = field(default_factory=dict)

    def parse_bool(self, text: str) -> bool:
        """See :func:`parse_bool`."""
        return parse_bool(text)

    def parse_decimal(self, text: str) -> Decimal:
        """See :func:`parse_decimal`."""
        return parse_decimal(text)

    def parse_choice(self, text: str, choices: Sequence[tuple[str, str | Promise]]) -> str:
        """The code of a choice given by code or label in any language (:func:`parse_choice`)."""
        key = f"choices:{id(choices)}"
        lookup = self.cache.get(key)
        if lookup is None:
            lookup = self.cache[key] = choice_map(choices)
        return parse_choice(text, lookup)

    def resolve_user(self, text: str, model: type[models.Model]) -> Any:
        """The user named by ``text`` among those the importer may assign (:func:`resolve_user`)."""
        return resolve_user(text, self, model)


@dataclass(frozen=True)
class ImportDeclaration:
    """How one model is imported. See the module docstring for an example.

    ``build(values, context)`` turns the mapped text values of a row (field key → text, only
    mapped non-external-id columns) into the ``data`` dict the services take; it raises
    :class:`CellError` per field via ``errors`` (a dict it fills) — see :func:`build_with_errors`.
    ``duplicate_fields`` names the fields of ``data`` that feed :class:`~bizloom.crm.duplicates.DuplicateIndex`
    (``{Rule: field}``) and ``duplicate_records(user)`` yields ``(pk, fields)`` of readable records.
    ``extra_fields(user)`` is a hook for more :class:`FieldSpec` whose values ``build`` receives
    under their key. With ``custom_fields=True`` the model's active custom fields are offered
    as ``cf_<key>`` (labels in every language); the engine passes their cells to the services
    as ``data["custom_fields"]``, which validate and convert them.
    """

    key: str
    model: type[models.Model]
    label: str | Promise
    fields: Sequence[FieldSpec]
    build: Callable[[Mapping[str, str], BuildContext, dict[str, str]], dict[str, Any]]
    create: Callable[[Mapping[str, Any], Any], models.Model]
    update: Callable[[models.Model, Mapping[str, Any], Any], models.Model]
    delete: Callable[[models.Model, Any], None]
    natural_keys: tuple[str, ...] = ()
    duplicate_fields: Mapping[Any, str] | None = None
    duplicate_records: Callable[[Any], Iterable[tuple[Any, Mapping[str, object]]]] | None = None
    duplicate_name_key: Callable[[str], str] | None = None
    extra_fields: Callable[[Any], Sequence[FieldSpec]] | None = None
    custom_fields: bool = False

    @classmethod
    def from_spec(cls, *, field_names: Sequence[str], required: Sequence[str] = (),
                  synonyms: Mapping[str, Sequence[str]] | None = None, **kwargs: Any) -> ImportDeclaration:
        """A declaration from plain keyword arguments (what ``<app>.imports.IMPORT_DECLARATIONS`` holds):
        ``field_names`` become :func:`model_field_specs` of ``kwargs["model"]``."""
        fields = model_field_specs(kwargs["model"], field_names, required=required, synonyms=synonyms)
        return cls(fields=fields, **kwargs)

    def field_specs(self, user: Any) -> list[FieldSpec]:
        """The model fields, the hook's extra fields and the external id, for mapping."""
        specs = list(self.fields)
        if self.custom_fields:
            specs.extend(custom_field_specs(self.model))
        if self.extra_fields is not None:
            specs.extend(self.extra_fields(user))
        specs.append(external_id_spec())
        return specs

    def field_labels(self, user: Any) -> dict[str, str]:
        """Field key → label in the active language."""
        lang = (translation.get_language() or "en").lower()
        labels = {}
        for spec in self.field_specs(user):
            labels[spec.key] = spec.labels.get(lang) or spec.labels.get("en") or spec.key
        return labels


_REGISTRY: dict[str, ImportDeclaration] = {}


def register(declaration: ImportDeclaration) -> ImportDeclaration:
    """Add (or replace) a declaration under its key."""
    _REGISTRY[declaration.key] = declaration
    return declaration


def get_declaration(key: str) -> ImportDeclaration:
    """The declaration registered under ``key``; KeyError when there is none."""
    return _REGISTRY[key]


def autodiscover() -> None:
    """Register ``IMPORT_DECLARATIONS`` of every installed app's ``imports`` module (from ``ready``)."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    for config in apps.get_app_configs():
        name = f"{config.name}.imports"
        if config.name.startswith("bizloom.") and find_spec(name) is not None:
            module = import_module(name)
            for spec in getattr(module, "IMPORT_DECLARATIONS", ()):
                register(ImportDeclaration.from_spec(**spec))


def declarations() -> list[ImportDeclaration]:
    """All registered declarations, by key."""
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def labels_in_languages(text: str | Promise) -> dict[str, str]:
    """A lazy label rendered in every configured language: ``{"en": ..., "zh-hans": ...}``."""
    out = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            out[code] = str(text)
    return out


CUSTOM_PREFIX = "cf_"


def custom_field_specs(model: type[models.Model]) -> list[FieldSpec]:
    """``cf_<key>`` specs of ``model``'s active custom fields, labelled in every language."""
    from bizloom.platform.customfields.selectors import definitions_for

    specs = []
    for definition in definitions_for(model):
        labels = {lang: text for lang, text in (("en", definition.label_en), ("zh-hans", definition.label_zh_hans),
                                                 ("zh-hant", definition.label_zh_hant)) if text}
        specs.append(FieldSpec(f"{CUSTOM_PREFIX}{definition.key}", labels))
    return specs


def external_id_spec() -> FieldSpec:
    """The mapping target for the column holding the old system's id."""
    from django.utils.translation import gettext_lazy as _

    return FieldSpec(EXTERNAL_ID, labels_in_languages(_("External id")),
                     synonyms=("external id", "old id", "legacy id", "原系统编号", "外部编号", "外部ID", "旧系统ID"))


def model_field_specs(model: type[models.Model], names: Sequence[str], *, required: Sequence[str] = (),
                      synonyms: Mapping[str, Sequence[str]] | None = None) -> list[FieldSpec]:
    """:class:`FieldSpec` of model fields, labelled with their verbose names in every language."""
    synonyms = synonyms or {}
    specs = []
    for name in names:
        model_field = model._meta.get_field(name)
        specs.append(FieldSpec(name, labels_in_languages(model_field.verbose_name),  # type: ignore[union-attr]
                               tuple(synonyms.get(name, ())), name in required))
    return specs


# --- value parsers used by declarations ------------------------------------------------------

_TRUE = frozenset({"1", "y", "yes", "true", "t", "x", "是", "√", "✓", "对", "有", "真"})
_FALSE = frozenset({"0", "n", "no", "false", "f", "否", "×", "✗", "不是", "无", "假"})


def parse_bool(text: str) -> bool:
    """Yes/no as spreadsheets write it (``是/否``, ``Y/N``, ``1/0``, ``√/×``); CellError otherwise."""
    from django.utils.translation import gettext_lazy as _

    key = text.strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError(_("“%(value)s” is not yes or no (use 是/否, yes/no or 1/0)."), value=text)


_NUMBER_NOISE = re.compile(r"[\s,，¥￥$€]|CNY|RMB|元")


def parse_decimal(text: str) -> Decimal:
    """A number written with thousands separators or a currency sign; CellError otherwise."""
    from django.utils.translation import gettext_lazy as _

    cleaned = _NUMBER_NOISE.sub("", text.strip())
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not a number."), value=text) from None
    if not value.is_finite():
        raise CellError(_("“%(value)s” is not a number."), value=text)
    return value


def choice_map(choices: Iterable[tuple[str, str | Promise]]) -> dict[str, str]:
    """Lookup of a choice field: its codes and its labels in every language (normalised) → code."""
    lookup: dict[str, str] = {}
    for code, label in choices:
        lookup[normalise_header(code)] = code
        for text in labels_in_languages(label).values():
            lookup.setdefault(normalise_header(text), code)
    return lookup


def parse_choice(text: str, lookup: Mapping[str, str]) -> str:
    """The code of a choice written as its code or label in any language; CellError otherwise."""
    from django.utils.translation import gettext_lazy as _

    code = lookup.get(normalise_header(text))
    if code is None:
        raise CellError(_("“%(value)s” is not one of the choices."), value=text)
    return code


def assignable_users(user: Any, model: type[models.Model], action: str = "view") -> models.QuerySet[Any]:
    """Active users whose records of ``model`` ``user`` may read: the owners an import may set.

    Scope ``all`` → every active user; ``own`` → the user; ``team`` → the user and their
    teams' members and leaders; ``department`` → users of their departments' subtrees.
    """
    from bizloom.platform.models import Department, Team, User

    active = User.objects.filter(is_active=True)
    scope = access.scope_for(user, model, action)
    if scope == access.SCOPE_ALL:
        return active
    if scope is None:
        return active.none()
    condition = Q(pk=user.pk)
    if scope == access.SCOPE_TEAM:
        teams = Team.objects.filter(Q(members=user.pk) | Q(leader=user.pk)).values("pk")
        condition |= Q(teams__in=teams)
    elif scope == access.SCOPE_DEPARTMENT:
        paths = set(Department.objects.filter(Q(members=user.pk) | Q(manager=user.pk)).values_list("path", flat=True))
        subtree = Q(pk__in=[])
        for path in paths:
            subtree |= Q(path__startswith=path)
        condition |= Q(department__in=Department.objects.filter(subtree).values("pk"))
    return active.filter(condition).distinct()


def resolve_user(text: str, context: BuildContext, model: type[models.Model]) -> Any:
    """The user named by username, email or full name among :func:`assignable_users`; CellError otherwise."""
    from django.utils.translation import gettext_lazy as _

    lookup = context.cache.get("users")
    if lookup is None:
        lookup = {}
        ambiguous: set[str] = set()
        for candidate in assignable_users(context.user, model):
            for name in {candidate.username, candidate.email, candidate.get_full_name(), str(candidate)}:
                key = normalise_header(name or "")
                if not key:
                    continue
                if key in lookup and lookup[key].pk != candidate.pk:
                    ambiguous.add(key)
                lookup[key] = candidate
        for key in ambiguous:
            lookup[key] = None
        context.cache["users"] = lookup
    key = normalise_header(text)
    if key in lookup and lookup[key] is None:
        raise CellError(_("“%(value)s” names more than one user; use the username."), value=text)
    found = lookup.get(key)
    if found is None:
        raise CellError(_("No user “%(value)s” that you may assign records to."), value=text)
    return found

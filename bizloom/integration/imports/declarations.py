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
from datetime import date
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
    cache: dict[Any, Any] = field(default_factory=dict)
    source: str = ""

    def parse_bool(self, text: str) -> bool:
        """See :func:`parse_bool`."""
        return parse_bool(text)

    def parse_decimal(self, text: str) -> Decimal:
        """See :func:`parse_decimal`."""
        return parse_decimal(text)

    def parse_date(self, text: str) -> date:
        """See :func:`parse_date`."""
        return parse_date(text)

    def parse_choice(self, text: str, choices: Sequence[tuple[str, str | Promise]]) -> str:
        """The code of a choice given by code or label in any language (:func:`parse_choice`)."""
        # Keyed by the codes, not by id(): ``Model.Field.choices`` builds a new list on every access,
        # and the id of a freed list is reused by the next one.
        key = ("choices", *(code for code, _label in choices))
        lookup = self.cache.get(key)
        if lookup is None:
            lookup = self.cache[key] = choice_map(choices)
        return parse_choice(text, lookup)

    def resolve_user(self, text: str, model: type[models.Model]) -> Any:
        """The user named by ``text`` among those the importer may assign (:func:`resolve_user`)."""
        return resolve_user(text, self, model)

    def resolve_record(self, text: str, model: type[models.Model],
                       keys: Sequence[tuple[str, Callable[[str], str | None]]]) -> Any:
        """The record of ``model`` that ``text`` names, among those the importer may view (:func:`resolve_record`)."""
        return resolve_record(text, self, model, keys)


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

    ``duplicate_keys(user)`` replaces ``duplicate_records`` for records that store their values in
    key form (a contact's normalised email and phones, which the contact services' own duplicate
    check compares as stored): it yields ``(pk, label, ((rule, key), ...))`` (the label a text), and the engine adds
    the keys as they are (:meth:`~bizloom.crm.duplicates.DuplicateIndex.add_keys`) instead of
    computing each record's keys again: a tenth of the time for a large table.

    ``duplicate_variants(fields)`` splits one record's (or row's) fields into several sets
    that are each matched (a contact's mobile and office phone both feed the phone rule).
    ``duplicate_elsewhere(user)`` yields ``(duplicates.Elsewhere(label, pk), fields)`` of readable records of
    *other* models the CRM's duplicate rules also compare a new record with (a lead with contacts
    and accounts): a row that matches one is reported as its duplicate and skipped (policy
    "skip", and "update", which cannot update a record of another kind), or created anyway.

    The fast path (issue #5, ``bench/bench_import_contacts.py``): ``prepare(data, context)``
    (the :class:`BuildContext`: ``context.user``, the run's ``cache``) does everything
    ``create`` does except writing — normalise, assign, validate, raising the same
    ValidationFailed/DomainError — and returns the unsaved record: a model instance, or anything
    that has ``pk`` (set by ``bulk_save``) and the record's ``str()`` (contacts hand over their
    column values, ``crm.imports.NewContact``). ``bulk_save(records, actor,
    writes)`` then writes a chunk of them with their audit entries and events through ``writes``
    (a :class:`.writer.WriteGroup`): ``writes.insert(model, instances)`` sets the keys at once
    and queues the rows, ``writes.insert_values(model, names, rows, returning=False)`` queues
    rows given as tuples, ``writes.after_write(callback)`` runs a callback once they are written,
    and ``writes.now`` is the creation time of the group. The rows are written on a second
    thread while the engine reads the next chunk (:mod:`.writer`). The engine uses the fast path
    when both are given and falls back to ``create`` row by row when a group fails, so the
    outcomes are those of ``create``.

    ``natural_keys`` identify an existing record a row updates when no external id links it (see
    :meth:`key_fields`): each key a field name (``"code"``) or a tuple of fields that together
    identify a record (``("parent", "name")``: a department by its name under its parent), tried in
    turn. A key applies to a row that gives at least one of its parts; every part must then be equal
    (a related record as itself, an empty part as none: a department without a parent is one at the
    top level). The first readable record with the key's value is updated.

    ``snapshot_extra(record, data)`` gives more of a record's state that an update by a row may
    change besides its fields (an opportunity's product lines), as JSON: it is kept with the
    row's earlier values and handed back to ``update`` (under the same keys) when the batch is undone.

    ``authorize(user, action)`` replaces the business-record access rules for records that
    are not business records (users, departments): it decides every action, every record is
    in scope and there are no field rules.

    ``row_by_row`` makes the engine build and decide each row after the rows above it are
    written (chunks of one row): for records whose rows refer to records created a few rows
    above (a department's parent).
    """

    key: str
    model: type[models.Model]
    label: str | Promise
    fields: Sequence[FieldSpec]
    build: Callable[[Mapping[str, str], BuildContext, dict[str, str]], dict[str, Any]]
    create: Callable[[Mapping[str, Any], Any], models.Model]
    update: Callable[[models.Model, Mapping[str, Any], Any], models.Model]
    delete: Callable[[models.Model, Any], None]
    natural_keys: tuple[str | tuple[str, ...], ...] = ()
    duplicate_fields: Mapping[Any, str] | None = None
    duplicate_records: Callable[[Any], Iterable[tuple[Any, Mapping[str, object]]]] | None = None
    duplicate_keys: Callable[[Any], Iterable[tuple[Any, str, Iterable[tuple[Any, str]]]]] | None = None
    duplicate_name_key: Callable[[str], str] | None = None
    extra_fields: Callable[[Any], Sequence[FieldSpec]] | None = None
    custom_fields: bool = False
    duplicate_variants: Callable[[Mapping[str, Any]], Iterable[Mapping[str, object]]] | None = None
    duplicate_elsewhere: Callable[[Any], Iterable[tuple[Any, Mapping[str, object]]]] | None = None
    snapshot_extra: Callable[[models.Model, Mapping[str, Any]], dict[str, Any]] | None = None
    prepare: Callable[[Mapping[str, Any], BuildContext], Any] | None = None
    bulk_save: Callable[..., None] | None = None
    authorize: Callable[[Any, str], bool] | None = None
    row_by_row: bool = False

    # --- access: the business-record rules, or ``authorize`` for organisation records -------

    def may(self, user: Any, action: str) -> bool:
        """Whether ``user`` may ``action`` (view/add/change/delete/import) records of this kind.

        Business records ask :mod:`bizloom.platform.access`; a declaration with ``authorize``
        (users, departments: not business records, managed by administrators) asks it instead.
        """
        if self.authorize is not None:
            return bool(user is not None and user.is_authenticated and user.is_active and self.authorize(user, action))
        return access.can(user, self.model, action)

    def require(self, user: Any, action: str) -> None:
        """PermissionDeniedError unless :meth:`may`."""
        if self.authorize is None:
            access.require(user, self.model, action)
            return
        if not self.may(user, action):
            from django.utils.translation import gettext as _

            from bizloom.common.errors import PermissionDeniedError

            raise PermissionDeniedError(
                _("You do not have permission to %(action)s %(model)s.") % {
                    "action": access.action_verb(self.model, action),
                    "model": self.model._meta.verbose_name_plural},
                rule=f"import:{self.key} needs the organisation administrator permission")

    def queryset(self, user: Any, action: str) -> models.QuerySet[Any]:
        """The records ``user`` may ``action``: ``access.restrict``, or all of them (or none) with ``authorize``."""
        manager = self.model._default_manager
        if self.authorize is None:
            return access.restrict(manager.all(), user, action)
        return manager.all() if self.may(user, action) else manager.none()

    def field_policy(self, user: Any) -> access.FieldPolicy:
        """Fields ``user`` may not write through an import (none for ``authorize`` declarations)."""
        if self.authorize is not None:
            return access.NO_FIELD_RULES
        return access.field_policy(user, self.model, "change")

    @property
    def key_fields(self) -> tuple[tuple[str, ...], ...]:
        """``natural_keys`` with each key as the tuple of its fields (a field name alone is a key of one)."""
        return tuple((key,) if isinstance(key, str) else tuple(key) for key in self.natural_keys)

    def variants(self, fields: Mapping[str, Any]) -> Iterable[Mapping[str, object]]:
        """The field sets one record or row is matched by (several when, e.g., a contact has two phones)."""
        return self.duplicate_variants(fields) if self.duplicate_variants is not None else (fields,)

    @classmethod
    def from_spec(cls, *, field_names: Sequence[str], required: Sequence[str] = (),
                  synonyms: Mapping[str, Sequence[str]] | None = None,
                  extra_labels: Mapping[str, str | Promise] | None = None, **kwargs: Any) -> ImportDeclaration:
        """A declaration from plain keyword arguments (what ``<app>.imports.IMPORT_DECLARATIONS`` holds):
        ``field_names`` become :func:`model_field_specs` of ``kwargs["model"]``; ``extra_labels``
        adds fields that are not model fields (key → label), which ``build`` turns into data."""
        fields = model_field_specs(kwargs["model"], field_names, required=required, synonyms=synonyms)
        for key, label in (extra_labels or {}).items():
            fields.append(FieldSpec(key, labels_in_languages(label), tuple((synonyms or {}).get(key, ())),
                                    key in required))
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


EXTRA_MODULES = ("bizloom.platform.org.imports", "bizloom.crm.leads.imports", "bizloom.crm.pipeline.imports",
                 "bizloom.crm.activities.imports", "bizloom.crm.contracts.imports")
"""Declaration modules inside an app's sub-packages (users and departments; the CRM areas)."""


def autodiscover() -> None:
    """Register ``IMPORT_DECLARATIONS`` of every installed app's ``imports`` module (from ``ready``)."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    names = [f"{config.name}.imports" for config in apps.get_app_configs() if config.name.startswith("bizloom.")]
    for name in [*names, *EXTRA_MODULES]:
        if find_spec(name) is not None:
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
    specs: list[FieldSpec] = []
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


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%d.%m.%Y")


def parse_date(text: str) -> date:
    """A date as spreadsheets write it (``2024-03-05``, ``2024/3/5``, ``2024年3月5日``, ``20240305``,
    ``05.03.2024``; a time after it is ignored); CellError otherwise."""
    from datetime import datetime as _datetime

    from django.utils.translation import gettext_lazy as _

    cleaned = text.strip().split(" ")[0].split("T")[0]
    for pattern in _DATE_FORMATS:
        try:
            return _datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 - a date, no time zone
        except ValueError:
            continue
    raise CellError(_("“%(value)s” is not a date (use 2024-03-05)."), value=text)


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


_AMBIGUOUS = object()


@dataclass
class _RecordLookup:
    """Keys of the records of one model a user may view, read once per run."""

    queryset: Any
    maps: list[dict[str, Any]]
    only: tuple[str, ...]
    rows: dict[Any, tuple[Any, ...]]
    instances: dict[Any, Any] = field(default_factory=dict)
    externals: dict[str, Any] | None = None


def resolve_record(text: str, context: BuildContext, model: type[models.Model],
                   keys: Sequence[tuple[str, Callable[[str], str | None]]]) -> Any:
    """The record of ``model`` named by ``text``, among those ``context.user`` may view; CellError otherwise.

    ``keys`` are ``(field, key function)`` pairs tried in order, except that the record's id in
    the source system (:class:`~bizloom.integration.models.ExternalId`, of the batch's source
    when it has one) is tried after the first: e.g. tax id, external id, then name. A key that
    several readable records share names none of them (an error asking for a more precise
    value). The keys of every readable record are read once per run (one query); the records
    found are loaded with only their key fields (others load when touched).
    """
    from django.utils.translation import gettext_lazy as _

    cache_key = ("records", model._meta.label_lower, tuple(name for name, _fn in keys))
    lookup: _RecordLookup | None = context.cache.get(cache_key)
    if lookup is None:
        queryset = access.restrict(model._default_manager.all(), context.user, "view")
        wanted = {name for name, _fn in keys}
        # In the model's field order: Model.from_db takes the values of deferred-field instances in that order.
        names = tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)
        positions = [(1 + names.index(name), key_of) for name, key_of in keys]
        maps: list[dict[str, Any]] = [{} for _ in keys]
        rows: dict[Any, tuple[Any, ...]] = {}
        for row in queryset.values_list("pk", *names).order_by().iterator(chunk_size=5000):
            pk = row[0]
            rows[pk] = row
            for index, (position, key_of) in enumerate(positions):
                value = row[position]
                if value in (None, ""):
                    continue
                key = key_of(str(value))
                if not key:
                    continue
                held = maps[index].get(key)
                maps[index][key] = pk if held is None or held == pk else _AMBIGUOUS
        lookup = context.cache[cache_key] = _RecordLookup(queryset, maps, (model._meta.pk.attname, *names),
                                                          rows)
    text = text.strip()
    order: list[int | None] = [0, None, *range(1, len(keys))] if keys else [None]
    for step in order:
        if step is None:
            found = _external_record(text, context, model, lookup)
        else:
            key = keys[step][1](text)
            found = lookup.maps[step].get(key) if key else None
        if found is _AMBIGUOUS:
            raise CellError(_("“%(value)s” matches more than one %(model)s; use the tax id or the external id."),
                            value=text, model=model._meta.verbose_name)
        if found is not None:
            instance = lookup.instances.get(found)
            if instance is None:
                # Built from the keys read above (other fields load from the database when touched).
                instance = lookup.instances[found] = model.from_db(queryset_db(lookup.queryset), lookup.only,
                                                                   lookup.rows[found])
                # Read among the records the user may view: services need not check the reference again.
                instance._import_readable_by = context.user.pk  # type: ignore[attr-defined]
            return instance
    raise CellError(_("No %(model)s “%(value)s” that you may see."), value=text, model=model._meta.verbose_name)


def queryset_db(queryset: Any) -> str:
    """The database alias a queryset reads from."""
    return str(queryset.db)


def _external_record(text: str, context: BuildContext, model: type[models.Model], lookup: _RecordLookup) -> Any:
    """The readable record whose external id is ``text`` (in the batch's source, or any when it has none)."""
    if lookup.externals is None:
        from django.contrib.contenttypes.models import ContentType

        from bizloom.integration.models import ExternalId

        links = ExternalId.objects.filter(content_type=ContentType.objects.get_for_model(model))
        if context.source:
            links = links.filter(source=context.source)
        to_pk = model._meta.pk.to_python
        externals: dict[str, Any] = {}
        for value, object_id in links.values_list("value", "object_id").iterator(chunk_size=5000):
            pk = to_pk(object_id)
            if pk not in lookup.rows:  # not readable by the importer
                continue
            held = externals.get(value)
            externals[value] = pk if held is None or held == pk else _AMBIGUOUS
        lookup.externals = externals
    return lookup.externals.get(text)

"""The import declarations of CRM accounts and contacts (issue #5), read by the integration import engine.

CRM sits below integration in the layers, so it describes its imports as plain keyword
arguments of ``ImportDeclaration`` and uses only what the engine hands to ``build`` (the
``BuildContext``: parsers and reference resolvers).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.db import models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed, forget_frames
from bizloom.crm import selectors, services
from bizloom.crm.duplicates import ACCOUNT_FIELDS, Rule, company_key, person_key, tax_key
from bizloom.crm.events import ContactCreated
from bizloom.crm.models import Account, Contact
from bizloom.crm.normalize import PLAIN_EMAIL_RE, normalize_email, normalize_phone
from bizloom.platform import access, middleware_context, records
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.services import validate_custom_values
from bizloom.platform.events import publish_many
from bizloom.platform.models import User

ACCOUNT_IMPORT_FIELDS = ["name", "code", "industry", "tier", "city", "phone", "email", "website",
                         "annual_revenue", "currency", "is_customer", "is_supplier", "owner", "notes"]
SYNONYMS = {
    "name": ("客户名称", "公司名称", "客户", "company", "company name", "account name", "account"),
    "code": ("统一社会信用代码", "信用代码", "税号", "tax no", "uscc", "vat id"),
    "industry": ("行业", "所属行业"),
    "tier": ("级别", "客户级别", "等级", "grade", "level"),
    "city": ("城市", "所在城市"),
    "phone": ("电话", "手机", "联系电话", "tel", "mobile", "telephone"),
    "email": ("邮箱", "电子邮件", "e-mail", "mail"),
    "website": ("网站", "网址", "url", "web"),
    "annual_revenue": ("年收入", "年营业额", "营业额", "revenue"),
    "currency": ("币种", "货币"),
    "is_customer": ("是否客户", "客户标志"),
    "is_supplier": ("是否供应商", "供应商标志"),
    "owner": ("负责人", "销售", "所有人", "客户经理", "sales rep", "account manager"),
    "notes": ("备注", "说明", "remarks", "comment"),
}


def build_account(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The ``create_account``/``update_account`` data of one row; cell problems go to ``errors``.

    Blank cells are left out (they neither clear a stored value nor override a default).
    Phones and emails are normalised; industry and tier accept codes or labels in any language;
    the owner is a username, email or full name among the users whose accounts the importer reads.
    ``context`` is the engine's ``BuildContext`` (its parsers raise ValueError with a readable message).
    """
    data: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.strip()
        if not text:
            continue
        try:
            if key == "phone":
                data[key] = normalize_phone(text)
            elif key == "email":
                data[key] = normalize_email(text)
            elif key == "industry":
                data[key] = context.parse_choice(text, Account.Industry.choices)
            elif key == "tier":
                data[key] = context.parse_choice(text, Account.Tier.choices)
            elif key in ("is_customer", "is_supplier"):
                data[key] = context.parse_bool(text)
            elif key == "annual_revenue":
                data[key] = context.parse_decimal(text)
            elif key == "currency":
                data[key] = text.upper()
            elif key == "owner":
                data[key] = context.resolve_user(text, Account)
            else:
                data[key] = text
        except ValueError as exc:  # InvalidValue from the normalisers, CellError from the engine's parsers
            errors[key] = str(exc)
    return data


def _readable_accounts(user: Any) -> Iterable[tuple[Any, Mapping[str, object]]]:
    rows = selectors.list_accounts(user, "view").values("pk", "name", "code", "email", "phone")
    return ((row["pk"], row) for row in rows.iterator(chunk_size=5000))


# --- contacts ---------------------------------------------------------------------------------

CONTACT_IMPORT_FIELDS = ["name", "account", "position", "department", "mobile", "phone", "email", "wechat_id",
                         "birthday", "consent_email", "consent_sms", "owner", "notes"]
CONTACT_SYNONYMS = {
    "name": ("姓名", "联系人", "联系人姓名", "名字", "contact", "contact name", "full name", "person"),
    "account": ("客户", "客户名称", "公司", "公司名称", "单位", "所属客户", "company", "company name", "account name",
                "organization", "organisation", "customer"),
    "position": ("职位", "职务", "头衔", "title", "job title", "role"),
    "department": ("部门", "所在部门", "dept"),
    "mobile": ("手机", "手机号", "手机号码", "移动电话", "mobile phone", "cell", "cell phone", "cellphone"),
    "phone": ("电话", "办公电话", "座机", "固定电话", "联系电话", "tel", "telephone", "work phone", "office phone",
              "business phone"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件", "e-mail", "mail", "email address"),
    "wechat_id": ("微信", "微信号", "wechat", "weixin"),
    "birthday": ("生日", "出生日期", "date of birth", "birth date", "dob"),
    "consent_email": ("同意邮件", "邮件许可", "email opt in", "email opt-in"),
    "consent_sms": ("同意短信", "短信许可", "sms opt in", "sms opt-in"),
    "owner": ("负责人", "所有人", "销售", "客户经理", "contact owner", "sales rep"),
    "notes": ("备注", "说明", "remarks", "comment", "comments"),
}
CONTACT_FIELDS: dict[Rule, str] = {Rule.EMAIL: "email", Rule.PHONE: "phone"}
"""The CRM's contact duplicate rules (``services.find_duplicate_contacts``): same email or same phone,
the mobile and the office number each compared with both of the other's."""

_ACCOUNT_MEMO = ("crm.contact", "account by text")
_ACCOUNT_KEYS = (("code", tax_key), ("name", lambda text: text.strip() or None), ("name", company_key))


def build_contact(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The ``create_contact``/``update_contact`` data of one row; cell problems go to ``errors``.

    Blank cells are left out. Names, phones and emails stay as typed here: the contact services
    normalise them (``prepare_contact`` runs the same normalisation), so their messages are the
    services' own. The account is named by tax id, external id or name (exact, then the same
    company key) among the accounts the importer may see; the owner as for accounts;
    consents accept 是/否, yes/no, 1/0; birthdays ``2024-03-05``, ``2024/3/5`` or ``2024年3月5日``.
    """
    data: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.strip()
        if not text:
            continue
        try:
            if key == "account":
                # The same name resolves to the same account all through a run (the readable accounts
                # are read once per run): remember the answers, not the failures (they are rare).
                known = context.cache.setdefault(_ACCOUNT_MEMO, {})
                found = known.get(text)
                if found is None:
                    found = known[text] = context.resolve_record(text, Account, _ACCOUNT_KEYS)
                data[key] = found
            elif key in ("consent_email", "consent_sms"):
                data[key] = context.parse_bool(text)
            elif key == "birthday":
                data[key] = context.parse_date(text)
            elif key == "owner":
                data[key] = context.resolve_user(text, Contact)
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    return data


def _contact_variants(fields: Mapping[str, Any]) -> list[Mapping[str, object]]:
    """A contact matches by email, its mobile and its office phone (each against both of the other's)."""
    office = fields.get("phone")
    if not office:  # most rows: a second set with no key would match and add nothing
        return [{"email": fields.get("email"), "phone": fields.get("mobile")}]
    return [{"email": fields.get("email"), "phone": fields.get("mobile")}, {"phone": office}]


def _readable_contact_keys(user: Any) -> Iterable[tuple[Any, str, tuple[tuple[Rule, str], ...]]]:
    """The matching keys of the contacts ``user`` may read, as stored: the contact services store an
    email and phones in key form (``_normalize_contact``), and ``find_duplicate_contacts`` compares
    them as stored, so the importer's "duplicate of an existing contact" is the form's."""
    rows = (selectors.list_contacts(user, "view").select_related(None).prefetch_related(None)
            .values_list("pk", "name", "email", "mobile", "phone").order_by())
    email, phone = Rule.EMAIL, Rule.PHONE
    return ((pk, name, ((email, email_value), (phone, mobile), (phone, office)))
            for pk, name, email_value, mobile, office in rows.iterator(chunk_size=5000))


@functools.cache
def _has_database_rules() -> bool:
    meta = Contact._meta
    return bool(meta.constraints or meta.unique_together or any(f.unique and not f.primary_key for f in meta.fields))


_TEXT, _BOOL, _DATE, _DATETIME, _SLOW = range(5)
_TEXT_FIELDS = (models.CharField, models.TextField, models.EmailField)


class _FieldCheck(NamedTuple):
    field: models.Field[Any, Any]
    name: str
    attname: str
    blank: bool
    empty_values: list[Any]
    kind: int
    max_length: int | None
    email: bool


def _field_check(model_field: models.Field[Any, Any]) -> _FieldCheck:
    """How :func:`clean_fields` checks one field: a kind with a fast test, or ``_SLOW`` (Django's own ``clean``)."""
    kind, max_length, email = _SLOW, None, False
    validators = list(model_field.validators)
    if model_field.choices is None and model_field.editable:
        if type(model_field) in _TEXT_FIELDS:
            kind = _TEXT
            for validator in validators:
                if type(validator) is MaxLengthValidator and isinstance(validator.limit_value, int):
                    max_length = min(validator.limit_value, max_length or validator.limit_value)
                elif type(validator) is EmailValidator and validator == EmailValidator():
                    email = True
                else:
                    kind = _SLOW
        elif not validators:
            kind = {models.BooleanField: _BOOL, models.DateField: _DATE,
                    models.DateTimeField: _DATETIME}.get(type(model_field), _SLOW)
    return _FieldCheck(model_field, model_field.name, model_field.attname, model_field.blank,
                       list(model_field.empty_values), kind, max_length, email)


@functools.cache
def _field_checks(model: type[models.Model]) -> tuple[_FieldCheck, ...]:
    return tuple(_field_check(f) for f in model._meta.fields)


def _passes(check: _FieldCheck, value: Any) -> bool:
    """Whether Django's ``field.clean(value)`` surely accepts ``value`` and returns it unchanged."""
    kind = check.kind
    if kind == _TEXT:
        # CharField/TextField.to_python keep a str; validate() only refuses "" when blank=False
        # (and None); the validators are the max length and, for EmailField, Django's EmailValidator,
        # which accepts every address that PLAIN_EMAIL_RE matches (test_normalize proves it).
        return (type(value) is str and value != "" and (check.max_length is None or len(value) <= check.max_length)
                and (not check.email or (len(value) <= 254 and PLAIN_EMAIL_RE.fullmatch(value) is not None)))
    if kind == _BOOL:
        return type(value) is bool
    if kind == _DATE:
        return type(value) is date
    if kind == _DATETIME:
        return type(value) is datetime
    return False


@functools.cache
def _failing_defaults(model: type[models.Model]) -> frozenset[str]:
    """The fields whose value in a new ``model()`` does not pass validation (a required name left blank)."""
    blank = model()
    failing = set()
    for check in _field_checks(model):
        try:
            check.field.clean(getattr(blank, check.attname), blank)
        except ValidationError as failure:
            forget_frames(failure)
            failing.add(check.name)
    return frozenset(failing)


def clean_fields(instance: models.Model, exclude: Iterable[str] = (),
                 changed: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``instance.full_clean(exclude, validate_unique=False, validate_constraints=False)``'s field errors
    (``{field: [messages]}``, empty when valid), with the per-field checks decided once per model.

    The common values (a str within the max length, a bool, a date) are accepted by a direct
    test that implies what Django's ``Field.clean`` would do (same result, value unchanged);
    anything else goes through ``Field.clean`` itself, exactly as ``Model.clean_fields`` calls
    it, and ``Model.clean()`` runs when the model overrides it. ``changed`` names the only fields
    set since ``instance`` was made as a new ``model()``: the others hold their defaults, whose
    answer is the same every time (:func:`_failing_defaults`), so only those are checked again.
    """
    errors: dict[str, list[ValidationError]] = {}
    for check in _unsure(_checks(type(instance), exclude, changed), instance.__dict__):
        try:
            value = getattr(instance, check.attname)  # also a deferred field, which the values lack
            setattr(instance, check.attname, check.field.clean(value, instance))
        except ValidationError as failure:
            forget_frames(failure)  # else it holds this frame, which holds it: a cycle only the GC frees
            errors[check.name] = failure.error_list
    failures: dict[str, Any] = {}
    if errors:
        failures = ValidationError(errors).update_error_dict(failures)
    if type(instance).clean is not models.Model.clean:
        try:
            instance.clean()
        except ValidationError as failure:
            failures = failure.update_error_dict(failures)
    if not failures:
        return {}
    return ValidationError(failures).message_dict


def clean_values(model: type[models.Model], values: dict[str, Any], exclude: Iterable[str] = (),
                 changed: Iterable[str] | None = None) -> dict[str, list[str]]:
    """:func:`clean_fields` of a new ``model`` record held as its column values (``values`` by attname).

    When every value passes the direct tests (and the model has no ``clean()`` of its own) nothing
    else is needed; otherwise an instance is made of the values, :func:`clean_fields` checks it, and
    the values it converted are written back into ``values``.
    """
    checks = _checks(model, exclude, changed)
    if model.clean is models.Model.clean and not _unsure(checks, values):
        return {}
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    errors = clean_fields(instance, exclude, changed)
    for check in checks:
        values[check.attname] = instance.__dict__[check.attname]
    return errors


def _checks(model: type[models.Model], exclude: Iterable[str], changed: Iterable[str] | None,
            ) -> tuple[_FieldCheck, ...]:
    """The checks of the fields set (``changed``; all when None) and the failing defaults, less ``exclude``."""
    key = (model, tuple(exclude), None if changed is None else tuple(changed))
    found = _CHECKS.get(key)
    if found is None:
        if len(_CHECKS) > 1000:  # a long-lived worker meets many mappings: keep the memo small
            _CHECKS.clear()
        found = _CHECKS[key] = _choose_checks(model, key[1], key[2])
    return found


_CHECKS: dict[tuple[Any, ...], tuple[_FieldCheck, ...]] = {}
""":func:`_checks` by its arguments: an import's rows set the same few combinations of fields."""


def _choose_checks(model: type[models.Model], exclude: Iterable[str], changed: Iterable[str] | None,
                   ) -> tuple[_FieldCheck, ...]:
    checks = _field_checks(model)
    if changed is not None:  # those fields (and the failing defaults), in the model's order
        wanted = frozenset(changed) | _failing_defaults(model)
        checks = tuple(check for check in checks if check.name in wanted)
    if exclude:
        excluded = frozenset(exclude)
        checks = tuple(check for check in checks if check.name not in excluded)
    return checks


_ABSENT = object()


def _unsure(checks: Iterable[_FieldCheck], values: Mapping[str, Any]) -> list[_FieldCheck]:
    """The checks whose value the direct tests cannot accept: those need Django's ``Field.clean``."""
    unsure = []
    for check in checks:
        value = values.get(check.attname, _ABSENT)
        kind = check.kind
        if kind == _TEXT and type(value) is str:  # the commonest case first, inline
            if value == "":
                if check.blank:
                    continue
            elif (check.max_length is None or len(value) <= check.max_length) and (
                    not check.email or (len(value) <= 254 and PLAIN_EMAIL_RE.fullmatch(value) is not None)):
                continue
        elif value is _ABSENT:
            pass
        elif value is None and check.blank:
            continue
        elif check.blank and value in check.empty_values:
            continue
        elif _passes(check, value):
            continue
        unsure.append(check)
    return unsure


@functools.cache
def _blank_contact() -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]] | None:
    """What ``Contact()`` sets: its attributes, and the fields whose default is made per instance
    (None when something listens to the model's init signals: then ``Contact()`` runs)."""
    if signals.pre_init.has_listeners(Contact) or signals.post_init.has_listeners(Contact):
        return None
    template = Contact()
    attributes = {name: value for name, value in template.__dict__.items() if name != "_state"}
    fresh = tuple((f.attname, f.get_default) for f in Contact._meta.concrete_fields
                  if f.has_default() and callable(f.default))
    return attributes, fresh


def new_contact() -> Contact:
    """``Contact()``, built from a copy of a blank one's attributes instead of the field-by-field ``__init__``
    (the same attributes, state and fresh per-instance defaults: ``test_new_contact_is_contact``)."""
    blank = _blank_contact()
    if blank is None:
        return Contact()
    attributes, fresh = blank
    contact = Contact.__new__(Contact)
    contact.__dict__.update(attributes)
    for attname, default in fresh:
        contact.__dict__[attname] = default()
    contact._state = ModelState()
    return contact


class NewContact:
    """A contact that :func:`prepare_contact` validated and :func:`save_contacts` inserts, held as its
    column values (``values`` by attname) and the records its foreign keys name (``owner``,
    ``account``) rather than as a ``Contact``: building a model instance and reading it back through
    its field descriptors cost more than all the rest of an imported row. To the import engine it
    reads like the contact: ``pk`` (set when its key is reserved), ``str()`` as ``Contact.__str__``,
    and each column as an attribute."""

    __slots__ = ("account", "label", "owner", "pk", "values")
    pk: Any

    def __init__(self, values: dict[str, Any], owner: Any, account: Any) -> None:
        self.values, self.owner, self.account, self.pk = values, owner, account, None
        self.label: str = Contact.__str__(self)  # type: ignore[arg-type]  # it reads the contact's columns

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __str__(self) -> str:
        return self.label

    @classmethod
    def of(cls, contact: Contact) -> NewContact:
        """The column values of a new ``contact`` instance (and the owner and account it holds)."""
        cached = contact._state.fields_cache
        return cls({f.attname: getattr(contact, f.attname) for f in Contact._meta.concrete_fields},
                   cached.get("owner"), cached.get("account"))


@functools.cache
def _contact_columns() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[str, str]]]:
    """The attnames a new contact's row is inserted with (all concrete fields but the key, in the model's
    order), those stamped with the time of writing (``auto_now``/``auto_now_add``), and for each foreign
    key by field name its attname and the attname of the field it points to (what assigning a record
    copies: ``record.__dict__[target]``, without the ``pk`` property's lookups)."""
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    stamped = tuple(f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
    relations = {f.name: (f.attname, f.target_field.attname) for f in fields if isinstance(f, models.ForeignKey)}
    return tuple(f.attname for f in fields), stamped, relations


_CUSTOM_DEFAULTS = ("crm.contact", "custom field defaults")


def prepare_contact(data: Mapping[str, Any], context: Any) -> NewContact:
    """Everything ``create_contact(data, allow_duplicate=True)`` does before it saves, without writing.

    Same normalisation, same assignment and consent stamps, same validation and the same
    ValidationFailed; the import engine matched duplicates already (the batch's policy decides).
    ``context`` is the engine's ``BuildContext`` (``context.user`` imports). Foreign keys the
    import resolved among readable records (owner, account) are not looked up again; any other
    account goes through ``access.check_reference`` as in the service. Linked "other accounts"
    are not importable, so a prepared contact has none.

    The contact is built as its column values (:class:`NewContact`): a blank ``Contact()``'s
    attributes with the row's values set as ``records.assign`` sets them, validated by
    :func:`clean_values` of the fields set (``full_clean``'s checks, decided once per model; contacts
    have no unique fields or constraints). Anything out of the ordinary (a foreign key that is not a
    record of its model, listeners to the model's init signals, database rules) goes through a real
    ``Contact`` and ``full_clean`` instead.
    """
    actor = context.user
    values, errors = services._normalize_contact(data)  # noqa: SLF001 - the contact services' own rules
    values.setdefault("owner", actor)
    account = values.get("account")
    if account is not None and getattr(account, "_import_readable_by", None) != actor.pk:
        access.check_reference(actor, account, field="account")
    blank = _blank_contact()
    if (blank is None or _has_database_rules() or not isinstance(values["owner"], User)
            or not (account is None or isinstance(account, Account))):
        return NewContact.of(_prepare_instance(values, errors, actor, context))
    custom_defaults = None
    if "custom_fields" not in values:  # the same defaults for every row of the run: validated once
        custom_defaults = context.cache.get(_CUSTOM_DEFAULTS)
        if custom_defaults is None:
            custom_defaults = context.cache[_CUSTOM_DEFAULTS] = validate_custom_values(Contact, {}, user=actor)
    attributes, fresh = blank
    row = attributes.copy()
    for attname, default in fresh:
        row[attname] = default()
    # what records.assign does, in its order: custom values, unknown names, then each field
    if custom_defaults is None:
        row["custom_data"] = validate_custom_values(Contact, values.pop("custom_fields"), user=actor)
        changed = [*values, "custom_data"]
    else:
        row["custom_data"] = records.copy_custom_data(custom_defaults)
        changed = list(values)  # the defaults are valid JSON
    records.refuse_unknown(values, services.CONTACT_WRITABLE_FIELDS)
    relations = _contact_columns()[2]
    for name, value in values.items():
        if name in relations:
            attname, target = relations[name]
            row[attname] = None if value is None else value.__dict__[target]
        elif name != "accounts":
            row[name] = value.strip() if isinstance(value, str) else value
    for flag, stamp in services.CONTACT_CONSENTS:
        if row[flag]:
            row[stamp] = _now()
            changed.append(stamp)
    fields = {name: list(messages) for name, messages in errors.items()}
    verified = [name for name in ("owner", "account") if row[relations[name][0]] is not None]
    for name, messages in clean_values(Contact, row, verified, changed).items():
        fields.setdefault(name, []).extend(messages)
    if fields:
        raise ValidationFailed(gettext("Please correct the errors below."), fields=fields)
    return NewContact(row, values["owner"], account)


def _prepare_instance(values: dict[str, Any], errors: dict[str, list[str]], actor: Any, context: Any) -> Contact:
    """:func:`prepare_contact` through a ``Contact`` instance (``records.assign``, ``full_clean``)."""
    contact = new_contact()
    records.assign(contact, values, writable=services.CONTACT_WRITABLE_FIELDS, actor=actor, skip=("accounts",))
    for flag, stamp in services.CONTACT_CONSENTS:
        if getattr(contact, flag):
            setattr(contact, stamp, _now())
    fields = {name: list(messages) for name, messages in errors.items()}
    verified = [name for name in ("owner", "account") if getattr(contact, f"{name}_id") is not None]
    try:
        contact.full_clean(exclude=verified, validate_unique=_has_database_rules(),
                           validate_constraints=_has_database_rules())
    except ValidationError as failure:
        forget_frames(failure)
        for name, messages in failure.message_dict.items():
            fields.setdefault(name, []).extend(str(message) for message in messages)
    if fields:
        raise ValidationFailed(gettext("Please correct the errors below."), fields=fields)
    return contact


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def save_contacts(contacts: list[NewContact], actor: Any, writes: Any) -> None:
    """Insert prepared contacts at once through the engine's write group ``writes`` (``insert_values``:
    rows without model instances; ``after_write``), with one "create" audit entry each and one
    ContactCreated event each (``publish_many``): what ``create_contact`` records, in bulk. The audit
    changes are ``audit.creation_changes_of`` the columns, which equals the service's
    ``diff(None, snapshot)`` (a new contact links no other accounts)."""
    columns, stamped, _ = _contact_columns()
    now = writes.now
    take = operator.itemgetter(*columns)
    rows = []
    for contact in contacts:
        values = contact.values
        for attname in stamped:
            values[attname] = now
        rows.append(take(values))
    for contact, key in zip(contacts, writes.insert_values(Contact, columns, rows, returning=True), strict=True):
        contact.pk = contact.values["id"] = key
    context = middleware_context.current()
    content_type = ContentType.objects.get_for_model(Contact).pk
    create = AuditEntry.Action.CREATE
    channel, request_id, actor_id, repr_max = context.channel, context.request_id, actor.pk, audit.REPR_MAX
    changes, references = audit.creation_changes_of, {}  # type: ignore[var-annotated]
    writes.insert_values(AuditEntry, AUDIT_COLUMNS, [
        (content_type, str(contact.pk), str(contact)[:repr_max], create, actor_id, channel, request_id, now,
         changes(Contact, contact.values, {"owner": contact.owner, "account": contact.account}, references))
        for contact in contacts])
    publish_many([ContactCreated(contact_id=contact.pk, account_id=contact.values["account_id"],
                                 owner_id=contact.values["owner_id"], actor_id=actor_id) for contact in contacts],
                 insert_values=writes.insert_values, after_write=writes.after_write)


AUDIT_COLUMNS = ("content_type", "object_id", "object_repr", "action", "actor", "channel", "request_id", "at",
                 "changes")


# Read by bizloom.integration (IntegrationConfig.ready): CRM stays below integration in the
# layers, so it describes its imports as plain keyword arguments of ImportDeclaration.
IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.account",
    "model": Account,
    "label": _("Accounts"),
    "field_names": ACCOUNT_IMPORT_FIELDS,
    "required": ("name",),
    "synonyms": SYNONYMS,
    "build": build_account,
    "create": lambda data, actor: services.create_account(data, actor=actor),
    "update": lambda account, data, actor: services.update_account(account, data, actor=actor),
    "delete": lambda account, actor: services.delete_account(account, actor=actor),
    "natural_keys": ("code",),
    "duplicate_fields": ACCOUNT_FIELDS,
    "duplicate_records": _readable_accounts,
    "custom_fields": True,
}, {
    "key": "crm.contact",
    "model": Contact,
    "label": _("Contacts"),
    "field_names": CONTACT_IMPORT_FIELDS,
    "required": ("name",),
    "synonyms": CONTACT_SYNONYMS,
    "build": build_contact,
    "create": lambda data, actor: services.create_contact(data, actor=actor, allow_duplicate=True),
    "update": lambda contact, data, actor: services.update_contact(contact, data, actor=actor),
    "delete": lambda contact, actor: services.delete_contact(contact, actor=actor),
    "duplicate_fields": CONTACT_FIELDS,
    "duplicate_keys": _readable_contact_keys,
    "duplicate_variants": _contact_variants,
    "duplicate_name_key": person_key,
    "prepare": prepare_contact,
    "bulk_save": save_contacts,
    "custom_fields": True,
}]

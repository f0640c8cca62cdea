"""Custom fields: administrator-defined, typed fields on any business model (issue #3).

A :class:`CustomField` row defines one field of one model (its content type). Values live
in the record's ``custom_data`` JSON object (added by :class:`CustomFieldsMixin`) under the
field's ``key``, stored in a JSON-safe form:

=============  =========================================
type           stored value
=============  =========================================
text, long     string
integer        JSON number (int)
decimal        string (``"1250.50"``; never a float)
date           ISO string ``"2025-01-31"``
datetime       ISO string in UTC ``"2025-01-31T08:00:00+00:00"``
boolean        true / false
choice         the choice's value
multi choice   list of choice values
reference      the referenced record's primary key (int)
email/phone/   string
url
=============  =========================================

An empty value is never stored: the key is removed. Everywhere else (access field rules,
audit, list columns and filters, API errors in forms) a custom field is called ``cf_<key>``.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

CUSTOM_DATA_FIELD = "custom_data"
PREFIX = "cf_"
KEY_MAX_LENGTH = 40
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Lookup and transform names of JSONField: a key named like one would be read as that
# lookup in ``custom_data__<key>`` queries.
RESERVED_KEYS = frozenset({
    "exact", "iexact", "contains", "icontains", "contained_by", "in", "gt", "gte", "lt", "lte", "startswith",
    "istartswith", "endswith", "iendswith", "range", "isnull", "regex", "iregex", "has_key", "has_keys",
    "has_any_keys", "pk", "id", "year", "month", "day", "date", "time",
})
CHOICE_VALUE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")


class CustomFieldsMixin(models.Model):
    """Adds ``custom_data``: the values of the model's custom fields, keyed by field key.

    Write it only through a service that calls
    :func:`bizloom.platform.customfields.services.validate_custom_values`.
    """

    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True


class CustomField(models.Model):
    """The definition of one custom field of one business model.

    Invariants: ``key`` is a lowercase identifier, unique per content type and never
    changed after creation; ``choices`` (choice types only) is a list of
    ``{"value", "label_en", "label_zh_hans", "label_zh_hant"}`` with unique values;
    ``target_content_type`` is set exactly for references; ``default`` holds a stored-form
    value (see the module docstring). Type changes, choice removals and deletions go
    through :mod:`~bizloom.platform.customfields.services`, which refuse to lose values.
    """

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        INTEGER = "integer", _("Integer")
        DECIMAL = "decimal", _("Decimal")
        DATE = "date", _("Date")
        DATETIME = "datetime", _("Date and time")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Single choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        REFERENCE = "reference", _("Reference to a record")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        URL = "url", _("URL")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("model"))
    key = models.CharField(_("key"), max_length=KEY_MAX_LENGTH,
                           help_text=_("Lowercase letters, digits and underscores; cannot be changed later."))
    type = models.CharField(_("type"), max_length=20, choices=Type, default=Type.TEXT)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    label_zh_hans = models.CharField(_("label (Simplified Chinese)"), max_length=100, blank=True)
    label_zh_hant = models.CharField(_("label (Traditional Chinese)"), max_length=100, blank=True)
    help_en = models.CharField(_("help text (English)"), max_length=300, blank=True)
    help_zh_hans = models.CharField(_("help text (Simplified Chinese)"), max_length=300, blank=True)
    help_zh_hant = models.CharField(_("help text (Traditional Chinese)"), max_length=300, blank=True)
    is_required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    target_content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+", verbose_name=_("refers to"))
    order = models.IntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["content_type", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["content_type", "key"], name="customfield_unique_key")]

    def __str__(self) -> str:
        return str(self.label)

    # --- names and labels --------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``cf_<key>``: the field's name in access rules, audit entries, lists and forms."""
        return f"{PREFIX}{self.key}"

    def _localised(self, prefix: str) -> str:
        language = (translation.get_language() or "en").lower()
        suffix = "zh_hant" if language.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")) else (
            "zh_hans" if language.startswith("zh") else "en")
        for name in (suffix, "en", "zh_hans", "zh_hant"):
            value = str(getattr(self, f"{prefix}_{name}", "") or "")
            if value:
                return value
        return ""

    @property
    def label(self) -> str:
        """The label in the active language, else English, else any label, else the key."""
        return self._localised("label") or self.key

    @property
    def help_text(self) -> str:
        """The help text in the active language, else English, else any."""
        return self._localised("help")

    def choice_options(self) -> list[tuple[str, str]]:
        """(value, label in the active language) of every choice, in order."""
        return [(str(c.get("value", "")), _choice_label(c)) for c in self.choices or []]

    def choice_label(self, value: Any) -> str:
        """The label of choice ``value`` (the value itself when it is not a choice any more)."""
        for choice in self.choices or []:
            if choice.get("value") == value:
                return _choice_label(choice)
        return str(value)

    @property
    def choice_values(self) -> list[str]:
        """The choice values, in order."""
        return [str(c.get("value", "")) for c in self.choices or []]

    @property
    def has_choices(self) -> bool:
        """Whether the type takes its values from ``choices``."""
        return self.type in (self.Type.CHOICE, self.Type.MULTI_CHOICE)

    def target_model(self) -> builtins.type[models.Model] | None:
        """The model a reference field points at."""
        if self.type != self.Type.REFERENCE or self.target_content_type_id is None:
            return None
        return self.target_content_type.model_class()  # type: ignore[union-attr]

    # --- one-row validation ------------------------------------------------------------------

    def clean(self) -> None:
        """Key syntax, at least one label, choices well formed, a target exactly for references."""
        errors: dict[str, list[str]] = {}
        if not KEY_PATTERN.match(self.key or "") or self.key in RESERVED_KEYS:
            errors.setdefault("key", []).append(str(_(
                "Use lowercase letters, digits and single underscores, starting with a letter "
                "(not a reserved word such as “%(example)s”).") % {"example": "contains"}))
        if not (self.label_en or self.label_zh_hans or self.label_zh_hant):
            errors.setdefault("label_en", []).append(str(_("Give the field a label in at least one language.")))
        if self.has_choices:
            if not self.choices:
                errors.setdefault("choices", []).append(str(_("A choice field needs at least one choice.")))
            else:
                errors.update(_check_choices(self.choices))
        elif self.choices:
            errors.setdefault("choices", []).append(str(_("Only choice fields have choices.")))
        if self.type == self.Type.REFERENCE:
            if self.target_content_type_id is None:
                errors.setdefault("target_content_type", []).append(str(_("Choose the kind of record it refers to.")))
        elif self.target_content_type_id is not None:
            errors.setdefault("target_content_type", []).append(str(_("Only reference fields refer to records.")))
        if errors:
            raise ValidationError(errors)


def _choice_label(choice: dict[str, Any]) -> str:
    language = (translation.get_language() or "en").lower()
    suffix = "zh_hant" if language.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")) else (
        "zh_hans" if language.startswith("zh") else "en")
    for name in (suffix, "en", "zh_hans", "zh_hant"):
        value = str(choice.get(f"label_{name}", "") or "")
        if value:
            return value
    return str(choice.get("value", ""))


def _check_choices(choices: Any) -> dict[str, list[str]]:
    if not isinstance(choices, list):
        return {"choices": [str(_("Choices must be a list."))]}
    seen: set[str] = set()
    for choice in choices:
        value = choice.get("value") if isinstance(choice, dict) else None
        if not isinstance(value, str) or not CHOICE_VALUE_PATTERN.match(value):
            return {"choices": [str(_("“%(value)s” is not a valid choice value: use Latin letters, digits, “_”, “-” "
                                      "or “.”, at most 50.") % {"value": value})]}
        if value in seen:
            return {"choices": [str(_("The choice value “%(value)s” appears twice.") % {"value": value})]}
        seen.add(value)
    return {}

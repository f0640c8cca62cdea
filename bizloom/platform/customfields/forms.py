"""Custom fields in forms: :class:`CustomFieldsFormMixin` adds a form field per active custom field.

::

    class AccountForm(CustomFieldsFormMixin, forms.ModelForm[Account]):
        custom_fields_model = Account          # default: Meta.model

    form = AccountForm(request.POST, instance=account, user=request.user)
    data = split_custom_values(form.cleaned_data)  # {"name": ..., "custom_fields": {"source": "web"}}
    services.update_account(account, data, actor=user)

Form fields are named ``cf_<key>``, so access field rules on ``cf_<key>`` hide or disable
them (``forms_kit.form_page``) and service errors keyed ``cf_<key>`` land on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.db import models
from django.utils import timezone

from bizloom.platform import access
from bizloom.platform.customfields import selectors, values
from bizloom.platform.customfields.models import CUSTOM_DATA_FIELD, PREFIX, CustomField

T = CustomField.Type
CUSTOM_FIELDS_KEY = "custom_fields"


def form_field(field: CustomField, user: Any = None) -> forms.Field:
    """The Django form field (and widget) for ``field``, labelled in the active language."""
    common: dict[str, Any] = {"label": field.label, "help_text": field.help_text, "required": field.is_required}
    kind = field.type
    if kind == T.LONG_TEXT:
        return forms.CharField(max_length=values.LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
                               **common)
    if kind == T.INTEGER:
        return forms.IntegerField(min_value=values.INTEGER_MIN, max_value=values.INTEGER_MAX, **common)
    if kind == T.DECIMAL:
        return forms.DecimalField(max_digits=values.DECIMAL_MAX_DIGITS, decimal_places=values.DECIMAL_MAX_PLACES,
                                  **common)
    if kind == T.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if kind == T.DATETIME:
        return forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                              format="%Y-%m-%dT%H:%M"), **common)
    if kind == T.BOOLEAN:
        common["required"] = False
        return forms.BooleanField(**common)
    if kind == T.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *field.choice_options()], **common)
    if kind == T.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=field.choice_options(), widget=forms.CheckboxSelectMultiple,
                                         **common)
    if kind == T.REFERENCE:
        target = field.target_model()
        queryset = target._default_manager.all() if target is not None else CustomField.objects.none()
        if user is not None and target is not None:
            queryset = access.restrict(queryset, user, "view")
        return forms.ModelChoiceField(queryset=queryset, empty_label="—", **common)
    if kind == T.EMAIL:
        return forms.EmailField(max_length=254, **common)
    if kind == T.PHONE:
        return forms.CharField(max_length=32, **common)
    if kind == T.URL:
        return forms.URLField(max_length=values.URL_MAX_LENGTH, assume_scheme="https", **common)
    return forms.CharField(max_length=values.TEXT_MAX_LENGTH, **common)


def initial_value(field: CustomField, stored: Any) -> Any:
    """A stored value as the form field's initial value."""
    value = values.to_python(field, stored)
    if field.type == T.DATETIME and hasattr(value, "tzinfo") and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class CustomFieldsFormMixin(_FormBase):
    """Adds ``cf_<key>`` fields for the active custom fields of ``custom_fields_model``
    (default: the ModelForm's model), after the declared fields.

    Takes an optional ``user`` keyword (reference choices are limited to records the user
    may view). Initial values come from the instance's ``custom_data``, or the defaults on
    a new record.
    """

    custom_fields_model: type[models.Model] | None = None

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.custom_fields_model or getattr(getattr(self, "_meta", None), "model", None)
        self.custom_field_definitions = selectors.definitions_for(model) if model is not None else []
        instance = getattr(self, "instance", None)
        stored = getattr(instance, CUSTOM_DATA_FIELD, None) or {}
        is_new = instance is None or instance.pk is None
        for field in self.custom_field_definitions:
            self.fields[field.name] = form_field(field, user)
            value = stored.get(field.key) if isinstance(stored, dict) else None
            if value is None and is_new:
                value = field.default
            if value is not None and field.name not in self.initial:
                self.initial[field.name] = initial_value(field, value)


def split_custom_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form data with the ``cf_<key>`` entries moved into ``data["custom_fields"]`` as the services
    take them (records become ids; nothing is added when the form had no custom fields)."""
    result: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in data.items():
        if name.startswith(PREFIX):
            custom[name[len(PREFIX):]] = value.pk if isinstance(value, models.Model) else value
        else:
            result[name] = value
    if custom:
        result[CUSTOM_FIELDS_KEY] = custom
    return result

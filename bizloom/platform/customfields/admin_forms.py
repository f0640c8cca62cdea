"""The settings form of a custom field definition (field validation only; the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from bizloom.platform import access
from bizloom.platform.customfields import selectors
from bizloom.platform.customfields.models import KEY_MAX_LENGTH, CustomField

LANGUAGES = ("en", "zh_hans", "zh_hant")


def model_choices(*, with_custom_fields: bool) -> list[tuple[str, str]]:
    """("app.model", "App: Records") for business models (only those holding custom fields when asked)."""
    found = []
    for model in access.business_models():
        if with_custom_fields and not selectors.has_custom_fields(model):
            continue
        app_name = apps.get_app_config(model._meta.app_label).verbose_name
        found.append((model._meta.label_lower, f"{app_name}: {capfirst(model._meta.verbose_name_plural)}"))
    return found


def parse_choices(text: str) -> list[dict[str, str]]:
    """One choice per line, ``value | English | 简体中文 | 繁體中文`` (labels optional) → choice dicts."""
    choices = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        value = parts[0]
        labels = [*parts[1:4], "", "", ""][:3]
        choices.append({"value": value, **{f"label_{lang}": label for lang, label in zip(LANGUAGES, labels,
                                                                                          strict=True)}})
    return choices


def format_choices(choices: list[dict[str, Any]]) -> str:
    """The inverse of :func:`parse_choices`."""
    lines = []
    for choice in choices or []:
        parts = [str(choice.get("value", ""))] + [str(choice.get(f"label_{lang}", "")) for lang in LANGUAGES]
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def format_default(value: Any) -> str:
    """A stored default as the text box shows it (lists comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CustomFieldForm(forms.Form):
    """Create (with model and key) or edit (without: they never change) a custom field definition."""

    content_type = forms.ChoiceField(label=_("Record type"))
    key = forms.CharField(label=_("Key"), max_length=KEY_MAX_LENGTH,
                          help_text=_("Lowercase letters, digits and underscores, e.g. customer_source. "
                                      "Used in the API (cf_<key>) and cannot be changed later."))
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    label_en = forms.CharField(label=_("Label (English)"), max_length=100, required=False)
    label_zh_hans = forms.CharField(label=_("Label (Simplified Chinese)"), max_length=100, required=False)
    label_zh_hant = forms.CharField(label=_("Label (Traditional Chinese)"), max_length=100, required=False)
    help_en = forms.CharField(label=_("Help text (English)"), max_length=300, required=False)
    help_zh_hans = forms.CharField(label=_("Help text (Simplified Chinese)"), max_length=300, required=False)
    help_zh_hant = forms.CharField(label=_("Help text (Traditional Chinese)"), max_length=300, required=False)
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Choice fields: one per line, “value | English | 简体中文 | 繁體中文”, "
                    "e.g. “web | Website | 官网”."))
    target_content_type = forms.ChoiceField(label=_("Refers to"), required=False,
                                            help_text=_("Reference fields: the kind of record they point at."))
    default = forms.CharField(label=_("Default"), max_length=300, required=False,
                              help_text=_("Filled in on new records; several choices comma-separated."))
    is_required = forms.BooleanField(label=_("Required"), required=False)
    order = forms.IntegerField(label=_("Order"), initial=0, min_value=-10_000, max_value=10_000)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, definition: CustomField | None = None, **kwargs: Any) -> None:
        if definition is not None:
            kwargs.setdefault("initial", {
                "type": definition.type, "is_required": definition.is_required, "order": definition.order,
                "is_active": definition.is_active, "choices": format_choices(definition.choices),
                "default": format_default(definition.default),
                "target_content_type": (f"{definition.target_content_type.app_label}."
                                        f"{definition.target_content_type.model}"
                                        if definition.target_content_type is not None else ""),
                **{name: getattr(definition, name) for name in (
                    "label_en", "label_zh_hans", "label_zh_hant", "help_en", "help_zh_hans", "help_zh_hant")},
            })
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.fields["content_type"].choices = model_choices(with_custom_fields=True)  # type: ignore[attr-defined]
        self.fields["target_content_type"].choices = [  # type: ignore[attr-defined]
            ("", "—"), *model_choices(with_custom_fields=False)]
        if definition is not None:
            del self.fields["content_type"]
            del self.fields["key"]

    def service_data(self) -> dict[str, Any]:
        """The cleaned values as :mod:`~bizloom.platform.customfields.services` takes them."""
        data = dict(self.cleaned_data)
        data["choices"] = parse_choices(data.get("choices", ""))
        data["target_content_type"] = data.get("target_content_type") or None
        data["default"] = data.get("default") or None
        if "key" in data:
            data["key"] = data["key"].strip()
        return data

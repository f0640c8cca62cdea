"""The sequence form of the numbering settings page; the pattern rules live in ``patterns``/services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.platform.numbering import patterns
from bizloom.platform.numbering.models import NumberSequence


class SequenceForm(forms.Form):
    """Document type (only when creating), name, pattern and reset period."""

    doc_type = forms.RegexField(label=_("Document type"), max_length=100, regex=r"^[a-z][a-z0-9_.-]*$",
                                error_messages={"invalid": _("Use lower-case letters, digits, dots, dashes "
                                                             "and underscores, e.g. sales.order.")})
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    pattern = forms.CharField(label=_("Pattern"), max_length=100,
                              help_text=_("Tokens: {yyyy} {yy} {mm} {dd} {seq} {seq:05}; anything else is literal."))
    reset_period = forms.ChoiceField(label=_("Reset"), choices=NumberSequence.Reset.choices,
                                     initial=NumberSequence.Reset.AUTO)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["doc_type"]

    def clean(self) -> dict[str, Any]:
        """Show pattern errors (unknown token, missing {seq}, reset finer than the pattern) on their fields."""
        data = super().clean() or {}
        if "pattern" in data and "reset_period" in data:
            try:
                patterns.effective_reset(patterns.parse(data["pattern"]), data["reset_period"])
            except ValidationFailed as error:
                for field, messages in error.fields.items():
                    for message in messages:
                        self.add_error(field if field in self.fields else None, message)
        return data

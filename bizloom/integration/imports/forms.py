"""Import forms: field validation only; the services apply the rules (issue #5)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.integration.imports.declarations import ImportDeclaration

ENCODINGS = [
    ("", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 with BOM")),
    ("gb18030", _("GBK / GB18030 (Simplified Chinese Excel)")),
    ("big5", _("Big5 (Traditional Chinese)")),
    ("utf-16", "UTF-16"),
]
DUPLICATE_CHOICES = [
    ("skip", _("Skip the row")),
    ("update", _("Update the existing record")),
    ("create", _("Create a new record anyway")),
]


class UploadForm(forms.Form):
    """Object type, file, encoding override, sheet, source name and duplicate policy."""

    declaration = forms.ChoiceField(label=_("Object type"))
    file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8, GBK, UTF-16) or Excel .xlsx."))
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    sheet = forms.CharField(label=_("Sheet"), max_length=100, required=False,
                            help_text=_("Excel only: the sheet name; the first sheet when empty."))
    source = forms.CharField(label=_("Source system"), max_length=100, required=False,
                             help_text=_("Where the file comes from (e.g. “old CRM”): names saved mappings and "
                                         "external ids."))
    duplicates = forms.ChoiceField(label=_("Duplicates"), choices=DUPLICATE_CHOICES, initial="skip")
    confirm_same_file = forms.BooleanField(label=_("Import this file again"), required=False)

    def __init__(self, *args: Any, declarations: list[ImportDeclaration], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["declaration"].choices = [(d.key, d.label) for d in declarations]  # type: ignore[attr-defined]


class EncodingForm(forms.Form):
    """Read the stored file again with another encoding or sheet."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    sheet = forms.CharField(label=_("Sheet"), max_length=100, required=False)


class MappingForm(forms.Form):
    """One select per column of the file (``col_<n>``), the options and "save as template"."""

    duplicates = forms.ChoiceField(label=_("Duplicates"), choices=DUPLICATE_CHOICES)
    source = forms.CharField(label=_("Source system"), max_length=100, required=False)
    save_template = forms.BooleanField(label=_("Save this mapping for files from this source"), required=False)

    def __init__(self, *args: Any, headers: list[str], field_choices: list[tuple[str, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("— not imported —")), *field_choices]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(label=header, choices=choices, required=False)

    def column_fields(self) -> list[forms.BoundField]:
        """The bound selects of the columns, in file order."""
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """Header → field key of the mapped columns (after ``is_valid``)."""
        return {header: self.cleaned_data[f"col_{index}"] for index, header in enumerate(self.headers)
                if self.cleaned_data.get(f"col_{index}")}

"""The preferences form: two checkboxes per declared notification kind."""

from __future__ import annotations

from typing import Any

from django import forms

from bizloom.platform.notifications.kinds import all_kinds
from bizloom.platform.notifications.services import get_preference


class PreferencesForm(forms.Form):
    """Fields ``<kind>__in_app`` and ``<kind>__email`` for every kind, initialised from the stored choice."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        for kind in all_kinds():
            preference = get_preference(user, kind.key)
            in_app = f"{kind.key}__in_app"
            email = f"{kind.key}__email"
            self.fields[in_app] = forms.BooleanField(required=False, initial=preference.in_app, label=kind.label)
            self.fields[email] = forms.BooleanField(required=False, initial=preference.email, label=kind.label)
            self.rows.append({"kind": kind, "in_app": self[in_app], "email": self[email]})

    def choices(self) -> dict[str, tuple[bool, bool]]:
        """``{kind: (in_app, email)}`` from the cleaned data."""
        return {row["kind"].key: (bool(self.cleaned_data[row["in_app"].name]),
                                  bool(self.cleaned_data[row["email"].name])) for row in self.rows}

"""Forms of the integration settings pages (field validation only; rules live in services)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bizloom.integration.services import MAX_TOKEN_DAYS


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What the token is for, e.g. \"warehouse scanner\"."))
    days = forms.IntegerField(label=_("Expires after (days)"), min_value=1, max_value=MAX_TOKEN_DAYS,
                              initial=settings.API_TOKEN_DEFAULT_DAYS,
                              help_text=_("At most one year."))

"""Lead forms: field validation only; the services normalise values and apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.crm.leads.conversion import ConversionMatches
from bizloom.crm.models import Lead
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User

NEW = "new"


class LeadForm(CustomFieldsFormMixin, forms.ModelForm[Lead]):
    """Create/edit a lead. Name is required; the email, phones and tax id are plain text here
    because the service normalises them (full-width input, +86, USCC check) and reports errors
    on their fields. ``allow_duplicate`` ("create anyway") exists on the create form only and
    is shown once the service has refused a duplicate (its error lands on that field)."""

    class Meta:
        model = Lead
        fields = ["name", "position", "company", "company_code", "industry", "city", "mobile", "phone", "email",
                  "wechat_id", "website", "source", "campaign", "score", "owner", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4}),
                   "score": forms.NumberInput(attrs={"min": 0, "max": 100})}

    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    website = forms.URLField(label=_("Website"), max_length=200, required=False, assume_scheme="https")
    allow_duplicate = forms.BooleanField(label=_("Create anyway"), required=False, widget=forms.HiddenInput,
                                         help_text=_("Create this lead although a similar record exists."))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        if self.instance.pk is not None:
            del self.fields["allow_duplicate"]

    def add_error(self, field: str | None, error: Any) -> None:
        """Show the "create anyway" checkbox once a duplicate refusal is put on it."""
        if field == "allow_duplicate" and field in self.fields:
            self.fields[field].widget = forms.CheckboxInput()
        super().add_error(field, error)


class LeadStatusForm(forms.Form):
    """The new status of a lead, and the reason when it is not qualified."""

    status = forms.ChoiceField(label=_("Status"), choices=[
        (value, label) for value, label in Lead.Status.choices if value != Lead.Status.CONVERTED])
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ConversionForm(forms.Form):
    """Convert a lead: use an existing account and contact (the matches, best pre-selected) or
    create new ones, and optionally create an opportunity."""

    account = forms.ChoiceField(label=_("Account"), widget=forms.RadioSelect)
    contact = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect)
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False, initial=True)
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False,
                                       help_text=_("Leave empty for “<account> – new business”."))
    amount = forms.DecimalField(label=_("Amount"), max_digits=19, decimal_places=4, min_value=0, required=False)
    expected_close = forms.DateField(label=_("Expected close date"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, matches: ConversionMatches, lead: Lead, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matches = matches
        new_account = _("Create a new account “%(name)s”") % {"name": lead.company or lead.name}
        new_contact = _("Create a new contact “%(name)s”") % {"name": lead.name}
        self.fields["account"].choices = [  # type: ignore[attr-defined]
            *((str(hit.record.pk), f"{hit.record} — {hit.describe_rule()}") for hit in matches.accounts),
            (NEW, new_account)]
        self.fields["contact"].choices = [  # type: ignore[attr-defined]
            *((str(hit.record.pk), f"{hit.record} — {hit.describe_rule()}") for hit in matches.contacts),
            (NEW, new_contact)]
        self.fields["account"].initial = str(matches.account.pk) if matches.account else NEW
        self.fields["contact"].initial = str(matches.contact.pk) if matches.contact else NEW

    def chosen(self, name: str) -> Any:
        """The matched record chosen for ``name`` ("account" or "contact"), or None for "create new"."""
        value = self.cleaned_data[name]
        hits = self.matches.accounts if name == "account" else self.matches.contacts
        return next((hit.record for hit in hits if str(hit.record.pk) == value), None)

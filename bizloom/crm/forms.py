"""CRM forms: field validation only; services apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors
from bizloom.crm.models import Account, Contact
from bizloom.crm.normalize import InvalidValue, normalize_email, normalize_phone
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User


class AccountForm(CustomFieldsFormMixin, forms.ModelForm[Account]):
    """Create/edit an account. Name is required; tax id at most 32 characters; email checked.

    The account's active custom fields follow the declared fields (``cf_<key>``).
    """

    class Meta:
        model = Account
        fields = ["name", "code", "industry", "tier", "city", "phone", "email", "website", "annual_revenue",
                  "currency", "is_customer", "is_supplier", "owner", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    website = forms.URLField(label=_("Website"), max_length=200, required=False, assume_scheme="https")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "style": "text-transform:uppercase"})

    def clean_currency(self) -> str:
        """ISO code, upper case."""
        return (self.cleaned_data.get("currency") or "").strip().upper()


class ContactForm(CustomFieldsFormMixin, forms.ModelForm[Contact]):
    """Create/edit a contact. Name is required; email and phones are checked by the service
    (which also understands full-width input), so they are plain text here.

    The account choices are the accounts the user may view. ``allow_duplicate`` ("create
    anyway") exists on the create form only and is shown once the service has refused a
    duplicate (its error lands on that field).
    """

    class Meta:
        model = Contact
        fields = ["name", "account", "accounts", "position", "department", "mobile", "phone", "email", "wechat_id",
                  "birthday", "consent_email", "consent_sms", "owner", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4}), "birthday": forms.DateInput(attrs={"type": "date"})}

    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    allow_duplicate = forms.BooleanField(label=_("Create anyway"), required=False, widget=forms.HiddenInput,
                                         help_text=_("Create this contact although one with the same email or "
                                                     "phone exists."))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        # accounts the user may view, plus those the contact already has (kept, not lost, on save)
        choices = Q(pk__in=selectors.list_accounts(user, "view").values("pk")) if user is not None else Q(pk__in=[])
        if self.instance.pk is not None:
            choices |= Q(pk=self.instance.account_id) | Q(pk__in=self.instance.accounts.values("pk"))
        self.fields["account"].queryset = Account.objects.filter(choices)  # type: ignore[attr-defined]
        self.fields["accounts"].queryset = Account.objects.filter(choices)  # type: ignore[attr-defined]
        if self.instance.pk is not None:
            del self.fields["allow_duplicate"]

    def _normalized(self, name: str, normalize: Any) -> str:
        try:
            return str(normalize(self.cleaned_data.get(name) or ""))
        except InvalidValue as error:
            # the message stays lazy (translated when shown), as InvalidValue documents
            raise forms.ValidationError(error.message, code=error.code,  # type: ignore[arg-type]
                                        params=error.params) from error

    def clean_email(self) -> str:
        """Lower-cased and checked (full-width input understood), as the service stores it."""
        return self._normalized("email", normalize_email)

    def clean_mobile(self) -> str:
        """E.164 (mainland numbers without +86 understood), as the service stores it."""
        return self._normalized("mobile", normalize_phone)

    def clean_phone(self) -> str:
        """E.164 with ``;ext=`` for an extension, as the service stores it."""
        return self._normalized("phone", normalize_phone)

    def add_error(self, field: str | None, error: Any) -> None:
        """Show the "create anyway" checkbox once a duplicate refusal is put on it."""
        if field == "allow_duplicate" and field in self.fields:
            self.fields[field].widget = forms.CheckboxInput()
        super().add_error(field, error)

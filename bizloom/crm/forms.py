"""CRM forms: field validation only; services apply the business rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models import Account
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


class TransferOwnerForm(forms.Form):
    """The new owner for the bulk "transfer" action."""

    new_owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True).order_by("username"),
                                       label=_("New owner"), empty_label=_("New owner…"))

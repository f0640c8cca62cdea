"""Contract forms: field validation only; the services apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models import Account, Contact, Contract, Opportunity
from bizloom.platform import access
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User


class ContractForm(CustomFieldsFormMixin, forms.ModelForm[Contract]):
    """Create/edit a contract. The account, contact and opportunity choices are the records the
    user may view (plus the ones the contract already has); the service checks that the contact
    and the opportunity belong to the account."""

    class Meta:
        model = Contract
        fields = ["title", "account", "contact", "opportunity", "owner", "customer_reference", "amount", "currency",
                  "payment_terms", "signed_on", "start_date", "end_date", "renewal_notice_days", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4}),
                   "signed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "style": "text-transform:uppercase"})
        instance = self.instance
        for name, model in (("account", Account), ("contact", Contact), ("opportunity", Opportunity)):
            visible = Q(pk__in=access.restrict(model._default_manager.all(), user, "view").values("pk")) \
                if user is not None else Q(pk__in=[])
            current = getattr(instance, f"{name}_id", None) if instance.pk is not None else None
            if current is not None:
                visible |= Q(pk=current)
            self.fields[name].queryset = model._default_manager.filter(visible)  # type: ignore[attr-defined]
        if instance.pk is not None and instance.status != Contract.Status.DRAFT:
            self.fields["account"].disabled = True  # the account of a signed contract stays

    def clean_currency(self) -> str:
        """ISO code, upper case."""
        return (self.cleaned_data.get("currency") or "").strip().upper()


class ActivateForm(forms.Form):
    """The signing date needed to activate a contract."""

    signed_on = forms.DateField(label=_("Signed on"), widget=forms.DateInput(attrs={"type": "date"},
                                                                            format="%Y-%m-%d"))


class TerminateForm(forms.Form):
    """Why the contract ends early."""

    reason = forms.CharField(label=_("Reason"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}))


class SignedDocumentForm(forms.Form):
    """Upload the signed contract (a PDF or an image) or pick one already on the timeline."""

    file = forms.FileField(label=_("Signed document (PDF or image)"), required=False)
    attachment = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def clean(self) -> dict[str, Any]:
        """One of the two is needed."""
        data = super().clean() or {}
        if not data.get("file") and not data.get("attachment"):
            raise forms.ValidationError(_("Choose a file to upload."))
        return data

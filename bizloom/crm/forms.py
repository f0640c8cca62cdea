"""CRM forms: field validation only; services apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors
from bizloom.crm.models import Account, Contact, Tag
from bizloom.crm.normalize import InvalidValue, normalize_email, normalize_phone
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User

TAG_SEPARATORS = (",", "，", "、", ";", "；")


def split_tags(text: str) -> list[str]:
    """Tag names typed in one box, separated by commas (half- or full-width), 、 or semicolons."""
    for separator in TAG_SEPARATORS[1:]:
        text = text.replace(separator, ",")
    return [name.strip() for name in text.split(",") if name.strip()]


class TagsInput(forms.TextInput):
    """A text box for comma-separated tag names that suggests the existing tags (a ``<datalist>``)."""

    SUGGESTIONS = 500

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        """The input plus a datalist of up to 500 existing tag names."""
        list_id = f"{(attrs or {}).get('id') or 'id_' + name}-suggestions"
        html = super().render(name, value, {**(attrs or {}), "list": list_id, "autocomplete": "off"}, renderer)
        names = Tag.objects.order_by("name").values_list("name", flat=True)[: self.SUGGESTIONS]
        options = format_html_join("", '<option value="{}">', ((n,) for n in names))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


class AccountForm(CustomFieldsFormMixin, forms.ModelForm[Account]):
    """Create/edit an account. Name is required; tax id at most 32 characters; email checked.

    The parent choices are the accounts the user may view (plus the current parent), never
    the account itself; the service refuses cycles. Tags are typed as names separated by
    commas: a name that does not exist yet creates the tag. The account's active custom
    fields follow the declared fields (``cf_<key>``).
    """

    class Meta:
        model = Account
        fields = ["name", "code", "industry", "size", "tier", "parent", "city", "phone", "email", "website",
                  "annual_revenue", "currency", "is_customer", "is_supplier", "owner", "tags", "billing_address",
                  "shipping_address", "account_plan", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4}),
                   "billing_address": forms.Textarea(attrs={"rows": 2}),
                   "shipping_address": forms.Textarea(attrs={"rows": 2}),
                   "account_plan": forms.Textarea(attrs={"rows": 6})}

    website = forms.URLField(label=_("Website"), max_length=200, required=False, assume_scheme="https")
    tags = forms.CharField(label=_("Tags"), required=False, max_length=2000, widget=TagsInput,
                           help_text=_("Separate tags with commas; a new name creates a new tag."))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        if instance is not None and instance.pk is not None:
            initial = dict(kwargs.get("initial") or {})
            initial.setdefault("tags", ", ".join(t.name for t in instance.tags.all()))
            kwargs["initial"] = initial
        super().__init__(*args, user=user, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "style": "text-transform:uppercase"})
        parents = Q(pk__in=selectors.list_accounts(user, "view").values("pk")) if user is not None else Q(pk__in=[])
        if self.instance.pk is not None:
            parents = (parents | Q(pk=self.instance.parent_id)) & ~Q(pk=self.instance.pk)
        self.fields["parent"].queryset = Account.objects.filter(parents)  # type: ignore[attr-defined]

    def clean_currency(self) -> str:
        """ISO code, upper case."""
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean_tags(self) -> list[str]:
        """The typed names as a list (the service trims, folds and de-duplicates them)."""
        return split_tags(self.cleaned_data.get("tags") or "")


class ContactForm(CustomFieldsFormMixin, forms.ModelForm[Contact]):
    """Create/edit a contact. Name is required; email and phones are checked by the service
    (which also understands full-width input), so they are plain text here.

    The account choices are the accounts the user may view. ``allow_duplicate`` ("create
    anyway") exists on the create form only and is shown once the service has refused a
    duplicate (its error lands on that field).
    """

    class Meta:
        model = Contact
        fields = ["name", "account", "accounts", "position", "department", "is_key_contact", "mobile", "phone",
                  "email", "wechat_id", "birthday", "consent_email", "consent_sms", "owner", "notes"]
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

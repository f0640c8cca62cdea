"""Forms of the pipeline pages: field validation only; the services apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors as crm_selectors
from bizloom.crm.models import (
    Account,
    Competitor,
    Contact,
    LossReason,
    Opportunity,
    OpportunityLine,
    Pipeline,
    Stage,
)
from bizloom.crm.pipeline import selectors, services
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OpportunityForm(CustomFieldsFormMixin, forms.ModelForm[Opportunity]):
    """Create/edit an opportunity. Accounts and contacts to choose from are those the user may
    view (plus the ones the opportunity already has). The pipeline is chosen on creation only
    (it starts in the first open stage); stages change through the stage actions."""

    class Meta:
        model = Opportunity
        fields = ["name", "account", "contact", "pipeline", "owner", "amount", "currency", "probability",
                  "expected_close", "source", "campaign", "next_step", "competitors", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4}), "expected_close": DATE,
                   "competitors": forms.SelectMultiple(attrs={"size": 4})}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        instance = self.instance
        accounts = Q(pk__in=crm_selectors.list_accounts(user).values("pk")) if user is not None else Q(pk__in=[])
        contacts = Q(pk__in=crm_selectors.list_contacts(user).values("pk")) if user is not None else Q(pk__in=[])
        if instance.pk is not None:
            accounts |= Q(pk=instance.account_id)
            contacts |= Q(pk=instance.contact_id)
        self.fields["account"].queryset = Account.objects.filter(accounts).order_by("name")  # type: ignore[attr-defined]
        self.fields["contact"].queryset = Contact.objects.filter(contacts).order_by("name")  # type: ignore[attr-defined]
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["owner"].required = False
        current = list(instance.competitors.values_list("pk", flat=True)) if instance.pk else []
        self.fields["competitors"].queryset = Competitor.objects.filter(  # type: ignore[attr-defined]
            Q(is_active=True) | Q(pk__in=current)).order_by("name")
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "style": "text-transform:uppercase"})
        self.fields["amount"].required = False
        self.fields["amount"].help_text = _("With product lines, the amount is their total.")
        self.fields["probability"].required = False
        if instance.pk is None:
            self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
            self.fields["pipeline"].required = False
            self.fields["pipeline"].empty_label = _("Default pipeline")
            self.fields["probability"].help_text = _("Leave empty for the stage's default.")
        else:
            del self.fields["pipeline"]
            if instance.stage.kind != Stage.Kind.OPEN:
                del self.fields["probability"]

    def clean_currency(self) -> str:
        """ISO code, upper case."""
        return (self.cleaned_data.get("currency") or "").strip().upper()


class LineForm(forms.ModelForm[OpportunityLine]):
    """One product line of the inline editor."""

    class Meta:
        model = OpportunityLine
        fields = ["product_name", "description", "quantity", "unit_price", "discount_percent", "delivery_date"]
        widgets = {"delivery_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quantity"].widget.attrs.update({"step": "any", "min": "0"})
        self.fields["unit_price"].widget.attrs.update({"step": "any", "min": "0"})
        self.fields["discount_percent"].widget.attrs.update({"step": "any", "min": "0", "max": "100"})
        self.fields["discount_percent"].required = False
        self.fields["unit_price"].required = False
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))

    def clean_quantity(self) -> Any:
        """More than zero (the service says the same)."""
        quantity = self.cleaned_data.get("quantity")
        if quantity is not None and quantity <= 0:
            raise forms.ValidationError(_("The quantity must be greater than zero."), code="min_value")
        return quantity

    def has_changed(self) -> bool:
        """A new row counts only when something beyond the default quantity and discount is typed."""
        if self.instance.pk is not None or not self.is_bound:
            return super().has_changed()
        typed = [str(self.data.get(self.add_prefix(name), "") or "").strip()
                 for name in ("product_name", "description", "unit_price", "delivery_date")]
        return any(value and value not in ("0", "0.00") for value in typed)

    def as_line(self) -> dict[str, Any]:
        """The cleaned values as the services take a line."""
        data = self.cleaned_data
        return {name: data.get(name) for name in services.LINE_FIELDS if name in data}


class BaseLineFormSet(forms.BaseModelFormSet):  # type: ignore[type-arg]
    """The product lines; rows left blank or ticked for removal are ignored."""

    def kept_forms(self) -> list[Any]:
        """The saved rows and the filled-in new rows, not ticked for removal (after validation),
        in order. A saved row is kept even when unchanged: leaving it alone must not drop it."""
        return [form for form in self.forms
                if (form.instance.pk is not None or form.has_changed())
                and not getattr(form, "cleaned_data", {}).get("DELETE")]

    def lines(self) -> list[dict[str, Any]]:
        """The kept rows as service line dicts."""
        return [form.as_line() for form in self.kept_forms()]


LineFormSet = forms.modelformset_factory(OpportunityLine, form=LineForm, formset=BaseLineFormSet, extra=1,
                                         can_delete=True, max_num=services.MAX_LINES, validate_max=True)


class MoveForm(forms.Form):
    """Move to a stage of the opportunity's pipeline; a lost stage needs the loss reason."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label=_("Stage"))
    loss_reason = forms.ModelChoiceField(queryset=LossReason.objects.none(), label=_("Loss reason"),
                                         required=False)
    loss_note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, pipeline: Pipeline | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # any stage: the service explains why another pipeline's or an inactive stage is refused
        self.fields["stage"].queryset = Stage.objects.select_related("pipeline")  # type: ignore[attr-defined]
        self.fields["loss_reason"].queryset = selectors.list_loss_reasons(active_only=True)  # type: ignore[attr-defined]


# --- settings -------------------------------------------------------------------------------------


class PipelineForm(forms.ModelForm[Pipeline]):
    """Names in three languages, position, default and active flags."""

    class Meta:
        model = Pipeline
        fields = ["name", "name_zh_hans", "name_zh_hant", "position", "is_default", "is_active"]


class StageForm(forms.ModelForm[Stage]):
    """A stage: names, position, kind, default probability and the fields required to enter it."""

    required_fields = forms.MultipleChoiceField(label=_("Fields required to enter"), required=False,
                                                widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Stage
        fields = ["name", "name_zh_hans", "name_zh_hant", "position", "kind", "probability", "required_fields",
                  "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = services.requirable_fields()  # type: ignore[attr-defined]
        self.fields["probability"].help_text = _("Won stages are always 100 %, lost ones 0 %.")


class LossReasonForm(forms.ModelForm[LossReason]):
    """A loss reason in three languages."""

    class Meta:
        model = LossReason
        fields = ["name", "name_zh_hans", "name_zh_hant", "is_active"]


class CompetitorForm(forms.ModelForm[Competitor]):
    """A competitor."""

    class Meta:
        model = Competitor
        fields = ["name", "website", "strengths", "weaknesses", "is_active"]
        widgets = {"strengths": forms.Textarea(attrs={"rows": 3}), "weaknesses": forms.Textarea(attrs={"rows": 3})}

    website = forms.URLField(label=_("Website"), max_length=200, required=False, assume_scheme="https")

    def validate_unique(self) -> None:
        """Uniqueness is the service's (it ignores case); skip the model check here."""

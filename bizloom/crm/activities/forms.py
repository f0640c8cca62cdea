"""Activity forms: field validation only; the services apply the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors as crm_selectors
from bizloom.crm.activities import selectors
from bizloom.crm.models import Activity, Contact
from bizloom.platform.customfields.forms import CustomFieldsFormMixin
from bizloom.platform.models import User

DATETIME_WIDGET_FORMAT = "%Y-%m-%dT%H:%M"
CONTACT_CHOICES_SHOWN = 500


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_WIDGET_FORMAT)


def record_type_choices() -> list[tuple[str, str]]:
    """The kinds of record an activity can be about, for a select."""
    return [("", "—")] + [(selectors.record_type(m), str(m._meta.verbose_name).capitalize())
                          for m in selectors.linkable_models()]


class ActivityForm(CustomFieldsFormMixin, forms.ModelForm[Activity]):
    """Create/edit an activity. Subject is required.

    The linked record is chosen by type and id (prefilled from the record page) and resolved
    among the records the user may view (``cleaned_data["record"]``); one outside their scope
    reads as "no such record". When editing, the current record stays valid even if the user
    can no longer see it. Contacts offered as attendees are those the user may view (the
    linked account's when there is one).
    """

    class Meta:
        model = Activity
        fields = ["kind", "subject", "due_at", "all_day", "duration_minutes", "remind_at", "location",
                  "description", "result", "owner", "attendees", "contact_attendees", "recurrence",
                  "recurrence_until"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "result": forms.Textarea(attrs={"rows": 3}),
            "recurrence_until": forms.DateInput(attrs={"type": "date"}),
        }

    record_type = forms.ChoiceField(label=_("Linked record type"), required=False, choices=())
    record_id = forms.IntegerField(label=_("Linked record id"), required=False, min_value=1, max_value=2**63 - 1)
    field_order = ["kind", "subject", "record_type", "record_id"]

    def __init__(self, *args: Any, user: Any = None, record: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.user = user
        for name in ("due_at", "remind_at"):
            self.fields[name].widget = _datetime_widget()
            self.fields[name].input_formats = [DATETIME_WIDGET_FORMAT, "%Y-%m-%d %H:%M",  # type: ignore[attr-defined]
                                               "%Y-%m-%d %H:%M:%S"]
        active = User.objects.filter(is_active=True).order_by("username")
        self.fields["owner"].queryset = active  # type: ignore[attr-defined]
        self.fields["attendees"].queryset = active  # type: ignore[attr-defined]
        self.fields["record_type"].choices = record_type_choices()  # type: ignore[attr-defined]
        self.current_record = self.instance.record if self.instance.pk and self.instance.content_type_id else None
        shown = self.current_record or record
        if shown is not None and not self.is_bound:
            self.initial.setdefault("record_type", selectors.record_type(type(shown)))
            self.initial.setdefault("record_id", shown.pk)
        self._limit_contacts(user, record)

    def _limit_contacts(self, user: Any, record: Any) -> None:
        """Contacts the user may view (plus the current attendees) are valid; an unbound form
        renders only the linked account's, or the first few hundred by name."""
        visible = crm_selectors.list_contacts(user, "view") if user is not None else Contact.objects.none()
        current = list(self.instance.contact_attendees.values_list("pk", flat=True)) if self.instance.pk else []
        field = self.fields["contact_attendees"]
        field.queryset = Contact.objects.filter(  # type: ignore[attr-defined]
            Q(pk__in=visible.values("pk")) | Q(pk__in=current)).order_by("name", "pk")
        if self.is_bound:
            return
        account = self.instance.account if self.instance.pk else None
        if account is None and record is not None:
            account = derive_account(record)
        shown = visible.filter(account=account) if account is not None else visible.order_by("name", "pk")
        ids = current + list(shown.values_list("pk", flat=True)[:CONTACT_CHOICES_SHOWN])
        field.queryset = Contact.objects.filter(pk__in=ids).order_by("name", "pk")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, pk = cleaned.get("record_type") or "", cleaned.get("record_id")
        if not name and pk is None:
            cleaned["record"] = None
        elif not name or pk is None:
            self.add_error("record_id", _("Choose the record type and its id."))
        elif (self.current_record is not None and selectors.record_type(type(self.current_record)) == name
              and self.current_record.pk == pk):
            cleaned["record"] = self.current_record
        else:
            found = selectors.resolve_record(self.user, name, pk)
            if found is None:
                self.add_error("record_id", _("No record with this id."))
            else:
                cleaned["record"] = found
        return cleaned

def activity_service_data(data: dict[str, Any]) -> dict[str, Any]:
    """An ActivityForm's cleaned values as the services take them: the record instead of its type and id."""
    values = {k: v for k, v in data.items() if k not in ("record_type", "record_id", "record")}
    if "record_type" in data or "record_id" in data:
        values["record"] = data.get("record")
    for name in ("attendees", "contact_attendees"):
        if name in values:
            values[name] = list(values[name] or ())
    return values


def derive_account(record: Any) -> Any:
    """The account of ``record`` (as the services derive it), for choosing contacts."""
    from bizloom.crm.activities.services import derive_links

    return derive_links(record)[0]


class QuickActivityForm(forms.Form):
    """The "log activity / schedule" form under a record: kind, subject, when, and a note or result.

    ``mode`` is "log" (it happened: done now, with the result) or "schedule" (planned, due when given).
    """

    kind = forms.ChoiceField(label=_("Type"), choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=_datetime_widget(),
                                 input_formats=[DATETIME_WIDGET_FORMAT, "%Y-%m-%d %H:%M"])
    notes = forms.CharField(label=_("Notes or result"), required=False, max_length=20_000,
                            widget=forms.Textarea(attrs={"rows": 2}))
    mode = forms.ChoiceField(choices=(("log", _("Log")), ("schedule", _("Schedule"))), initial="log",
                             widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == "schedule" and not cleaned.get("due_at"):
            self.add_error("due_at", _("When is it due?"))
        return cleaned

    def service_data(self, record: Any) -> dict[str, Any]:
        """The cleaned values as ``create_activity`` takes them."""
        data = self.cleaned_data
        logged = data["mode"] == "log"
        values: dict[str, Any] = {"kind": data["kind"], "subject": data["subject"], "record": record,
                                  "status": Activity.Status.DONE if logged else Activity.Status.PLANNED}
        if data.get("due_at"):
            values["due_at"] = data["due_at"]
        if data.get("notes"):
            values["result" if logged else "description"] = data["notes"]
        return values


class CompleteForm(forms.Form):
    """What came of an activity, entered when completing it."""

    result = forms.CharField(label=_("Result"), required=False, max_length=20_000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CheckInForm(forms.Form):
    """The address where the rep checks in (optional; the planned address stays otherwise)."""

    location = forms.CharField(label=_("Address"), required=False, max_length=300)

"""Forms of the forecast pages: the report filters (period, pipeline, salespeople)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.crm.forecast import periods, selectors
from bizloom.crm.models import Opportunity, Pipeline
from bizloom.platform import access
from bizloom.platform.models import Department, Team, User


class DepartmentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Departments indented by their depth in the tree."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u2003" * int(obj.depth) + str(obj)


class ReportFilterForm(forms.Form):
    """The filters of the forecast and the pipeline analysis; ``filters()`` turns them into
    :class:`~bizloom.crm.forecast.selectors.Filters` (this quarter by default)."""

    period = forms.ChoiceField(label=_("Period"), required=False,
                               choices=[(kind, label) for kind, label in periods.KIND_LABELS.items()])
    on = forms.DateField(label=_("Date in the period"), required=False,
                         widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.all(), required=False,
                                      empty_label=_("All pipelines"))
    owner = forms.ModelChoiceField(label=_("Salesperson"), queryset=User.objects.none(), required=False,
                                   empty_label=_("All salespeople"))
    department = DepartmentChoiceField(label=_("Department"), queryset=Department.objects.order_by("path"),
                                       required=False, empty_label=_("All departments"))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"), required=False,
                                  empty_label=_("All teams"))

    def __init__(self, data: Any = None, *, user: Any, pipeline_required: bool = False) -> None:
        if data is not None and not data.get("period"):
            # show the period actually used: a range without a kind is custom, nothing is this quarter
            data = data.copy()
            data["period"] = periods.CUSTOM if data.get("start") or data.get("end") else periods.QUARTER
        super().__init__(data)
        scope = access.scope_for(user, Opportunity, "view")
        self.fields["owner"].queryset = selectors.people_in_scope(user, scope).filter(is_active=True)  # type: ignore[attr-defined]
        self.pipeline_required = pipeline_required
        if pipeline_required:
            self.fields["pipeline"].empty_label = None  # type: ignore[attr-defined]
            self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)  # type: ignore[attr-defined]

    def filters(self) -> selectors.Filters:
        """The chosen filters; invalid parameters fall back to the defaults (this quarter, all)
        after their errors were added to the form."""
        data = self.cleaned_data if self.is_valid() else {
            name: value for name, value in getattr(self, "cleaned_data", {}).items() if name not in self.errors}
        try:
            period = periods.resolve(data.get("period"), on=data.get("on"), start=data.get("start"),
                                     end=data.get("end"))
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            period = periods.resolve()
        pipeline = data.get("pipeline")
        if pipeline is None and self.pipeline_required:
            pipeline = selectors.default_pipeline()
        return selectors.Filters(period=period, pipeline=pipeline, owner=data.get("owner"),
                                 department=data.get("department"), team=data.get("team"))

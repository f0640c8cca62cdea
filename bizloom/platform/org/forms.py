"""Forms of the organisation pages: field validation only (services apply the rules)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from bizloom.platform.models import Department, RecordShare, Team, User


def _active_users() -> Any:
    return User.objects.filter(is_active=True).order_by("username")


class DepartmentForm(forms.Form):
    """Name, parent, manager and position of a department."""

    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(queryset=Department.objects.order_by("path"), required=False,
                                    label=_("Parent department"), empty_label=_("(top level)"))
    manager = forms.ModelChoiceField(queryset=_active_users(), required=False, label=_("Manager"))
    ordering = forms.IntegerField(label=_("Ordering"), min_value=0, initial=0, required=False)

    def clean_ordering(self) -> int:
        """Empty means 0."""
        return int(self.cleaned_data.get("ordering") or 0)


class TeamForm(forms.ModelForm):  # type: ignore[type-arg]
    """Name, department, leader and members of a team."""

    class Meta:
        model = Team
        fields = ["name", "department", "leader", "members"]
        widgets = {"members": forms.SelectMultiple(attrs={"size": 8})}


class UserOrganisationForm(forms.Form):
    """Where a user sits and what roles they hold."""

    department = forms.ModelChoiceField(queryset=Department.objects.order_by("path"), required=False,
                                        label=_("Department"))
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.order_by("name"), required=False, label=_("Teams"))
    roles = forms.ModelMultipleChoiceField(queryset=Group.objects.order_by("name"), required=False, label=_("Roles"),
                                           widget=forms.CheckboxSelectMultiple)


class RoleCreateForm(forms.Form):
    """The name of a new role."""

    name = forms.CharField(label=_("Name"), max_length=150)


class ShareForm(forms.Form):
    """Share a record with a user or a team."""

    user = forms.ModelChoiceField(queryset=_active_users(), required=False, label=_("User"))
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, label=_("Team"))
    level = forms.ChoiceField(choices=RecordShare.Level.choices, initial=RecordShare.Level.READ, label=_("Level"))


class TransferForm(forms.Form):
    """Give a record to another owner."""

    new_owner = forms.ModelChoiceField(queryset=_active_users(), label=_("New owner"))


class ViewAsForm(forms.Form):
    """The user to view the application as."""

    user = forms.ModelChoiceField(queryset=_active_users(), label=_("User"))

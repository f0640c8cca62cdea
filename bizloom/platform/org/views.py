"""The /settings/org/ pages: departments, teams, users' roles, the role matrix, sharing, "view as".

Administrators only (superuser, staff or ``platform.manage_roles``), except the sharing
panel, which the record's owner, their manager or a user with scope ``all`` may use.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.platform.forms_kit import form_page, htmx_redirect
from bizloom.platform.models import Department, RecordShare, Team, User
from bizloom.platform.org import forms, selectors, services
from bizloom.platform.org.middleware import SESSION_KEY

log = logging.getLogger("bizloom.security")


def _require_admin(request: HttpRequest) -> None:
    if not selectors.may_administer(request.user):
        log.info("denied user=%s path=%s rule=permission:platform.manage_roles", request.user.pk, request.path)
        raise PermissionDenied(_("You may not manage the organisation."))


def _home_url() -> str:
    return reverse("org:home")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Departments (as a tree), teams, users with their roles, and the roles."""
    _require_admin(request)
    return render(request, "platform/org/home.html", {
        "departments": selectors.list_departments(), "teams": selectors.list_teams(),
        "users": selectors.list_users(), "roles": selectors.list_roles(), "view_as_form": forms.ViewAsForm(),
    })


@login_required
def department_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or edit a department."""
    _require_admin(request)
    department = get_object_or_404(Department, pk=pk) if pk else None
    initial = ({"name": department.name, "parent": department.parent, "manager": department.manager,
                "ordering": department.ordering} if department else {})

    def save(data: Any) -> Department:
        if department is None:
            return services.create_department(data["name"], parent=data["parent"], manager=data["manager"],
                                              ordering=data["ordering"], actor=request.user)  # type: ignore[arg-type]
        return services.update_department(department, data, actor=request.user)  # type: ignore[arg-type]

    return form_page(request, forms.DepartmentForm, save=save, success_url=lambda _obj: _home_url(),
                     title=_("Edit %(department)s") % {"department": department} if department
                     else _("New department"), cancel_url=_home_url(), success_message=_("%(object)s was saved."),
                     form_kwargs={"initial": initial})


@login_required
def team_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or edit a team."""
    _require_admin(request)
    team = get_object_or_404(Team, pk=pk) if pk else None
    return form_page(request, forms.TeamForm, instance=team,
                     save=lambda data: services.save_team(team, data, actor=request.user),  # type: ignore[arg-type]
                     success_url=lambda _obj: _home_url(), title=str(team) if team else _("New team"),
                     cancel_url=_home_url(), success_message=_("%(object)s was saved."))


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A user's department, teams and roles."""
    _require_admin(request)
    user = get_object_or_404(User, pk=pk)
    initial = {"department": user.department, "teams": list(user.teams.all()), "roles": list(user.groups.all())}

    def save(data: Any) -> User:
        return services.set_user_organisation(user, department=data["department"], teams=data["teams"],
                                              roles=data["roles"], actor=request.user)  # type: ignore[arg-type]

    return form_page(request, forms.UserOrganisationForm, save=save, success_url=lambda _obj: _home_url(),
                     title=_("Organisation and roles of %(user)s") % {"user": user}, cancel_url=_home_url(),
                     success_message=_("%(object)s was saved."), form_kwargs={"initial": initial})


@login_required
def role_create(request: HttpRequest) -> HttpResponse:
    """Name a new role, then edit its matrix."""
    _require_admin(request)
    return form_page(request, forms.RoleCreateForm,
                     save=lambda data: services.create_role(data["name"], actor=request.user),  # type: ignore[arg-type]
                     success_url=lambda role: reverse("org:role_edit", args=[role.pk]), title=_("New role"),
                     cancel_url=_home_url(), success_message=_("%(object)s was created."))


@login_required
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The role matrix: per business model a scope per action, and field rules."""
    _require_admin(request)
    role = get_object_or_404(Group, pk=pk)
    if request.method == "POST":
        try:
            services.save_role_matrix(role, request.POST.dict(), name=request.POST.get("name"),
                                      actor=request.user)  # type: ignore[arg-type]
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Role %(role)s was saved.") % {"role": role.name})
            return htmx_redirect(request, reverse("org:role_edit", args=[role.pk]))
    from bizloom.platform.models import RoleFieldRule, RoleScope

    return render(request, "platform/org/role.html", {
        "role": role, "rows": selectors.role_matrix(role), "scopes": RoleScope.Scope.choices,
        "modes": RoleFieldRule.Mode.choices,
    })


@login_required
def record_share(request: HttpRequest, content_type_id: int, object_id: int) -> HttpResponse:
    """The sharing panel of one record: GET shows it, POST adds a share (``op=share``), removes
    one (``op=unshare``) or transfers ownership (``op=transfer``)."""
    obj = selectors.get_record(request.user, content_type_id, object_id, "view")
    if not selectors.may_manage_record(request.user, obj):
        raise PermissionDenied(_("You may not share this record."))
    share_form = forms.ShareForm(prefix="share")
    transfer_form = forms.TransferForm(prefix="transfer")
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op == "share":
                share_form = forms.ShareForm(request.POST, prefix="share")
                if share_form.is_valid():
                    data = share_form.cleaned_data
                    services.share_record(obj, user=data["user"], team=data["team"], level=data["level"],
                                          actor=request.user)  # type: ignore[arg-type]
                    messages.success(request, _("%(record)s was shared.") % {"record": obj})
                    share_form = forms.ShareForm(prefix="share")
            elif op == "unshare":
                raw = request.POST.get("share", "")
                share = get_object_or_404(RecordShare, pk=int(raw) if raw.isdigit() else 0,
                                          content_type_id=content_type_id, object_id=obj.pk)
                services.unshare_record(share, actor=request.user)  # type: ignore[arg-type]
            elif op == "transfer":
                transfer_form = forms.TransferForm(request.POST, prefix="transfer")
                if transfer_form.is_valid():
                    services.transfer_ownership(obj, transfer_form.cleaned_data["new_owner"],
                                                actor=request.user)  # type: ignore[arg-type]
                    messages.success(request, _("%(record)s has a new owner.") % {"record": obj})
                    return htmx_redirect(request, request.headers.get("HX-Current-URL") or _home_url())
        except DomainError as error:
            messages.error(request, error.message)
    sharing = {"url": request.path, "shares": selectors.list_shares(obj), "may_manage": True,
               "share_form": share_form, "transfer_form": transfer_form}
    return render(request, "platform/org/_share_panel.html", {"object": obj, "sharing": sharing})


@login_required
@require_POST
def view_as_start(request: HttpRequest) -> HttpResponse:
    """Start viewing the application as the chosen user (read-only)."""
    _require_admin(request)
    form = forms.ViewAsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a user."))
        return htmx_redirect(request, _home_url())
    target = form.cleaned_data["user"]
    if target.pk == request.user.pk or (target.is_superuser and not request.user.is_superuser):
        messages.error(request, _("You cannot view as %(user)s.") % {"user": target})
        return htmx_redirect(request, _home_url())
    request.session[SESSION_KEY] = target.pk
    log.info("view-as start admin=%s target=%s", request.user.pk, target.pk)
    messages.info(request, _("You are now viewing as %(user)s.") % {"user": target})
    return htmx_redirect(request, reverse("home"))


@require_POST
def view_as_stop(request: HttpRequest) -> HttpResponse:
    """Stop viewing as another user."""
    target = request.session.pop(SESSION_KEY, None)
    real = getattr(request, "real_user", request.user)
    if target is not None:
        log.info("view-as stop admin=%s target=%s", getattr(real, "pk", None), target)
    return htmx_redirect(request, _home_url() if selectors.may_administer(real) else reverse("home"))

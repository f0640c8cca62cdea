"""CRM pages: thin views over the platform list/detail/form kit and the CRM services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm import selectors, services
from bizloom.crm.forms import AccountForm
from bizloom.crm.lists import ACCOUNT_DETAIL
from bizloom.crm.models import Account
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import form_page, htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of


def _detail_url(account: Account) -> str:
    return reverse("crm:account_detail", args=[account.pk])


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: fields and timeline; 403 without view permission, 404 outside scope."""
    require_or_403(request.user, Account, "view")
    account = selectors.get_account(request.user, pk)
    return render_detail(request, with_custom_fields(ACCOUNT_DETAIL), account)


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    """New account form; the creator owns it unless another owner is chosen."""
    require_or_403(request.user, Account, "add")

    def save(data: Mapping[str, Any]) -> Account:
        fields = {k: v for k, v in data.items() if k != "owner" or v is not None}
        return services.create_account(split_custom_values(fields), actor=actor_of(request))

    return form_page(request, AccountForm, save=save, success_url=_detail_url, title=_("New account"),
                     cancel_url=reverse("crm:account_list"), success_message=_("%(object)s was created."),
                     form_kwargs={"user": request.user})


@login_required
def account_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of an account the user may change."""
    require_or_403(request.user, Account, "change")
    account = selectors.get_account(request.user, pk, action="change")
    return form_page(request, AccountForm, instance=account,
                     save=lambda data: services.update_account(account, split_custom_values(data),
                                                               actor=actor_of(request)),
                     success_url=_detail_url,
                     title=_("Edit %(account)s") % {"account": account}, cancel_url=_detail_url(account),
                     success_message=_("%(object)s was saved."), form_kwargs={"user": request.user})


@login_required
@require_POST
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an account, or explain why not (still referred to)."""
    require_or_403(request.user, Account, "delete")
    account = selectors.get_account(request.user, pk, action="delete")
    name = str(account)
    try:
        services.delete_account(account, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, _detail_url(account))
    messages.success(request, _("%(account)s was deleted.") % {"account": name})
    return htmx_redirect(request, reverse("crm:account_list"))

"""CRM pages: thin views over the platform list/detail/form kit and the CRM services.

Accounts and contacts (and the areas' records, e.g. contracts) share the shape of their
create, edit and delete pages: :class:`RecordPages` holds it once. The account detail page
is the customer 360 page (see :mod:`bizloom.crm.account360`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm import account360, selectors, services
from bizloom.crm.forms import AccountForm, ContactForm
from bizloom.crm.lists import ACCOUNT_DETAIL, ACCOUNT_PLAN_GROUP, CONTACT_DETAIL
from bizloom.crm.models import Account, Contact
from bizloom.platform import access
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import form_page, htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of


@dataclass(frozen=True)
class RecordPages:
    """The create, edit and delete pages of one kind of record, driven by its services.

    ``get(user, pk, action)`` is the selector (404 outside scope); ``create(data, actor=)``,
    ``update(obj, data, actor=)`` and ``delete(obj, actor=)`` are the services, receiving the
    form's cleaned data (an empty owner on a new record is dropped, so the creator owns it).
    URL names are ``<url_prefix>_list`` / ``_detail``.
    """

    model: type[models.Model]
    form_class: type[forms.BaseForm]
    get: Callable[[Any, int, str], Any]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]
    url_prefix: str
    new_title: str | Promise
    edit_title: str | Promise  # with %(object)s

    def detail_url(self, obj: Any) -> str:
        """The record's detail page."""
        return reverse(f"{self.url_prefix}_detail", args=[obj.pk])

    def list_url(self) -> str:
        """The list page."""
        return reverse(f"{self.url_prefix}_list")

    def create_page(self, request: HttpRequest, *, initial: Mapping[str, Any] | None = None) -> HttpResponse:
        """The "new record" form; 403 without the add permission."""
        require_or_403(request.user, self.model, "add")

        def save(data: Mapping[str, Any]) -> Any:
            fields = {k: v for k, v in data.items() if k != "owner" or v is not None}
            return self.create(fields, actor=actor_of(request))

        return form_page(request, self.form_class, save=save, success_url=self.detail_url, title=str(self.new_title),
                         cancel_url=self.list_url(), success_message=_("%(object)s was created."),
                         form_kwargs={"user": request.user, "initial": dict(initial or {})})

    def update_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The edit form of a record the user may change (404 outside scope)."""
        require_or_403(request.user, self.model, "change")
        obj = self.get(request.user, pk, "change")
        return form_page(request, self.form_class, instance=obj,
                         save=lambda data: self.update(obj, data, actor=actor_of(request)),
                         success_url=self.detail_url, title=str(self.edit_title) % {"object": obj},
                         cancel_url=self.detail_url(obj), success_message=_("%(object)s was saved."),
                         form_kwargs={"user": request.user})

    def delete_action(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Delete a record (POST), or explain why not (still referred to, wrong status)."""
        require_or_403(request.user, self.model, "delete")
        obj = self.get(request.user, pk, "delete")
        name = str(obj)
        try:
            self.delete(obj, actor=actor_of(request))
        except DomainError as error:
            messages.error(request, error.message)
            return htmx_redirect(request, self.detail_url(obj))
        messages.success(request, _("%(object)s was deleted.") % {"object": name})
        return htmx_redirect(request, self.list_url())


def prefill_id(request: HttpRequest, name: str) -> int | None:
    """The positive record id in the query parameter ``name`` (``?account=12``), else None."""
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and 0 < len(value) < 19 and int(value) > 0 else None


def merge_url(user: Any, obj: Any, kind: str) -> str:
    """The "Merge…" action of a record's page (the merge tool asks for the other record), for
    users who may change ``obj``; "" otherwise or when the merge pages are not mounted."""
    if not access.allows(user, obj, "change"):
        return ""
    try:
        return reverse("crm:merge_start", args=[kind, f"{obj.pk}"])
    except NoReverseMatch:
        return ""


# --- accounts -------------------------------------------------------------------------------

ACCOUNT_PAGES = RecordPages(
    model=Account, form_class=AccountForm, get=selectors.get_account,
    create=lambda data, *, actor: services.create_account(split_custom_values(data), actor=actor),
    update=lambda obj, data, *, actor: services.update_account(obj, split_custom_values(data), actor=actor),
    delete=services.delete_account, url_prefix="crm:account",
    new_title=gettext_lazy("New account"), edit_title=gettext_lazy("Edit %(object)s"),
)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer 360 page: key facts, fields (the account plan first for key accounts),
    related sections and the timeline of everything; 403 without view permission, 404 outside scope."""
    require_or_403(request.user, Account, "view")
    account = selectors.get_account(request.user, pk)
    config = with_custom_fields(ACCOUNT_DETAIL)
    if account.tier == Account.Tier.A:
        groups = [ACCOUNT_PLAN_GROUP, *(g for g in config.groups if g is not ACCOUNT_PLAN_GROUP)]
        config = dataclasses.replace(config, groups=groups)
    return render_detail(request, config, account,
                         extra_context={"facts": account360.header(account, request.user),
                                        "key_account": account.tier == Account.Tier.A,
                                        "merge_url": merge_url(request.user, account, "account")})


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    """New account form; the creator owns it unless another owner is chosen."""
    return ACCOUNT_PAGES.create_page(request)


@login_required
def account_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of an account the user may change."""
    return ACCOUNT_PAGES.update_page(request, pk)


@login_required
@require_POST
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an account, or explain why not (still referred to)."""
    return ACCOUNT_PAGES.delete_action(request, pk)


# --- contacts (issue #4) ------------------------------------------------------------------


def _contact_accounts(user: Any, contact: Contact) -> list[dict[str, Any]]:
    """The primary and other accounts of ``contact``; linked to their page when ``user`` may view them."""
    accounts = ([contact.account] if contact.account is not None else []) + list(contact.accounts.all())
    visible = selectors.visible_account_ids(user, (a.pk for a in accounts))
    return [{"name": str(a), "primary": a.pk == contact.account_id,
             "url": reverse("crm:account_detail", args=[a.pk]) if a.pk in visible else ""} for a in accounts]


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One contact: fields, its accounts (linked) and timeline; 403 without view permission, 404 outside scope."""
    require_or_403(request.user, Contact, "view")
    contact = selectors.get_contact(request.user, pk)
    return render_detail(request, with_custom_fields(CONTACT_DETAIL), contact,
                         extra_context={"contact_accounts": _contact_accounts(request.user, contact),
                                        "merge_url": merge_url(request.user, contact, "contact")})


def _contact_data(data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Form data as the contact services take it, and the "create anyway" flag."""
    fields = {k: v for k, v in data.items() if k != "allow_duplicate"}
    if "accounts" in fields:
        fields["accounts"] = list(fields["accounts"] or ())
    return split_custom_values(fields), bool(data.get("allow_duplicate"))


def _create_contact(data: Mapping[str, Any], *, actor: Any) -> Contact:
    fields, allow_duplicate = _contact_data(data)
    return services.create_contact(fields, actor=actor, allow_duplicate=allow_duplicate)


CONTACT_PAGES = RecordPages(
    model=Contact, form_class=ContactForm, get=selectors.get_contact, create=_create_contact,
    update=lambda obj, data, *, actor: services.update_contact(obj, _contact_data(data)[0], actor=actor),
    delete=services.delete_contact, url_prefix="crm:contact",
    new_title=gettext_lazy("New contact"), edit_title=gettext_lazy("Edit %(object)s"),
)


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    """New contact form (``?account=<id>`` preselects the account); the creator owns it unless
    another owner is chosen. A duplicate is refused until "Create anyway" is ticked."""
    initial = {}
    account_id = prefill_id(request, "account")
    if account_id is not None:
        initial["account"] = selectors.list_accounts(request.user).filter(pk=account_id).first()
    return CONTACT_PAGES.create_page(request, initial=initial)


@login_required
def contact_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of a contact the user may change."""
    return CONTACT_PAGES.update_page(request, pk)


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a contact, or explain why not (still referred to)."""
    return CONTACT_PAGES.delete_action(request, pk)

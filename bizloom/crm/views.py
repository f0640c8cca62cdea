"""CRM pages: thin views over the platform list/detail/form kit and the CRM services."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm import selectors, services
from bizloom.crm.forms import AccountForm, ContactForm
from bizloom.crm.lists import ACCOUNT_DETAIL, CONTACT_DETAIL
from bizloom.crm.models import Account, Contact
from bizloom.platform import access
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
    config = dataclasses.replace(with_custom_fields(ACCOUNT_DETAIL), template="crm/account_detail.html")
    return render_detail(request, config, account,
                         extra_context={"account_contacts": _account_contacts(request.user, account)})


ACCOUNT_CONTACTS_SHOWN = 100
ACCOUNT_CONTACT_FIELDS = ("position", "mobile", "email")


def _account_contacts(user: Any, account: Account) -> dict[str, Any] | None:
    """The "Contacts" section of an account's page: its contacts the user may view (primary or
    linked; the first 100 by name), without the fields the user's roles hide. None without
    permission to view contacts."""
    if not access.can(user, Contact, "view"):
        return None
    policy = access.field_policy(user, Contact, "view")
    fields = [name for name in ACCOUNT_CONTACT_FIELDS if policy.shows(name)]
    contacts = selectors.list_account_contacts(user, account)
    rows = [{"name": c.name, "url": reverse("crm:contact_detail", args=[c.pk]), "primary": c.account_id == account.pk,
             "values": [getattr(c, name) for name in fields]} for c in contacts[:ACCOUNT_CONTACTS_SHOWN]]
    return {
        "headers": [capfirst(str(getattr(Contact._meta.get_field(name), "verbose_name", name)))
                    for name in ("name", *fields)],
        "rows": rows,
        "total": contacts.count() if len(rows) == ACCOUNT_CONTACTS_SHOWN else len(rows),
        "add_url": (reverse("crm:contact_create") + f"?account={account.pk}"
                    if access.can(user, Contact, "add") else ""),
    }


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


# --- contacts (issue #4) ------------------------------------------------------------------


def _contact_url(contact: Contact) -> str:
    return reverse("crm:contact_detail", args=[contact.pk])


def _contact_accounts(user: Any, contact: Contact) -> list[dict[str, Any]]:
    """The primary and other accounts of ``contact``; linked to their page when ``user`` may view them."""
    accounts = ([contact.account] if contact.account is not None else []) + list(contact.accounts.all())
    visible = set(selectors.list_accounts(user).filter(pk__in=[a.pk for a in accounts]).values_list("pk", flat=True))
    return [{"name": str(a), "primary": a.pk == contact.account_id,
             "url": reverse("crm:account_detail", args=[a.pk]) if a.pk in visible else ""} for a in accounts]


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One contact: fields, its accounts (linked) and timeline; 403 without view permission, 404 outside scope."""
    require_or_403(request.user, Contact, "view")
    contact = selectors.get_contact(request.user, pk)
    return render_detail(request, with_custom_fields(CONTACT_DETAIL), contact,
                         extra_context={"contact_accounts": _contact_accounts(request.user, contact)})


def _contact_data(data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Form data as the contact services take it, and the "create anyway" flag."""
    fields = {k: v for k, v in data.items() if k != "allow_duplicate"}
    if "accounts" in fields:
        fields["accounts"] = list(fields["accounts"] or ())
    return split_custom_values(fields), bool(data.get("allow_duplicate"))


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    """New contact form (``?account=<id>`` preselects the account); the creator owns it unless
    another owner is chosen. A duplicate is refused until "Create anyway" is ticked."""
    require_or_403(request.user, Contact, "add")

    def save(data: Mapping[str, Any]) -> Contact:
        fields, allow_duplicate = _contact_data({k: v for k, v in data.items() if k != "owner" or v is not None})
        return services.create_contact(fields, actor=actor_of(request), allow_duplicate=allow_duplicate)

    initial = {}
    account_id = request.GET.get("account", "")
    if account_id.isdigit() and len(account_id) < 19:
        initial["account"] = selectors.list_accounts(request.user).filter(pk=int(account_id)).first()
    return form_page(request, ContactForm, save=save, success_url=_contact_url, title=_("New contact"),
                     cancel_url=reverse("crm:contact_list"), success_message=_("%(object)s was created."),
                     form_kwargs={"user": request.user, "initial": initial})


@login_required
def contact_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of a contact the user may change."""
    require_or_403(request.user, Contact, "change")
    contact = selectors.get_contact(request.user, pk, action="change")
    return form_page(request, ContactForm, instance=contact,
                     save=lambda data: services.update_contact(contact, _contact_data(data)[0],
                                                               actor=actor_of(request)),
                     success_url=_contact_url,
                     title=_("Edit %(contact)s") % {"contact": contact}, cancel_url=_contact_url(contact),
                     success_message=_("%(object)s was saved."), form_kwargs={"user": request.user})


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a contact, or explain why not (still referred to)."""
    require_or_403(request.user, Contact, "delete")
    contact = selectors.get_contact(request.user, pk, action="delete")
    name = str(contact)
    try:
        services.delete_contact(contact, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, _contact_url(contact))
    messages.success(request, _("%(contact)s was deleted.") % {"contact": name})
    return htmx_redirect(request, reverse("crm:contact_list"))

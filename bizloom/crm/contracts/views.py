"""Contract pages: list (the kit), detail with its actions, form, activate, terminate, signed document."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm import selectors as crm_selectors
from bizloom.crm.contracts import selectors, services
from bizloom.crm.contracts.forms import ActivateForm, ContractForm, SignedDocumentForm, TerminateForm
from bizloom.crm.contracts.lists import ACTIONS_BY_STATUS, CONTRACT_DETAIL
from bizloom.crm.models import Contract
from bizloom.crm.views import RecordPages, prefill_id
from bizloom.platform import access
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import form_page, htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of
from bizloom.platform.timeline.models import Attachment

CONTRACT_PAGES = RecordPages(
    model=Contract, form_class=ContractForm, get=selectors.get_contract,
    create=lambda data, *, actor: services.create_contract(split_custom_values(data), actor=actor),
    update=lambda obj, data, *, actor: services.update_contract(obj, split_custom_values(data), actor=actor),
    delete=services.delete_contract, url_prefix="crm:contract",
    new_title=gettext_lazy("New contract"), edit_title=gettext_lazy("Edit %(object)s"),
)


def _detail_url(contract: Contract) -> str:
    return reverse("crm:contract_detail", args=[contract.pk])


def _signed_document(user: Any, contract: Contract) -> dict[str, Any]:
    """The "Signed document" block: the marked file's link, and the upload/mark forms for editors."""
    document = contract.signed_document
    may_change = (contract.status in Contract.EDITABLE_STATUSES and access.can(user, Contract, "change")
                  and access.allows(user, contract, "change"))
    candidates = list(selectors.signed_document_candidates(contract)) if may_change else []
    return {
        "document": document,
        "url": reverse("timeline:attachment_download", args=[document.pk]) if document is not None else "",
        "may_change": may_change,
        "form_url": reverse("crm:contract_signed_document", args=[contract.pk]),
        "candidates": [a for a in candidates if document is None or a.pk != document.pk],
    }


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One contract: status badge, the actions its status allows, fields, signed document and timeline."""
    require_or_403(request.user, Contract, "view")
    contract = selectors.get_contract(request.user, pk)
    allowed: set[str] = ACTIONS_BY_STATUS.get(Contract.Status(contract.status), set())
    config = with_custom_fields(CONTRACT_DETAIL)
    config = dataclasses.replace(config, actions=[a for a in config.actions if a.url_name in allowed])
    return render_detail(request, config, contract,
                         extra_context={"signed": _signed_document(request.user, contract)})


@login_required
def contract_create(request: HttpRequest) -> HttpResponse:
    """New contract form. ``?opportunity=<id>`` fills account, contact, amount, currency and title
    from that opportunity; ``?account=<id>`` preselects the account (both only when visible)."""
    initial: dict[str, Any] = {"start_date": timezone.localdate()}
    opportunity_id = prefill_id(request, "opportunity")
    account_id = prefill_id(request, "account")
    if opportunity_id is not None:
        opportunity = selectors.get_visible_opportunity(request.user, opportunity_id)
        if opportunity is not None:
            initial.update({"opportunity": opportunity, "account": opportunity.account, "title": opportunity.name,
                            "amount": opportunity.amount, "currency": opportunity.currency})
            if opportunity.contact is not None:
                initial["contact"] = opportunity.contact
    elif account_id is not None:
        account = crm_selectors.list_accounts(request.user).filter(pk=account_id).first()
        if account is not None:
            initial.update({"account": account, "currency": account.currency})
    return CONTRACT_PAGES.create_page(request, initial=initial)


@login_required
def contract_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of a draft or active contract the user may change."""
    return CONTRACT_PAGES.update_page(request, pk)


@login_required
@require_POST
def contract_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a draft contract, or explain why not."""
    return CONTRACT_PAGES.delete_action(request, pk)


def _action_page(request: HttpRequest, pk: int, action: str, form_class: Any, title: str, run: Any,
                 initial: Callable[[Contract], Mapping[str, Any]] | None = None) -> HttpResponse:
    """A status action's form page: 403 without the action's permission, 404 outside scope."""
    require_or_403(request.user, Contract, action)
    contract = selectors.get_contract(request.user, pk, action)
    return form_page(request, form_class, save=lambda data: run(contract, data, actor_of(request)),
                     success_url=_detail_url, title=title % {"contract": contract},
                     cancel_url=_detail_url(contract), success_message=_("%(object)s was saved."),
                     form_kwargs={"initial": dict(initial(contract))} if initial is not None else {})


@login_required
def contract_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate a draft contract: asks for the signing date (prefilled with the one on record, else today)."""
    return _action_page(request, pk, "activate", ActivateForm, _("Activate %(contract)s"),
                        lambda c, data, actor: services.activate_contract(c, signed_on=data["signed_on"], actor=actor),
                        initial=lambda c: {"signed_on": c.signed_on or timezone.localdate()})


@login_required
def contract_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """Terminate a draft or active contract, with a reason."""
    return _action_page(request, pk, "terminate", TerminateForm, _("Terminate %(contract)s"),
                        lambda c, data, actor: services.terminate_contract(c, data["reason"], actor=actor))


@login_required
@require_POST
def contract_signed_document(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the signed contract (or mark a PDF/image already on its timeline) as its signed document."""
    require_or_403(request.user, Contract, "change")
    contract = selectors.get_contract(request.user, pk, "change")
    form = SignedDocumentForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise DomainError(" ".join(str(e) for errors in form.errors.values() for e in errors))
        if form.cleaned_data.get("file"):
            services.attach_signed_document(contract, form.cleaned_data["file"], actor=actor_of(request))
        else:
            attachment = Attachment.objects.filter(pk=form.cleaned_data["attachment"]).first()
            if attachment is None:
                raise DomainError(_("This file is not attached to the contract."))
            services.mark_signed_document(contract, attachment, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, " ".join(m for ms in error.fields.values() for m in ms) or error.message)
    else:
        messages.success(request, _("The signed document of %(contract)s was saved.") % {"contract": contract})
    return htmx_redirect(request, _detail_url(contract))

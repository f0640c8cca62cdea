"""Lead pages: thin views over the platform kit and the lead services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError, PermissionDeniedError
from bizloom.crm.leads import conversion, selectors, services
from bizloom.crm.leads.forms import ConversionForm, LeadForm, LeadStatusForm
from bizloom.crm.leads.lists import LEAD_DETAIL
from bizloom.crm.models import Lead
from bizloom.platform import access
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import apply_domain_error, form_page, htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of


def _lead_url(lead: Lead) -> str:
    return reverse("crm:lead_detail", args=[lead.pk])


def _linked(user: Any, obj: Any, url_name: str) -> dict[str, str] | None:
    """A converted record as a name and, when ``user`` may view it, a link."""
    if obj is None:
        return None
    url = ""
    if access.allows(user, obj, "view"):
        try:
            url = reverse(url_name, args=[obj.pk])
        except NoReverseMatch:  # that area's pages are not mounted
            url = ""
    return {"name": str(obj), "url": url}


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One lead: fields, status actions, conversion and timeline; 403 without view permission,
    404 outside scope."""
    require_or_403(request.user, Lead, "view")
    lead = selectors.get_lead(request.user, pk)
    editable = lead.status in Lead.EDITABLE_STATUSES
    status_form = None
    if editable and access.allows(request.user, lead, "change"):
        shows_reason = access.field_policy(request.user, Lead, "view").shows("unqualified_reason")
        status_form = LeadStatusForm(initial={"status": lead.status,
                                              "reason": lead.unqualified_reason if shows_reason else ""})
    return render_detail(request, with_custom_fields(LEAD_DETAIL), lead, extra_context={
        "status_form": status_form,
        "may_convert": (lead.status in Lead.CONVERTIBLE_STATUSES and access.allows(request.user, lead, "convert")),
        "converted": [item for item in (
            _linked(request.user, lead.converted_account, "crm:account_detail"),
            _linked(request.user, lead.converted_contact, "crm:contact_detail"),
            _linked(request.user, lead.converted_opportunity, "crm:opportunity_detail")) if item],
    })


def _lead_data(data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Form data as the lead services take it, and the "create anyway" flag."""
    fields = {k: v for k, v in data.items() if k != "allow_duplicate"}
    if fields.get("score") is None and "score" in fields:
        fields["score"] = 0
    return split_custom_values(fields), bool(data.get("allow_duplicate"))


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    """New lead form; the creator owns it unless another owner is chosen. A likely duplicate is
    refused until "Create anyway" is ticked."""
    require_or_403(request.user, Lead, "add")

    def save(data: Mapping[str, Any]) -> Lead:
        fields, allow_duplicate = _lead_data({k: v for k, v in data.items() if k != "owner" or v is not None})
        return services.create_lead(fields, actor=actor_of(request), allow_duplicate=allow_duplicate)

    return form_page(request, LeadForm, save=save, success_url=_lead_url, title=_("New lead"),
                     cancel_url=reverse("crm:lead_list"), success_message=_("%(object)s was created."),
                     form_kwargs={"user": request.user})


@login_required
def lead_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form of a lead the user may change (converted leads are refused by the service)."""
    require_or_403(request.user, Lead, "change")
    lead = selectors.get_lead(request.user, pk, action="change")
    return form_page(request, LeadForm, instance=lead,
                     save=lambda data: services.update_lead(lead, _lead_data(data)[0], actor=actor_of(request)),
                     success_url=_lead_url, title=_("Edit %(lead)s") % {"lead": lead}, cancel_url=_lead_url(lead),
                     success_message=_("%(object)s was saved."), form_kwargs={"user": request.user})


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a lead, or explain why not."""
    require_or_403(request.user, Lead, "delete")
    lead = selectors.get_lead(request.user, pk, action="delete")
    name = str(lead)
    try:
        services.delete_lead(lead, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, _lead_url(lead))
    messages.success(request, _("%(lead)s was deleted.") % {"lead": name})
    return htmx_redirect(request, reverse("crm:lead_list"))


@login_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a lead's status (with a reason for "not qualified"); errors come back as messages."""
    require_or_403(request.user, Lead, "change")
    lead = selectors.get_lead(request.user, pk, action="change")
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return htmx_redirect(request, _lead_url(lead))
    try:
        services.change_lead_status(lead, form.cleaned_data["status"], reason=form.cleaned_data["reason"],
                                    actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The status of %(lead)s was changed.") % {"lead": lead})
    return htmx_redirect(request, _lead_url(lead))


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """The conversion page: matching accounts and contacts (best pre-selected) or new ones, and
    the opportunity; POST converts in one step and opens the new (or chosen) account."""
    require_or_403(request.user, Lead, "convert")
    lead = selectors.get_lead(request.user, pk, action="convert")
    if lead.status == Lead.Status.CONVERTED:
        messages.info(request, _("%(lead)s was already converted.") % {"lead": lead})
        return htmx_redirect(request, _lead_url(lead))
    matches = conversion.conversion_matches(lead, actor=request.user)  # type: ignore[arg-type]
    form = ConversionForm(request.POST or None, matches=matches, lead=lead)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opportunity = {"name": data["opportunity_name"], "amount": data["amount"],
                       "expected_close": data["expected_close"]}
        try:
            result = conversion.convert_lead(
                lead, actor=actor_of(request), account=form.chosen("account"), contact=form.chosen("contact"),
                create_opportunity=data["create_opportunity"],
                opportunity={k: v for k, v in opportunity.items() if v not in (None, "")})
        except PermissionDeniedError as error:
            form.add_error(None, error.message)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("%(lead)s was converted.") % {"lead": lead})
            return htmx_redirect(request, reverse("crm:account_detail", args=[result.account.pk]))
    return render(request, "crm/leads/convert.html", {
        "title": _("Convert %(lead)s") % {"lead": lead}, "lead": lead, "form": form, "matches": matches,
        "cancel_url": _lead_url(lead), "form_action": request.get_full_path(),
    })

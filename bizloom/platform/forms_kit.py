"""The create/edit form kit: one function drives a ModelForm page through a service.

A module's view does the access check and names the service; :func:`form_page` renders the
form (full page, or only the form partial for HTMX), calls ``save(cleaned_data)`` when the
form is valid, maps ``ValidationFailed.fields`` onto the form's fields, and redirects to
the saved record (``HX-Redirect`` for HTMX). Forms validate fields only; business rules
stay in services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, PermissionDeniedError
from bizloom.platform import access

FORM_PAGE_TEMPLATE = "platform/detail/form.html"
FORM_PARTIAL_TEMPLATE = "platform/detail/_form.html"


def require_or_403(user: Any, model: type[models.Model], action: str) -> None:
    """``access.require``, turned into Django's PermissionDenied so the user gets the 403 page."""
    try:
        access.require(user, model, action)
    except PermissionDeniedError as error:
        raise PermissionDenied(error.message) from error


def apply_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Put a service's error on the form: field messages on their fields, the rest on top."""
    placed = False
    for name, field_messages in (error.fields or {}).items():
        target = name if name in form.fields else None
        for message in field_messages:
            form.add_error(target, message)
            placed = True
    if not placed or not error.fields:
        form.add_error(None, error.message)


def htmx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that works for HTMX (``HX-Redirect``) and plain requests (302)."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def apply_field_policy(form: forms.BaseForm, policy: access.FieldPolicy) -> list[str]:
    """Remove hidden fields from ``form`` and disable read-only ones.

    Returns the names of hidden or read-only fields that the submitted data nevertheless
    carries (browsers send neither removed nor disabled fields, so these are forged).
    """
    for name in policy.hidden:
        form.fields.pop(name, None)
    for name in policy.readonly:
        if name in form.fields:
            form.fields[name].disabled = True
    data = form.data if form.is_bound else {}
    return sorted(name for name in policy.unwritable if form.add_prefix(name) in data)


def form_policy(user: Any, form_class: type[forms.BaseForm], instance: models.Model | None,
                model: type[models.Model] | None = None) -> access.FieldPolicy:
    """The field policy of a create (``add``) or edit (``change``) form of ``model``
    (default: the ModelForm's model); none for plain forms without a model."""
    if model is None:
        meta = getattr(form_class, "_meta", None)
        model = getattr(meta, "model", None)
    if model is None:
        return access.NO_FIELD_RULES
    return access.field_policy(user, model, "change" if instance is not None else "add")


def form_page(
    request: HttpRequest,
    form_class: type[forms.BaseForm],
    *,
    save: Callable[[Mapping[str, Any]], Any],
    success_url: Callable[[Any], str],
    instance: models.Model | None = None,
    title: str = "",
    cancel_url: str = "",
    success_message: str = "",
    context: Mapping[str, Any] | None = None,
    form_kwargs: Mapping[str, Any] | None = None,
    model: type[models.Model] | None = None,
) -> HttpResponse:
    """GET shows the form; POST validates, calls ``save(cleaned_data)`` and redirects.

    Invalid input re-renders with inline errors: the full page for a normal POST, the form
    partial (status 200, so HTMX swaps it) for HTMX. Nothing is written when ``save``
    raises a DomainError; its messages appear on the form.

    The user's field rules apply (issue #3): hidden fields are not on the form, read-only
    ones are disabled, neither reaches ``save``, and a submission that carries one anyway
    is refused with a form error.
    """
    policy = form_policy(request.user, form_class, instance, model)
    kwargs: dict[str, Any] = dict(form_kwargs or {})
    if instance is not None and issubclass(form_class, forms.BaseModelForm):
        kwargs["instance"] = instance
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, **kwargs)
        forged = apply_field_policy(form, policy)
        if forged:
            form.add_error(None, _("You may not change these fields: %(fields)s.") % {"fields": ", ".join(forged)})
        elif form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in policy.unwritable}
            try:
                obj = save(data)
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                if success_message:
                    messages.success(request, success_message % {"object": obj})
                return htmx_redirect(request, success_url(obj))
    else:
        form = form_class(**kwargs)
        apply_field_policy(form, policy)
    data = {"form": form, "title": title, "cancel_url": cancel_url, "object": instance,
            "form_action": request.get_full_path(), **(context or {})}
    htmx = getattr(request, "htmx", False)
    template = FORM_PARTIAL_TEMPLATE if htmx and request.method == "POST" else FORM_PAGE_TEMPLATE
    return render(request, template, data)


def default_success_message() -> str:
    """``"%(object)s was saved."`` in the active language."""
    return _("%(object)s was saved.")

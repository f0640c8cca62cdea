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
) -> HttpResponse:
    """GET shows the form; POST validates, calls ``save(cleaned_data)`` and redirects.

    Invalid input re-renders with inline errors: the full page for a normal POST, the form
    partial (status 200, so HTMX swaps it) for HTMX. Nothing is written when ``save``
    raises a DomainError; its messages appear on the form.
    """
    kwargs: dict[str, Any] = dict(form_kwargs or {})
    if instance is not None and issubclass(form_class, forms.BaseModelForm):
        kwargs["instance"] = instance
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            try:
                obj = save(form.cleaned_data)
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                if success_message:
                    messages.success(request, success_message % {"object": obj})
                return htmx_redirect(request, success_url(obj))
    else:
        form = form_class(**kwargs)
    data = {"form": form, "title": title, "cancel_url": cancel_url, "object": instance,
            "form_action": request.get_full_path(), **(context or {})}
    htmx = getattr(request, "htmx", False)
    template = FORM_PARTIAL_TEMPLATE if htmx and request.method == "POST" else FORM_PAGE_TEMPLATE
    return render(request, template, data)


def default_success_message() -> str:
    """``"%(object)s was saved."`` in the active language."""
    return _("%(object)s was saved.")

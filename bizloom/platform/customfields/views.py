"""Custom field settings (permission ``customfields.change_customfield``): list, create, edit,
deactivate/reactivate and delete definitions. Refusals (values that would be lost) are shown
on the page; the services decide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bizloom.common.errors import DomainError
from bizloom.platform.customfields import selectors, services
from bizloom.platform.customfields.admin_forms import CustomFieldForm, model_choices
from bizloom.platform.customfields.models import CustomField
from bizloom.platform.forms_kit import form_page, htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of


def _require_admin(request: HttpRequest) -> None:
    require_or_403(request.user, CustomField, "change")


def _list_url(definition: CustomField | None = None) -> str:
    url = reverse("customfields:list")
    if definition is not None:
        url += f"?model={definition.content_type.app_label}.{definition.content_type.model}"
    return url


@login_required
@require_GET
def field_list(request: HttpRequest) -> HttpResponse:
    """Every definition, grouped by record type (``?model=crm.account`` shows one type)."""
    _require_admin(request)
    chosen = request.GET.get("model", "")
    models_available = model_choices(with_custom_fields=True)
    groups: dict[str, dict[str, Any]] = {
        value: {"value": value, "label": label, "fields": []} for value, label in models_available}
    for field in selectors.list_definitions():
        value = f"{field.content_type.app_label}.{field.content_type.model}"
        if value in groups:
            groups[value]["fields"].append({"field": field, "values": selectors.count_values(field)})
    shown = [g for g in groups.values() if not chosen or g["value"] == chosen]
    return render(request, "customfields/field_list.html", {
        "groups": shown, "models": models_available, "chosen": chosen})


@login_required
def field_create(request: HttpRequest) -> HttpResponse:
    """A new definition; ``?model=crm.account`` preselects the record type."""
    _require_admin(request)
    initial = {"content_type": request.GET.get("model", ""), "is_active": True, "order": 0}

    def save(data: Mapping[str, Any]) -> CustomField:
        form_data = dict(data)
        return services.create_custom_field(form_data, actor=actor_of(request))

    return _form_page(request, None, save, title=_("New custom field"), form_kwargs={"initial": initial},
                      success_message=_("The custom field “%(object)s” was created."))


def _form_page(request: HttpRequest, definition: CustomField | None, save: Any, *, title: str,
               form_kwargs: dict[str, Any], success_message: str) -> HttpResponse:
    class BoundForm(CustomFieldForm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, definition=definition, **kwargs)

        def full_clean(self) -> None:
            super().full_clean()
            if self.is_bound and not self.errors:
                self.cleaned_data = self.service_data()

    return form_page(request, BoundForm, save=save, success_url=lambda obj: _list_url(obj), title=title,
                     cancel_url=_list_url(definition), success_message=success_message, form_kwargs=form_kwargs)


@login_required
def field_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a definition; a type change migrates the values or is refused with the count."""
    _require_admin(request)
    definition = get_object_or_404(CustomField.objects.select_related("content_type", "target_content_type"), pk=pk)

    def save(data: Mapping[str, Any]) -> CustomField:
        return services.update_custom_field(definition, data, actor=actor_of(request))

    return _form_page(request, definition, save,
                      title=_("Edit custom field “%(field)s” (%(key)s)") % {"field": definition.label,
                                                                          "key": definition.key},
                      form_kwargs={}, success_message=_("The custom field “%(object)s” was saved."))


@login_required
@require_POST
def field_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (values kept, field hidden) or reactivate a definition."""
    _require_admin(request)
    definition = get_object_or_404(CustomField.objects.select_related("content_type"), pk=pk)
    services.set_custom_field_active(definition, not definition.is_active, actor=actor_of(request))
    if definition.is_active:
        messages.success(request, _("“%(field)s” is active again.") % {"field": definition.label})
    else:
        messages.success(request, _("“%(field)s” was deactivated; its values are kept.") % {
            "field": definition.label})
    return htmx_redirect(request, _list_url(definition))


@login_required
@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm and delete a definition. While records hold values it is refused unless the
    administrator ticks "delete the values too" (purge, audited per record)."""
    _require_admin(request)
    definition = get_object_or_404(CustomField.objects.select_related("content_type"), pk=pk)
    error = ""
    if request.method == "POST":
        purge = request.POST.get("purge") == "1"
        label = definition.label
        try:
            purged = services.delete_custom_field(definition, actor=actor_of(request), purge=purge)
        except DomainError as refused:
            error = refused.message
        else:
            messages.success(request, ngettext(
                "The custom field “%(field)s” was deleted (%(count)d value removed).",
                "The custom field “%(field)s” was deleted (%(count)d values removed).", purged,
            ) % {"field": label, "count": purged})
            return htmx_redirect(request, _list_url(definition))
    return render(request, "customfields/field_delete.html", {
        "definition": definition, "count": selectors.count_values(definition), "error": error,
        "cancel_url": _list_url(definition)})

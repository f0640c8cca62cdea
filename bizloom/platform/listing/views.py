"""Generic list views driven by a :class:`ListConfig`: page, export, bulk actions, saved views.

A module gets all four routes with :func:`list_urls`::

    urlpatterns = [*list_urls(ACCOUNT_LIST, "accounts/", "account"), ...]
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bizloom.common.errors import DomainError
from bizloom.platform import access, exporting
from bizloom.platform.forms_kit import htmx_redirect, require_or_403
from bizloom.platform.listing import services
from bizloom.platform.listing.config import ListConfig, ListState, filtered_queryset
from bizloom.platform.models import SavedView
from bizloom.platform.requests import actor_of

# Every ListConfig mounted with list_urls, by key: the access-matrix test and the roles UI
# discover list, detail, create, update, delete, export and bulk addresses from it.
registry: dict[str, tuple[ListConfig, str]] = {}


def registered_lists() -> list[ListConfig]:
    """The ListConfigs mounted with :func:`list_urls`, in mounting order."""
    return [config for config, _name in registry.values()]


def record_urls(config: ListConfig, obj: Any = None) -> dict[str, str]:
    """The addresses of a list's pages that exist: list, export/<fmt>, bulk, create, and with
    ``obj`` detail, update ("<prefix>_update") and delete ("<prefix>_delete")."""
    urls: dict[str, str] = {"list": config.url("list"), "bulk": config.url("bulk")}
    for fmt in config.export_formats:
        urls[f"export/{fmt}"] = config.url("export", fmt)
    for suffix, args in (("create", ()), ("detail", (obj.pk,) if obj is not None else None),
                         ("update", (obj.pk,) if obj is not None else None),
                         ("delete", (obj.pk,) if obj is not None else None)):
        if args is None:
            continue
        try:
            urls[suffix] = reverse(f"{config.url_prefix}_{suffix}", args=args)
        except NoReverseMatch:
            continue
    return urls


def config_for(config: ListConfig, user: Any) -> ListConfig:
    """``config`` without the columns, filters, sort keys and search fields that ``user`` may not see.

    Hidden fields (access.field_policy) vanish from the page, the column chooser, sorting,
    filtering, search and exports alike, because all of them read the returned config.
    """
    policy = access.field_policy(user, config.model, "view")
    if not policy.hidden:
        return config
    restricted = copy.copy(config)
    restricted.__dict__.pop("sort_keys", None)  # cached_property: recompute from the visible columns
    restricted.bound_columns = {name: c for name, c in config.bound_columns.items()
                                if policy.shows(c.sort_field or name) and policy.shows(name)}
    restricted.bound_filters = [f for f in config.bound_filters if policy.shows(f.field)]
    restricted.search_fields = tuple(f for f in config.search_fields if policy.shows(f))
    restricted.default_columns = tuple(c for c in config.default_columns if c in restricted.bound_columns) or tuple(
        restricted.bound_columns)
    if config.default_sort and config.default_sort.lstrip("-") not in restricted.sort_keys:
        restricted.default_sort = ""
    return restricted


def list_page_context(request: HttpRequest, config: ListConfig, state: ListState,
                      active_view: SavedView | None = None) -> dict[str, Any]:
    """Everything the list templates render: rows of cells, headers, pagination, views, actions.

    ``config`` and ``state`` must already be restricted to the user's visible fields
    (:func:`config_for`); views do that before parsing the state.
    """
    user = request.user
    paginator = Paginator(filtered_queryset(state, user), state.per_page)
    page = paginator.get_page(state.page)
    state.page = page.number
    columns = state.visible_columns
    link_detail = config.has_detail
    rows = [
        {"pk": obj.pk, "cells": [
            {"text": c.display(obj), "numeric": c.is_numeric, "kind": c.kind,
             "url": config.detail_url(obj) if c.link and link_detail else ""}
            for c in columns]}
        for obj in page.object_list
    ]
    headers = []
    for c in columns:
        sorted_dir = ""
        if state.sort.lstrip("-") == c.name:
            sorted_dir = "desc" if state.sort.startswith("-") else "asc"
        next_sort = f"-{c.name}" if sorted_dir == "asc" else c.name
        headers.append({"label": c.label, "numeric": c.is_numeric, "sortable": c.sortable,
                        "sorted": sorted_dir, "url": state.query(sort=next_sort, page=None)})
    bulk_actions = [
        {"action": a, "form": a.form_class(prefix=a.name) if a.form_class else None}
        for a in config.bulk_actions if access.can(user, config.model, a.permission)
    ]
    can_export = access.can(user, config.model, "export")
    base_query = state.query(page=None)[1:]
    list_url = config.url("list")
    return {
        "list": config,
        "state": state,
        "page": page,
        "paginator": paginator,
        "rows": rows,
        "headers": headers,
        "columns": columns,
        "all_columns": list(config.bound_columns.values()),
        "filters": [{"filter": f, "kind": f.kind, "options": f.options(),
                     "values": {name: state.filters.get(name, "") for name in f.params()}}
                    for f in config.bound_filters],
        "bulk_actions": bulk_actions,
        "exports": [{"format": fmt, "url": config.url("export", fmt) + ("?" + base_query if base_query else "")}
                    for fmt in config.export_formats] if can_export else [],
        "saved_views": [{"view": v, "url": _view_url(list_url, v)}
                        for v in services.list_saved_views(user, config.key)],
        "active_view": active_view,
        "current_query": base_query,
        "list_url": list_url,
        "bulk_url": config.url("bulk") if config.bulk_actions else "",
        "views_url": config.url("views"),
        "can_add": config.has_create and access.can(user, config.model, "add"),
        "create_url": config.url("create") if config.has_create else "",
        "prev_url": state.query(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": state.query(page=page.next_page_number()) if page.has_next() else "",
    }


def _state_for_request(request: HttpRequest, config: ListConfig) -> tuple[ListState, SavedView | None]:
    """The request's parameters; with none at all, the user's default saved view applies.

    ``config`` is the user's field-restricted config, so hidden columns, sorts and filters
    asked for in the URL or a saved view are dropped.
    """
    params: QueryDict = request.GET
    active = None
    view_id = params.get("view", "")
    if view_id.isdigit():
        active = SavedView.objects.filter(owner=actor_of(request), list_key=config.key, pk=int(view_id)).first()
    elif not params:
        active = services.default_saved_view(actor_of(request), config.key)
        if active is not None:
            params = _to_querydict(active.params)
    return ListState.from_params(config, params), active


def _to_querydict(params: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, values in (params or {}).items():
        query.setlist(str(name), [str(v) for v in (values if isinstance(values, list) else [values])])
    return query


def list_view(request: HttpRequest, config: ListConfig) -> HttpResponse:
    """The list page; for HTMX requests (search, sort, page) only the results partial."""
    require_or_403(request.user, config.model, "view")
    config = config_for(config, request.user)
    state, active = _state_for_request(request, config)
    context = list_page_context(request, config, state, active)
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request and not htmx.boosted
    response = render(request, config.partial_template if partial else config.template, context)
    if partial:
        # Push the canonical URL (no empty or default parameters) instead of the raw form data.
        query = context["current_query"]
        if not query and any(item["view"].is_default for item in context["saved_views"]):
            query = "view=all"  # an empty URL would re-apply the default view on reload
        response["HX-Push-Url"] = context["list_url"] + ("?" + query if query else "")
    return response


def export_view(request: HttpRequest, config: ListConfig, fmt: str) -> HttpResponseBase:
    """Everything the list shows for these parameters (all pages, visible columns) as CSV or XLSX.

    Needs the ``export`` permission; rows come from the same access-restricted query as the page.
    Up to ``BIZLOOM_EXPORT_INLINE_MAX_ROWS`` rows are streamed in the response; a larger export
    becomes an export job built by the worker, and the user is sent to its status page (issue #5).
    """
    from bizloom.platform import export_jobs

    if fmt not in config.export_formats:
        raise Http404
    require_or_403(request.user, config.model, "view")
    require_or_403(request.user, config.model, "export")
    restricted = config_for(config, request.user)
    state = ListState.from_params(restricted, request.GET)
    params = state.to_params()
    header, queryset, rows = export_jobs.export_rows(config, request.user, params)
    limit = export_jobs.inline_max_rows()
    if queryset[: limit + 1].count() > limit:
        if export_jobs.active_jobs(request.user) >= export_jobs.max_active_jobs():
            messages.error(request, _("You already have exports being prepared. Please wait until they are ready."))
            return redirect(config.url("list") + ("?" + urlencode(params, doseq=True) if params else ""))
        job = export_jobs.start_export(config, params, fmt, actor=actor_of(request))
        return redirect(export_jobs.job_url(job))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{config.key.replace('.', '-')}-{stamp}.{fmt}"
    if fmt == "csv":
        return exporting.csv_response(filename, header, rows)
    return exporting.xlsx_response(filename, header, rows, sheet=exporting.xlsx_sheet_name(str(config.heading)))


def _back_to_list(request: HttpRequest, config: ListConfig) -> str:
    query = request.POST.get("query", "")
    # Only our own parameters go back into the URL (no open redirect: the path is fixed).
    clean = urlencode(ListState.from_params(config, QueryDict(query)).to_params(), doseq=True)
    return config.url("list") + ("?" + clean if clean else "")


def bulk_view(request: HttpRequest, config: ListConfig) -> HttpResponse:
    """Run a declared bulk action on the selected records the user may act on.

    403 without the action's permission; a DomainError rolls the whole batch back and is
    shown as a message.
    """
    action = config.bulk_action(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Choose an action."))
        return htmx_redirect(request, _back_to_list(request, config))
    require_or_403(request.user, config.model, action.permission)
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    if not ids:
        messages.warning(request, _("Select at least one record."))
        return htmx_redirect(request, _back_to_list(request, config))
    form = action.form_class(request.POST, prefix=action.name) if action.form_class else None
    if form is not None and not form.is_valid():
        errors = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, _("%(action)s: %(errors)s") % {"action": action.label, "errors": errors})
        return htmx_redirect(request, _back_to_list(request, config))
    queryset = access.restrict(config.queryset(request.user), request.user, action.permission).filter(pk__in=ids)
    try:
        with transaction.atomic():
            message = action.run(queryset, request.user, form.cleaned_data if form is not None else {})
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, message)
    return htmx_redirect(request, _back_to_list(request, config))


def saved_views_view(request: HttpRequest, config: ListConfig) -> HttpResponse:
    """Save the current parameters under a name, delete a view, or mark/unmark the default."""
    require_or_403(request.user, config.model, "view")
    op = request.POST.get("op", "")
    list_url = config.url("list")
    if op == "save":
        state = ListState.from_params(config, QueryDict(request.POST.get("query", "")))
        try:
            view = services.save_view(config.key, request.POST.get("name", ""), state.to_params(),
                                      is_default=request.POST.get("is_default") == "1", actor=actor_of(request))
        except DomainError as error:
            messages.error(request, error.message)
            return htmx_redirect(request, _back_to_list(request, config))
        messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
        return htmx_redirect(request, _view_url(list_url, view))
    raw_id = request.POST.get("view", "")
    view = get_object_or_404(SavedView, pk=int(raw_id) if raw_id.isdigit() else 0, owner=actor_of(request),
                             list_key=config.key)
    if op == "delete":
        services.delete_view(view, actor=actor_of(request))
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
        return htmx_redirect(request, list_url + "?view=all")
    if op == "default":
        services.set_default_view(view, not view.is_default, actor=actor_of(request))
        return htmx_redirect(request, _view_url(list_url, view))
    raise Http404


def _view_url(list_url: str, view: SavedView) -> str:
    params = dict(view.params or {})
    params["view"] = [str(view.pk)]
    return list_url + "?" + urlencode(params, doseq=True)


def list_urls(config: ListConfig, route: str, name: str) -> list[URLPattern]:
    """URL patterns ``<name>_list``, ``_export``, ``_bulk`` and ``_views`` under ``route``.

    Also records ``config`` in :data:`registry` (see :func:`registered_lists`).
    """
    registry[config.key] = (config, name)

    def page(request: HttpRequest) -> HttpResponse:
        return list_view(request, config)

    def export(request: HttpRequest, fmt: str) -> HttpResponseBase:
        return export_view(request, config, fmt)

    def bulk(request: HttpRequest) -> HttpResponse:
        return bulk_view(request, config)

    def views(request: HttpRequest) -> HttpResponse:
        return saved_views_view(request, config)

    return [
        path(route, login_required(require_GET(page)), name=f"{name}_list"),
        path(f"{route}export/<str:fmt>/", login_required(require_GET(export)), name=f"{name}_export"),
        path(f"{route}bulk/", login_required(require_POST(bulk)), name=f"{name}_bulk"),
        path(f"{route}views/", login_required(require_POST(views)), name=f"{name}_views"),
    ]

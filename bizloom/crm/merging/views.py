"""Pages of the duplicate queue and the merge tool (thin: selectors read, services write)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm.merging import jobs, queue, selectors, services
from bizloom.crm.models import DuplicatePair
from bizloom.platform import access
from bizloom.platform.forms_kit import htmx_redirect, require_or_403
from bizloom.platform.requests import actor_of

PAGE_SIZE = 50
KIND_LABELS = {"account": gettext_lazy("Accounts"), "contact": gettext_lazy("Contacts"), "lead": gettext_lazy("Leads")}


def _detail_url(kind: str, pk: int) -> str:
    try:
        return reverse(f"crm:{kind}_detail", args=[pk])
    except NoReverseMatch:
        return ""


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """"Possible duplicates": open pairs (or merged / dismissed ones) whose two records the user
    may view, by type and rule, with "Merge…" and "Not duplicates"."""
    require_or_403(request.user, DuplicatePair, "view")
    kind = request.GET.get("type", "")
    kind = kind if kind in services.MERGEABLE else ""
    rule = request.GET.get("rule", "")
    rule = rule if rule in DuplicatePair.Rule.values else ""
    status = request.GET.get("status", DuplicatePair.Status.OPEN)
    status = status if status in DuplicatePair.Status.values else DuplicatePair.Status.OPEN
    pairs = queue.list_pairs(request.user, status=status, kind=kind, rule=rule)
    page = Paginator(pairs, PAGE_SIZE).get_page(request.GET.get("page"))
    found = queue.records_of(list(page.object_list))
    may_dismiss = access.can(request.user, DuplicatePair, "change")
    rows = []
    for pair in page.object_list:
        first = found.get((pair.content_type_id, pair.first_id))
        second = found.get((pair.content_type_id, pair.second_id))
        if first is None or second is None:
            continue
        name = pair.content_type.model
        model = services.MERGEABLE[name]
        rows.append({
            "pair": pair, "kind": name, "kind_label": model._meta.verbose_name,
            "value": queue.shown_value(pair, model, request.user),
            "first": {"name": str(first), "url": _detail_url(name, first.pk)},
            "second": {"name": str(second), "url": _detail_url(name, second.pk)},
            "merge_url": reverse("crm:merge_start", args=[name, f"{pair.first_id},{pair.second_id}"]),
            "dismiss_url": reverse("crm:duplicate_dismiss", args=[pair.pk]) if may_dismiss else "",
        })
    return render(request, "crm/merging/duplicate_list.html", {
        "title": _("Possible duplicates"), "rows": rows, "page": page, "kind": kind, "rule": rule, "status": status,
        "kinds": [(k, KIND_LABELS[k]) for k in services.MERGEABLE], "rules": DuplicatePair.Rule.choices,
        "statuses": DuplicatePair.Status.choices,
        "may_scan": access.can(request.user, DuplicatePair, "add"),
        "open": status == DuplicatePair.Status.OPEN,
    })


@login_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    """"Scan now": start the duplicate scan on the worker."""
    require_or_403(request.user, DuplicatePair, "add")
    jobs.scan_duplicates.enqueue()
    messages.success(request, _("The scan has started; new pairs appear here when it is done."))
    return htmx_redirect(request, reverse("crm:duplicate_list"))


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """"Not duplicates": the pair leaves the queue for good."""
    require_or_403(request.user, DuplicatePair, "change")
    pair = queue.list_pairs(request.user, status="").filter(pk=pk).first()
    if pair is None:
        raise Http404("pair")
    try:
        queue.dismiss_pair(pair, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Marked as not duplicates."))
    return htmx_redirect(request, reverse("crm:duplicate_list"))


def _parse_ids(text: str) -> list[int]:
    parts = [part for part in text.split(",") if part]
    if not 2 <= len(parts) <= services.MAX_RECORDS or not all(p.isdigit() and len(p) < 19 for p in parts):
        raise Http404("ids")
    return list(dict.fromkeys(int(part) for part in parts))


PICK_RESULTS = 20


def _pick_other(request: HttpRequest, kind: str, model: type[Any], pk: str) -> HttpResponse:
    """"Merge…" on a record's page (one id): the records it could be merged with — its look-alikes
    (same tax id, name, email or phone) and a name search (``?q=``) among the records the user
    may view — each opening the merge page of the two."""
    if not pk.isdigit() or len(pk) >= 19:
        raise Http404("ids")
    record = selectors.record_for_merge(request.user, model, int(pk))
    suggested = [(other, str(DuplicatePair.Rule(rule).label)) for other, rule in
                 queue.look_alikes_of(request.user, model, record, limit=PICK_RESULTS)]
    query = request.GET.get("q", "").strip()[:100]
    found: list[Any] = []
    if query:
        shown = {other.pk for other, _label in suggested}
        found = [other for other in selectors.search_for_merge(request.user, model, query, exclude=record.pk,
                                                               limit=PICK_RESULTS) if other.pk not in shown]

    def row(other: Any, why: str = "") -> dict[str, Any]:
        return {"name": str(other), "url": _detail_url(kind, other.pk), "why": why,
                "merge_url": reverse("crm:merge_start", args=[kind, f"{record.pk},{other.pk}"])}

    return render(request, "crm/merging/pick.html", {
        "title": _("Merge %(record)s with…") % {"record": record}, "record": record,
        "record_url": _detail_url(kind, record.pk), "kind_label": KIND_LABELS[kind],
        "suggested": [row(other, why) for other, why in suggested], "found": [row(other) for other in found],
        "query": query, "form_action": reverse("crm:merge_start", args=[kind, str(record.pk)]),
    })


@login_required
def merge_start(request: HttpRequest, kind: str, ids: str) -> HttpResponse:
    """The merge page of ``kind`` records ``ids`` ("12,34"): choose the record to keep
    (``?survivor=``, default the first), then the value of each field; POST merges. With a
    single id ("12", the "Merge…" button of a record's page) it first asks for the other record."""
    model = selectors.model_for(kind)
    require_or_403(request.user, model, "view")
    if "," not in ids:
        return _pick_other(request, kind, model, ids)
    wanted = _parse_ids(ids)
    if len(wanted) < 2:
        raise Http404("ids")
    params = request.POST if request.method == "POST" else request.GET
    survivor_id = params.get("survivor", "")
    survivor_pk = int(survivor_id) if survivor_id.isdigit() and int(survivor_id) in wanted else wanted[0]
    survivor, others = selectors.records_for_merge(request.user, model, survivor_pk,
                                                   [pk for pk in wanted if pk != survivor_pk])
    error = ""
    if request.method == "POST":
        chosen = {name[len("field_"):]: int(value) for name in request.POST
                  if name.startswith("field_") and (value := request.POST.get(name, "")).isdigit() and len(value) < 19}
        try:
            kept = services.merge_records(model, survivor, others, chosen_values=chosen, actor=actor_of(request))
        except DomainError as refusal:
            error = refusal.message + "".join(f" {name}: {' '.join(texts)}" for name, texts in refusal.fields.items())
        else:
            messages.success(request, _("%(count)d records were merged into %(record)s.")
                             % {"count": len(others), "record": kept})
            return htmx_redirect(request, _detail_url(kind, kept.pk) or reverse("crm:duplicate_list"))
    preview = services.merge_preview(model, survivor, others, actor=request.user)  # type: ignore[arg-type]
    may_merge = (access.allows(request.user, survivor, "change")
                 and all(access.allows(request.user, other, "delete") for other in others))
    return render(request, "crm/merging/merge.html", {
        "title": _("Merge %(records)s") % {"records": model._meta.verbose_name_plural},
        "preview": preview, "records": _columns(kind, preview), "kind": kind, "ids": ids, "error": error,
        "may_merge": may_merge, "form_action": reverse("crm:merge_start", args=[kind, ids]),
    })


def _columns(kind: str, preview: services.MergePreview) -> list[dict[str, Any]]:
    return [{"pk": record.pk, "name": str(record), "url": _detail_url(kind, record.pk),
             "survivor": record.pk == preview.survivor.pk} for record in preview.records]

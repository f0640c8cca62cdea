"""REST API of the duplicate queue and the merge tool, mounted under /api/v1/crm/ (thin)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from bizloom.crm.merging import jobs, queue, selectors, services
from bizloom.crm.merging.schemas import (
    MergeIn,
    MergeOut,
    MergeSelection,
    PairFilters,
    PairOut,
    PairPage,
    PreviewOut,
    ScanOut,
    ref,
)
from bizloom.crm.models import DuplicatePair
from bizloom.platform import access
from bizloom.platform.api.pagination import PageParams, paginate
from bizloom.platform.api.schemas import RecordId

router = Router(tags=["crm"])


def _pair_rows(pairs: list[DuplicatePair], user: Any) -> list[dict[str, Any]]:
    found = queue.records_of(pairs)
    rows = []
    for pair in pairs:
        first, second = found.get((pair.content_type_id, pair.first_id)), found.get((pair.content_type_id,
                                                                                      pair.second_id))
        if first is None or second is None:
            continue
        value = queue.shown_value(pair, type(first), user)
        rows.append({"id": pair.pk, "type": pair.content_type.model, "rule": pair.rule, "value": value,
                     "status": pair.status, "first": ref(first), "second": ref(second),
                     "detected_at": pair.detected_at, "resolved_at": pair.resolved_at})
    return rows


@router.get("/duplicates", response=PairPage, operation_id="crm_duplicate_list",
            description="Possible duplicates among accounts, contacts and leads: only pairs whose two records you "
            "may see. Filter by type (account, contact, lead), rule and status (default open).")
def list_duplicates(request: HttpRequest, filters: Query[PairFilters], page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, DuplicatePair, "view")
    pairs = queue.list_pairs(request.user, status=filters.status, kind=filters.type or "", rule=filters.rule or "")
    result = paginate(pairs, page)
    result["results"] = _pair_rows(result["results"], request.user)
    return result


@router.post("/duplicates/scan", response={202: ScanOut}, operation_id="crm_duplicate_scan",
             description="Start a scan of accounts, contacts and leads for new candidate pairs (runs on the worker).")
def scan(request: HttpRequest) -> Status[dict[str, Any]]:
    access.require(request.user, DuplicatePair, "add")
    jobs.scan_duplicates.enqueue()
    return Status(202, {"queued": True, "detail": _("The scan has started; new pairs appear when it is done.")})


def _visible_pair(request: HttpRequest, pair_id: int) -> DuplicatePair:
    pair = queue.list_pairs(request.user, status="").filter(pk=pair_id).first()
    if pair is None:
        raise Http404("pair")
    return pair


@router.post("/duplicates/{pair_id}/dismiss", response=PairOut,
             operation_id="crm_duplicate_dismiss", description="Mark the pair \"not duplicates\" (409 when resolved).")
def dismiss(request: HttpRequest, pair_id: RecordId) -> dict[str, Any]:
    access.require(request.user, DuplicatePair, "change")
    pair = queue.dismiss_pair(_visible_pair(request, pair_id), actor=request.user)  # type: ignore[arg-type]
    return _pair_rows([pair], request.user)[0]


def _selection(request: HttpRequest, payload: MergeSelection) -> tuple[Any, Any, list[Any]]:
    model = selectors.model_for(payload.type)
    access.require(request.user, model, "view")
    survivor, others = selectors.records_for_merge(request.user, model, payload.survivor, payload.others)
    return model, survivor, others


@router.post("/merge/preview", response=PreviewOut, operation_id="crm_merge_preview",
             description="Every field of the records side by side with the value kept by default, and the "
             "references that will move to the survivor. Nothing is changed.")
def preview(request: HttpRequest, payload: MergeSelection) -> dict[str, Any]:
    model, survivor, others = _selection(request, payload)
    found = services.merge_preview(model, survivor, others, actor=request.user)  # type: ignore[arg-type]
    return {"type": payload.type, "survivor": ref(found.survivor), "others": [ref(o) for o in found.others],
            "fields": [{"name": row.name, "label": row.label, "chosen": row.chosen, "differs": row.differs,
                        "values": [{"record": pk, "value": text} for pk, text in row.values]} for row in found.fields],
            "moves": [{"label": move.label, "count": move.count} for move in found.moves]}


@router.post("/merge", response=MergeOut, operation_id="crm_merge_perform",
             description="Merge the other records into the survivor: chosen values, every reference repointed, "
             "the others deleted. Needs change on the survivor and delete on the others.")
def merge(request: HttpRequest, payload: MergeIn) -> dict[str, Any]:
    model, survivor, others = _selection(request, payload)
    kept = services.merge_records(model, survivor, others, chosen_values=payload.chosen,
                                  actor=request.user)  # type: ignore[arg-type]
    return {"type": payload.type, "survivor": ref(kept), "merged": [o.pk for o in others]}

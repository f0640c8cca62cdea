"""Import jobs in the REST API: /api/v1/integration/imports… (issue #5). Thin: services write, selectors read.

Upload a file (multipart) → a batch (the job resource); optionally change its mapping;
``POST …/dry-run`` and ``…/run`` queue the work (202) — poll ``GET …/{id}`` for status,
counts and progress, read the per-row results page by page, fetch ``…/errors.csv``, and
``POST …/undo`` an imported batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from bizloom.integration.imports import selectors, services
from bizloom.integration.imports.declarations import get_declaration
from bizloom.integration.models import ImportBatch
from bizloom.platform import exporting
from bizloom.platform.api.pagination import Page, PageParams, paginate
from bizloom.platform.api.problem import ApiProblem
from bizloom.platform.api.schemas import RecordId, WriteSchema
from bizloom.platform.models import User

router = Router(tags=["integration"])


class ImportProgressOut(Schema):
    """Rows processed so far out of the rows in the file."""

    done: int
    total: int


class ImportCountsOut(Schema):
    """Outcome counts of the last run (dry or real)."""

    created: int
    updated: int
    unchanged: int
    skipped: int
    errors: int


class ImportBatchOut(Schema):
    """An import job: the uploaded file, its mapping and options, status, counts and progress."""

    id: int
    declaration: str
    filename: str
    sha256: str
    size: int
    format: str
    encoding: str
    detected_encoding: str
    sheet: str
    headers: list[str]
    mapping: dict[str, str]
    options: dict[str, Any]
    status: str
    is_dry_run: bool
    counts: ImportCountsOut
    progress: ImportProgressOut
    error: str
    created_at: datetime
    finished_at: datetime | None
    same_file_batches: list[int] = Field(default_factory=list, description="Earlier batches of the same file.")


class ImportRowErrorOut(Schema):
    """One problem of a row: the file's column (None for the whole row) and a readable message."""

    column: str | None
    field: str
    message: str


class ImportRowOut(Schema):
    """What happened (or would happen) to one row of the file."""

    number: int
    outcome: str
    object_id: str
    label: str
    note: str
    errors: list[ImportRowErrorOut]


class ImportRowPage(Page[ImportRowOut]):
    """A page of row results."""


class ImportBatchDetailOut(ImportBatchOut):
    """A batch with one page of its row results (``?page``, ``?page_size``, ``?outcome``)."""

    rows: ImportRowPage


class ImportBatchPage(Page[ImportBatchOut]):
    """A page of the user's import batches."""


class ImportMappingIn(WriteSchema):
    """A new column mapping (column header → field key, "" for not imported) and options."""

    mapping: dict[str, str] = Field(max_length=500)
    duplicates: str | None = Field(None, pattern="^(skip|update|create)$")
    source: str | None = Field(None, max_length=100)
    save_template: bool = False


class RowFilter(Schema):
    """Filter of row results."""

    outcome: str | None = Field(None, pattern="^(create|update|unchanged|duplicate|error)$")


def batch_out(batch: ImportBatch) -> dict[str, Any]:
    """The API view of ``batch``."""
    done, total = services.read_progress(batch)
    return {
        "id": batch.pk, "declaration": batch.declaration, "filename": batch.filename, "sha256": batch.sha256,
        "size": batch.size, "format": batch.file_format, "encoding": batch.encoding,
        "detected_encoding": batch.detected_encoding, "sheet": batch.sheet, "headers": batch.headers,
        "mapping": batch.mapping, "options": batch.options, "status": batch.status, "is_dry_run": batch.is_dry_run,
        "counts": {"created": batch.created_count, "updated": batch.updated_count,
                   "unchanged": batch.unchanged_count, "skipped": batch.skipped_count, "errors": batch.error_count},
        "progress": {"done": done, "total": total}, "error": batch.error, "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "same_file_batches": [b.pk for b in services.same_file_batches(batch.declaration, batch.sha256,
                                                                       exclude=batch.pk)],
    }


def _batch(request: HttpRequest, batch_id: int) -> ImportBatch:
    return selectors.get_batch(request.user, batch_id)


def _require_import(user: Any, declaration: str) -> None:
    try:
        spec = get_declaration(declaration)
    except KeyError:
        message = _("Unknown object type “%(key)s”.") % {"key": declaration}
        raise ApiProblem(422, message, code="unknown_declaration", errors={"declaration": [message]}) from None
    spec.require(user, "import")


@router.post("/imports", response={201: ImportBatchOut}, operation_id="integration_import_create")
def create_import(request: HttpRequest, file: File[UploadedFile], declaration: Form[str],
                  encoding: Form[str] = "", sheet: Form[str] = "", duplicates: Form[str] = "skip",
                  source: Form[str] = "", confirm_same_file: Form[bool] = False) -> Status[dict[str, Any]]:
    """Upload a CSV or XLSX file for ``declaration`` (e.g. ``crm.account``): a batch with a proposed mapping.

    The same file uploaded again for the same object type answers 422 ``same_file`` unless
    ``confirm_same_file`` is true. Needs the model's import permission.
    """
    _require_import(request.user, declaration[:100])
    if duplicates not in ("skip", "update", "create"):
        raise ApiProblem(422, _("Choose skip, update or create for duplicates."), code="invalid_option",
                         errors={"duplicates": [_("Choose skip, update or create.")]})
    user: User = request.user  # type: ignore[assignment]
    batch = services.upload_batch(file.chunks(), filename=(file.name or "upload")[:255], declaration=declaration,
                                  actor=user, encoding=encoding[:40], sheet=sheet[:100],
                                  options={"duplicates": duplicates, "source": source},
                                  confirm_duplicate_file=confirm_same_file)
    return Status(201, batch_out(batch))


@router.get("/imports", response=ImportBatchPage, operation_id="integration_import_list")
def list_imports(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Your import batches, newest first."""
    result = paginate(selectors.list_batches(request.user), page)
    result["results"] = [batch_out(b) for b in result["results"]]
    return result


@router.get("/imports/{batch_id}", response=ImportBatchDetailOut, operation_id="integration_import_get")
def get_import(request: HttpRequest, batch_id: RecordId, page: Query[PageParams],
               filters: Query[RowFilter]) -> dict[str, Any]:
    """Status, counts and progress of a batch, with a page of its row results."""
    batch = _batch(request, batch_id)
    rows = paginate(selectors.list_rows(batch, outcome=filters.outcome or ""), page)
    return {**batch_out(batch), "rows": rows}


@router.put("/imports/{batch_id}/mapping", response=ImportBatchOut, operation_id="integration_import_mapping")
def set_import_mapping(request: HttpRequest, batch_id: RecordId, payload: ImportMappingIn) -> dict[str, Any]:
    """Replace the column mapping (and options) before a run; 422 names each unusable column."""
    batch = _batch(request, batch_id)
    _require_import(request.user, batch.declaration)
    options = {k: v for k, v in (("duplicates", payload.duplicates), ("source", payload.source)) if v is not None}
    batch = services.set_mapping(batch, payload.mapping, options, actor=request.user,  # type: ignore[arg-type]
                                 save_template=payload.save_template)
    return batch_out(batch)


def _start(request: HttpRequest, batch_id: int, *, dry_run: bool) -> Status[dict[str, Any]]:
    batch = _batch(request, batch_id)
    _require_import(request.user, batch.declaration)
    batch = services.start_run(batch, dry_run=dry_run, actor=request.user)  # type: ignore[arg-type]
    batch.refresh_from_db()
    return Status(202, batch_out(batch))


@router.post("/imports/{batch_id}/dry-run", response={202: ImportBatchOut}, operation_id="integration_import_dry_run")
def dry_run_import(request: HttpRequest, batch_id: RecordId) -> Status[dict[str, Any]]:
    """Queue a dry run: every row is processed as in the real run, then everything is rolled back."""
    return _start(request, batch_id, dry_run=True)


@router.post("/imports/{batch_id}/run", response={202: ImportBatchOut}, operation_id="integration_import_run")
def run_import(request: HttpRequest, batch_id: RecordId) -> Status[dict[str, Any]]:
    """Queue the real run; the batch commits completely or not at all."""
    return _start(request, batch_id, dry_run=False)


@router.post("/imports/{batch_id}/undo", response=ImportBatchOut, operation_id="integration_import_undo")
def undo_import(request: HttpRequest, batch_id: RecordId) -> dict[str, Any]:
    """Undo an imported batch (409 naming the record when something refers to one of its records)."""
    batch = _batch(request, batch_id)
    batch = services.undo_batch(batch, actor=request.user)  # type: ignore[arg-type]
    return batch_out(batch)


@router.get("/imports/{batch_id}/errors.csv", response={200: None}, operation_id="integration_import_errors",
            openapi_extra={"responses": {"200": {"description": "CSV (UTF-8 with BOM)",
                                                 "content": {"text/csv": {}}}}})
def import_errors(request: HttpRequest, batch_id: RecordId) -> StreamingHttpResponse:
    """The rows with errors, as in the file, plus an "错误 / Errors" column: fix and upload again."""
    batch = _batch(request, batch_id)
    try:
        header, rows = selectors.error_file_rows(batch)
    except selectors.ErrorFilePruned as gone:
        raise ApiProblem(410, gone.message, code="batch_pruned") from None
    stem = batch.filename.rsplit(".", 1)[0] or "import"
    return exporting.csv_response(f"{stem}-errors.csv", header, rows)


"""Import pages (issue #5): upload, mapping, dry-run report, run with a live progress bar, undo, error file.

Thin: the services do the work, the selectors read; every page checks the import
permission of the batch's object type.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bizloom.common.errors import DomainError, PermissionDeniedError
from bizloom.integration.imports import selectors, services
from bizloom.integration.imports.declarations import ImportDeclaration, declarations, get_declaration
from bizloom.integration.imports.forms import EncodingForm, MappingForm, UploadForm
from bizloom.integration.models import ImportBatch, ImportBatchRow
from bizloom.platform import exporting
from bizloom.platform.forms_kit import apply_domain_error

ROWS_PER_PAGE = 100
ACTIVE = (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING)


def _importable(user: Any) -> list[ImportDeclaration]:
    return [d for d in declarations() if d.may(user, "import")]


def _batch(request: HttpRequest, pk: int) -> ImportBatch:
    batch = selectors.get_batch(request.user, pk)
    _require_import(request.user, get_declaration(batch.declaration))
    return batch


def _require_import(user: Any, spec: ImportDeclaration) -> None:
    try:
        spec.require(user, "import")
    except PermissionDeniedError as error:
        raise PermissionDenied(error.message) from error


@login_required
@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    """The user's import batches, newest first."""
    kinds = _importable(request.user)
    if not kinds:
        raise PermissionDenied(_("You do not have permission to import records."))
    page = Paginator(selectors.list_batches(request.user), 50).get_page(request.GET.get("page"))
    labels = {d.key: d.label for d in declarations()}
    return render(request, "integration/imports/batch_list.html", {"page": page, "labels": labels})


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Choose the object type and the file; warns when the same file was uploaded before."""
    kinds = _importable(request.user)
    if not kinds:
        raise PermissionDenied(_("You do not have permission to import records."))
    form = UploadForm(request.POST or None, request.FILES or None, declarations=kinds,
                      initial={"declaration": request.GET.get("type", "")})
    same_file = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        _require_import(request.user, get_declaration(data["declaration"]))
        try:
            batch = services.upload_batch(
                data["file"].chunks(), filename=data["file"].name, declaration=data["declaration"],
                actor=request.user, encoding=data["encoding"], sheet=data["sheet"],  # type: ignore[arg-type]
                options={"duplicates": data["duplicates"], "source": data["source"]},
                confirm_duplicate_file=data["confirm_same_file"])
        except DomainError as error:
            same_file = error.code == "same_file"
            if error.fields.get("file"):
                form.add_error("file" if not same_file else None, error.fields["file"][0])
            else:
                apply_domain_error(form, error)
        else:
            return redirect("imports:detail", pk=batch.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "integration/imports/upload.html", {"form": form, "same_file": same_file},
                  status=status)


def _field_choices(batch: ImportBatch, user: Any) -> list[tuple[str, str]]:
    spec = get_declaration(batch.declaration)
    policy = spec.field_policy(user)
    labels = spec.field_labels(user)
    return [(key, label) for key, label in labels.items() if key not in policy.unwritable]


def _mapping_form(batch: ImportBatch, user: Any, data: Any = None) -> MappingForm:
    initial: dict[str, Any] = {f"col_{i}": batch.mapping.get(h, "") for i, h in enumerate(batch.headers)}
    initial.update(duplicates=batch.options.get("duplicates", "skip"), source=batch.options.get("source", ""))
    return MappingForm(data, headers=batch.headers, field_choices=_field_choices(batch, user), initial=initial)


def _detail_context(request: HttpRequest, batch: ImportBatch, **extra: Any) -> dict[str, Any]:
    outcome = request.GET.get("outcome", "")
    if outcome not in ImportBatchRow.Outcome.values:
        outcome = ""
    rows = Paginator(selectors.list_rows(batch, outcome=outcome), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    done, total = services.read_progress(batch)
    return {
        "batch": batch, "label": get_declaration(batch.declaration).label, "rows": rows, "outcome": outcome,
        "outcomes": ImportBatchRow.Outcome.choices, "done": done, "total": total,
        "percent": int(done * 100 / total) if total else 0, "active": batch.status in ACTIVE,
        "editable": batch.status in services.RUNNABLE,
        "same_file": services.same_file_batches(batch.declaration, batch.sha256, exclude=batch.pk),
        "encoding_form": EncodingForm(initial={"encoding": batch.encoding if batch.encoding != batch.detected_encoding
                                               else "", "sheet": batch.sheet}),
        "mapping_form": extra.pop("mapping_form", None) or _mapping_form(batch, request.user),
        **extra,
    }


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Mapping, options, run buttons, progress and the report of the last run."""
    batch = _batch(request, pk)
    return render(request, "integration/imports/batch_detail.html", _detail_context(request, batch))


@login_required
@require_GET
def batch_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial, polled every second while the batch is queued or running.

    Once the run has finished it asks the page to reload (``HX-Refresh``) to show the report.
    """
    batch = _batch(request, pk)
    context = _detail_context(request, batch)
    response = render(request, "integration/imports/_progress.html", context)
    if not context["active"] and request.GET.get("was") == "active":
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def batch_encoding(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the file again with the chosen encoding or sheet."""
    batch = _batch(request, pk)
    form = EncodingForm(request.POST)
    if form.is_valid():
        try:
            services.reread_batch(batch, encoding=form.cleaned_data["encoding"], sheet=form.cleaned_data["sheet"],
                                  actor=request.user)  # type: ignore[arg-type]
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("imports:detail", pk=batch.pk)


def _save_mapping(request: HttpRequest, batch: ImportBatch) -> MappingForm | None:
    """Save the posted mapping; returns the form with errors when it cannot be used."""
    form = _mapping_form(batch, request.user, request.POST)
    if not form.is_valid():
        return form
    try:
        services.set_mapping(batch, form.mapping(), {"duplicates": form.cleaned_data["duplicates"],
                                                     "source": form.cleaned_data["source"]},
                             actor=request.user, save_template=form.cleaned_data["save_template"])  # type: ignore[arg-type]
    except DomainError as error:
        columns = {header: index for index, header in enumerate(batch.headers)}
        for key, problems in error.fields.items():
            for problem in problems:
                form.add_error(f"col_{columns[key]}" if key in columns else None, problem)
        if not error.fields:
            form.add_error(None, error.message)
        return form
    return None


@login_required
@require_POST
def batch_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the mapping and options."""
    batch = _batch(request, pk)
    invalid = _save_mapping(request, batch)
    if invalid is not None:
        return render(request, "integration/imports/batch_detail.html",
                      _detail_context(request, batch, mapping_form=invalid), status=422)
    messages.success(request, _("Mapping saved."))
    return redirect("imports:detail", pk=batch.pk)


def _start(request: HttpRequest, pk: int, *, dry_run: bool) -> HttpResponse:
    batch = _batch(request, pk)
    if "duplicates" in request.POST:  # the mapping form's buttons save it first
        invalid = _save_mapping(request, batch)
        if invalid is not None:
            return render(request, "integration/imports/batch_detail.html",
                          _detail_context(request, batch, mapping_form=invalid), status=422)
        batch.refresh_from_db()
    try:
        services.start_run(batch, dry_run=dry_run, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, "; ".join([error.message, *(m for ms in error.fields.values() for m in ms)]))
    return redirect(reverse("imports:detail", kwargs={"pk": batch.pk}))


@login_required
@require_POST
def batch_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a dry run (nothing is saved)."""
    return _start(request, pk, dry_run=True)


@login_required
@require_POST
def batch_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the real import."""
    return _start(request, pk, dry_run=False)


@login_required
@require_POST
def batch_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo an imported batch, or say what prevents it."""
    batch = _batch(request, pk)
    try:
        services.undo_batch(batch, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The import was undone."))
    return redirect("imports:detail", pk=batch.pk)


@login_required
@require_GET
def batch_errors(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The error file: rows with errors as in the file, plus the “错误 / Errors” column."""
    batch = _batch(request, pk)
    try:
        header, rows = selectors.error_file_rows(batch)
    except selectors.ErrorFilePruned as gone:
        messages.error(request, gone.message)
        return redirect("imports:detail", pk=batch.pk)
    stem = batch.filename.rsplit(".", 1)[0] or "import"
    return exporting.csv_response(f"{stem}-errors.csv", header, rows)

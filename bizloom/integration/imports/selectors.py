"""Reads of import batches: a user sees the batches they uploaded (issue #5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from bizloom.integration.imports.declarations import get_declaration
from bizloom.integration.models import ImportBatch, ImportBatchRow, ImportMappingTemplate

ERROR_COLUMN = "错误 / Errors"


class ErrorFilePruned(Exception):
    """The batch's files were deleted after the retention period (``services.prune_old_files``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def list_batches(user: Any) -> QuerySet[ImportBatch]:
    """The batches ``user`` uploaded whose object type they may still import, newest first."""
    allowed = []
    for key in ImportBatch.objects.filter(user=user.pk).values_list("declaration", flat=True).distinct():
        try:
            if get_declaration(key).may(user, "import"):
                allowed.append(key)
        except KeyError:
            continue
    return ImportBatch.objects.filter(user=user.pk, declaration__in=allowed).order_by("-created_at", "-pk")


def get_batch(user: Any, pk: int) -> ImportBatch:
    """One of ``user``'s batches, or Http404 (another user's batch does not exist for them)."""
    return get_object_or_404(list_batches(user), pk=pk)


def list_rows(batch: ImportBatch, *, outcome: str = "") -> QuerySet[ImportBatchRow]:
    """The per-row results of ``batch``'s last run, by row number; one outcome when given."""
    rows = ImportBatchRow.objects.filter(batch=batch).order_by("number")
    return rows.filter(outcome=outcome) if outcome else rows


def list_templates(declaration: str) -> QuerySet[ImportMappingTemplate]:
    """Saved mappings of an object type, by source name."""
    return ImportMappingTemplate.objects.filter(declaration=declaration).order_by("source")


def error_file_rows(batch: ImportBatch) -> tuple[list[str], Iterator[list[str]]]:
    """Header and rows of the error file: the original cells of rows with errors plus an error column.

    Raises ErrorFilePruned once the batch's files were deleted. Each error reads
    ``<column>: <message>`` (the column omitted when the error concerns the whole row); several
    errors are separated by a line break.
    """
    if batch.pruned_at is not None:
        raise ErrorFilePruned(_("The error file of this batch was deleted with its upload; run the file again."))
    header = [*batch.headers, ERROR_COLUMN]

    def rows() -> Iterator[list[str]]:
        for row in list_rows(batch, outcome=ImportBatchRow.Outcome.ERROR).iterator(chunk_size=2000):
            values = list(row.values or [])
            values = (values + [""] * len(batch.headers))[: len(batch.headers)]
            messages = [f"{e['column']}: {e['message']}" if e.get("column") else str(e.get("message", ""))
                        for e in row.errors]
            yield [*values, "\n".join(messages) or _("Error")]

    return header, rows()

"""Import use cases (issue #5): upload, map, dry run, run, undo, mapping templates.

A batch's real run is one database transaction: if the process dies half-way nothing of
the batch remains (the batch row itself stays "running", never "done"). The dry run is
the same code in the same kind of transaction, rolled back at the end. Writes go through
the declaration's services with the audit channel set to ``import``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.integration.importing import ImportFileError, Limits, match_headers, read_table
from bizloom.integration.imports import bulk, engine, progress
from bizloom.integration.imports.declarations import ImportDeclaration, get_declaration
from bizloom.integration.imports.selectors import ERROR_COLUMN
from bizloom.integration.imports.writer import BackgroundWriter
from bizloom.integration.models import ExternalId, ImportBatch, ImportBatchRow, ImportMappingTemplate
from bizloom.platform.middleware_context import use_channel
from bizloom.platform.models import User

logger = logging.getLogger("bizloom.imports")

IMPORT_DIR = "imports"
ROW_WRITE_CHUNK = 2000
Status = ImportBatch.Status
RUNNABLE = (Status.UPLOADED, Status.DRY_RUN_DONE, Status.FAILED)


def declaration_for(key: str) -> ImportDeclaration:
    """The declaration ``key``; ValidationFailed when there is none."""
    try:
        return get_declaration(key)
    except KeyError:
        message = _("Unknown object type “%(key)s”.") % {"key": key}
        raise ValidationFailed(message, code="unknown_declaration", fields={"declaration": [message]}) from None


def batch_path(batch: ImportBatch) -> Path:
    """The stored file of ``batch``; ValueError if the stored path leaves MEDIA_ROOT/imports."""
    folder = (Path(settings.MEDIA_ROOT) / IMPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / batch.file_path).resolve()
    if not batch.file_path or path.parent != folder:
        raise ValueError(f"import file outside {folder}: {batch.file_path!r}")
    return path


def _store(chunks: Iterator[bytes], limits: Limits) -> tuple[str, str, int]:
    folder = Path(settings.MEDIA_ROOT) / IMPORT_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    relative = f"{IMPORT_DIR}/{secrets.token_urlsafe(24)}"
    digest, size = hashlib.sha256(), 0
    path = Path(settings.MEDIA_ROOT) / relative
    with open(path, "wb") as handle:
        for chunk in chunks:
            size += len(chunk)
            if size > limits.max_bytes:
                handle.close()
                path.unlink(missing_ok=True)
                raise _file_error(engine_error("file_too_large", limits))
            digest.update(chunk)
            handle.write(chunk)
    path.chmod(0o600)
    return relative, digest.hexdigest(), size


def engine_error(code: str, limits: Limits) -> ImportFileError:
    """The reader's standard error ``code`` (only ``file_too_large`` is raised here)."""
    from bizloom.integration.importing.errors import error
    from bizloom.integration.importing.limits import _mb

    return error(code, size_mb=_mb(limits.max_bytes + 1), limit_mb=_mb(limits.max_bytes))


def _file_error(exc: ImportFileError) -> ValidationFailed:
    return ValidationFailed(exc.message, code=exc.code, fields={"file": [exc.message]})


def same_file_batches(declaration: str, sha256: str, *, exclude: int | None = None) -> list[ImportBatch]:
    """Earlier batches of the same file (hash) and object type that were not undone."""
    batches = ImportBatch.objects.filter(declaration=declaration, sha256=sha256).exclude(status=Status.UNDONE)
    if exclude is not None:
        batches = batches.exclude(pk=exclude)
    return list(batches.order_by("-created_at"))


def upload_batch(chunks: Iterator[bytes], *, filename: str, declaration: str, actor: User,
                 encoding: str = "", sheet: str = "", options: Mapping[str, Any] | None = None,
                 confirm_duplicate_file: bool = False, limits: Limits | None = None) -> ImportBatch:
    """Store an uploaded file, read its header and propose a mapping; returns the new batch.

    The caller has checked ``access.require(actor, model, "import")``. Raises ValidationFailed
    (code ``same_file``) when the same file was already imported for this object type and
    ``confirm_duplicate_file`` is false, or with the reader's error code when the file cannot be
    read (nothing is kept then). The mapping comes from the template of ``options["source"]`` when
    there is one, otherwise from automatic header matching.
    """
    spec = declaration_for(declaration)
    limits = limits or Limits()
    relative, sha256, size = _store(chunks, limits)
    path = Path(settings.MEDIA_ROOT) / relative
    try:
        earlier = same_file_batches(spec.key, sha256)
        if earlier and not confirm_duplicate_file:
            first = earlier[0]
            message = _("This file was already uploaded on %(when)s as “%(name)s” (batch %(id)s). "
                        "Confirm to import it again.") % {
                "when": timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M"), "name": first.filename,
                "id": first.pk}
            raise ValidationFailed(message, code="same_file", fields={"file": [message]}, batch=first.pk)
        try:
            with read_table(path, filename=filename, encoding=encoding or None, sheet=sheet or None,
                            limits=limits) as table:
                headers, detected, total = table.headers, table.detected, _count(table)
        except ImportFileError as exc:
            raise _file_error(exc) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    clean_options = {"duplicates": engine.Options.from_dict(options or {}).duplicates,
                     "source": str((options or {}).get("source") or "").strip()[:100]}
    mapping = _template_mapping(spec.key, clean_options["source"], headers)
    if mapping is None:
        proposal = match_headers(headers, spec.field_specs(actor))
        policy = spec.field_policy(actor)
        mapping = {column.header: column.field for column in proposal.columns
                   if column.field is not None and column.field not in policy.unwritable
                   and column.header != ERROR_COLUMN}
    batch = ImportBatch.objects.create(
        user=actor, declaration=spec.key, filename=filename[:255], sha256=sha256, size=size, file_path=relative,
        file_format=detected.format, encoding=encoding if encoding else (detected.encoding or ""),
        detected_encoding=detected.encoding or "", encoding_confidence=detected.confidence,
        sheet=detected.sheet or sheet or "", headers=headers, mapping=mapping, options=clean_options,
        rows_total=total)
    return batch


def _count(table: Any) -> int:
    """The rows of an open table (read to the end: a file over the row limit, or broken further down,
    is refused on upload rather than when it runs)."""
    return sum(1 for _row in table.rows)


@transaction.atomic
def reread_batch(batch: ImportBatch, *, encoding: str = "", sheet: str = "", actor: User) -> ImportBatch:
    """Read ``batch``'s file again with another encoding or sheet (the user overrides the guess).

    Headers and the proposed mapping are refreshed (columns whose header did not change keep
    their field). Raises ValidationFailed with the reader's code when the file cannot be read
    that way, DomainError when the batch has been imported.
    """
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in RUNNABLE:
        raise DomainError(_("The mapping of a batch that was imported cannot change."), code="batch_not_editable")
    spec = declaration_for(batch.declaration)
    try:
        with read_table(batch_path(batch), filename=batch.filename, encoding=encoding or None, sheet=sheet or None,
                        ) as table:
            headers, detected, total = table.headers, table.detected, _count(table)
    except ImportFileError as exc:
        raise _file_error(exc) from None
    proposal = match_headers(headers, spec.field_specs(actor))
    policy = spec.field_policy(actor)
    mapping = {c.header: c.field for c in proposal.columns
               if c.field is not None and c.field not in policy.unwritable and c.header != ERROR_COLUMN}
    mapping.update({h: k for h, k in batch.mapping.items() if h in headers})
    batch.headers, batch.mapping = headers, mapping
    batch.encoding = encoding or (detected.encoding or "")
    batch.sheet = detected.sheet or sheet or ""
    batch.rows_total = total
    batch.save(update_fields=["headers", "mapping", "encoding", "sheet", "rows_total"])
    return batch


def _template_mapping(declaration: str, source: str, headers: list[str]) -> dict[str, str] | None:
    if not source:
        return None
    template = ImportMappingTemplate.objects.filter(declaration=declaration, source=source).first()
    if template is None:
        return None
    return {header: key for header, key in template.mapping.items() if header in headers}


@transaction.atomic
def set_mapping(batch: ImportBatch, mapping: Mapping[str, str], options: Mapping[str, Any] | None = None, *,
                actor: User, save_template: bool = False) -> ImportBatch:
    """Set the column mapping (header → field key; blank = not imported) and options of ``batch``.

    Raises ValidationFailed naming each column whose field is unknown, hidden or read-only
    for the actor, used twice, or required but unmapped; DomainError when the batch has run.
    With ``save_template`` the mapping is saved for its (object type, source) pair.
    """
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in RUNNABLE:
        raise DomainError(_("The mapping of a batch that was imported cannot change."), code="batch_not_editable")
    spec = declaration_for(batch.declaration)
    merged = {**batch.options, **(options or {})}
    opts = engine.Options.from_dict(merged)
    clean = {str(h): str(k) for h, k in mapping.items() if k}
    problems = engine.mapping_problems(spec, actor, batch.headers, clean, opts)
    if problems:
        raise ValidationFailed(_("The mapping cannot be used."), code="invalid_mapping", fields=problems)
    batch.mapping = clean
    batch.options = {"duplicates": opts.duplicates, "source": opts.source[:100]}
    batch.save(update_fields=["mapping", "options"])
    if save_template and opts.source:
        ImportMappingTemplate.objects.update_or_create(
            declaration=batch.declaration, source=opts.source, defaults={"mapping": clean, "updated_by": actor})
    return batch


@transaction.atomic
def start_run(batch: ImportBatch, *, dry_run: bool, actor: User) -> ImportBatch:
    """Queue a dry run or the real run of ``batch``; the task :func:`~.tasks.run_import` runs it after commit.

    Raises DomainError when the batch is already queued, running, imported or undone, and
    ValidationFailed when its mapping cannot be used (checked again in the worker).
    """
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status not in RUNNABLE:
        raise DomainError(_("This batch cannot run now (it is %(status)s).") % {"status": locked.get_status_display()},
                          code="batch_not_runnable")
    if locked.pruned_at is not None:
        raise DomainError(_("The file of this batch was deleted after %(days)s days; upload it again.")
                          % {"days": retention_days()}, code="batch_pruned")
    spec = declaration_for(locked.declaration)
    problems = engine.mapping_problems(spec, actor, locked.headers, locked.mapping,
                                       engine.Options.from_dict(locked.options))
    if problems:
        raise ValidationFailed(_("The mapping cannot be used."), code="invalid_mapping", fields=problems)
    locked.status = Status.QUEUED
    locked.is_dry_run = dry_run
    locked.error = ""
    locked.rows_done = 0
    locked.save(update_fields=["status", "is_dry_run", "error", "rows_done"])
    from bizloom.integration.imports.tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(locked.pk, dry_run), robust=False)
    return locked


def read_progress(batch: ImportBatch) -> tuple[int, int]:
    """(rows processed, rows in the file) of a batch: live while it runs (see :mod:`.progress`), stored afterwards."""
    if batch.status == Status.RUNNING:
        live = progress.read(batch.pk)
        if live is not None:
            return live
    return batch.rows_done, batch.rows_total


def _count_rows(path: Path, batch: ImportBatch) -> int:
    """The rows of the batch's file: counted on upload (and when it is read again another way), else now."""
    if batch.rows_total:
        return batch.rows_total
    with read_table(path, filename=batch.filename, encoding=batch.encoding or None,
                    sheet=batch.sheet or None) as table:
        return _count(table)


def execute_batch(batch_id: int, *, dry_run: bool) -> ImportBatch:
    """Worker body: run a queued batch (dry or real) and store its results; returns the batch.

    Claims the batch (queued → running) in its own small transaction, so a second worker
    does nothing. The rows are processed in ONE transaction together with the per-row results
    of a real run; the dry run rolls that transaction back and stores the results after.
    Failures (file unreadable, permission gone, a crash) mark the batch failed with a message.
    """
    claimed = ImportBatch.objects.filter(pk=batch_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), is_dry_run=dry_run)
    batch = ImportBatch.objects.select_related("user").get(pk=batch_id)
    if not claimed:
        return batch
    user = batch.user
    reporter = progress.Reporter(batch.pk)
    phases = _Phases()
    try:
        spec = declaration_for(batch.declaration)
        if not user.is_active:
            raise DomainError(_("The user who uploaded this file is no longer active."))
        spec.require(user, "import")
        path = batch_path(batch)
        total = _count_rows(path, batch)
        ImportBatch.objects.filter(pk=batch.pk).update(rows_total=total, rows_done=0)
        batch.rows_total = total
        reporter.report(0, total)
        options = engine.Options.from_dict(batch.options)
        with use_channel("import", request_id=f"import-{batch.pk}"), engine.fewer_collections(), \
                bulk.large_cache(router.db_for_write(spec.model)), \
                read_table(path, filename=batch.filename, encoding=batch.encoding or None,
                           sheet=batch.sheet or None) as table:
            phases.end("start")
            with transaction.atomic():
                runner = engine.Engine(spec, user=user, headers=table.headers, mapping=batch.mapping,
                                       options=options)
                phases.end("index")
                # The real run replaces the dry run's results in its own transaction, on the writer's thread:
                # deleted while the first chunk is read, stored a chunk behind the records.
                forget = None if dry_run else (lambda writes: writes.delete(ImportBatchRow, "batch", batch.pk))
                store = None if dry_run else (lambda writes, rows: writes.insert_values(
                    ImportBatchRow, ROW_COLUMNS, _row_values(batch, rows)))
                result = runner.process(table.rows, progress=lambda done: reporter.report(done, total),
                                        first=forget, results=store)
                phases.end("rows")
                if dry_run:
                    transaction.set_rollback(True)
                else:
                    _finish(batch, result, dry_run=False, rows_stored=True)
            phases.end("rollback" if dry_run else "commit")
            if dry_run:
                with transaction.atomic():
                    _finish(batch, result, dry_run=True)
                phases.end("results")
            # Let the run's objects (its index, a result per row) go before the collector's usual
            # thresholds come back, or its first collection walks them all (0.4 s at 100,000 rows).
            del runner, result
    except (DomainError, ImportFileError) as exc:
        _fail(batch, exc.message)
    except Exception:
        logger.exception("import batch %s failed", batch_id)
        _fail(batch, _("The import stopped because of an internal error; nothing of it was saved."))
    finally:
        reporter.close()
    batch.refresh_from_db()
    if batch.status == Status.DONE and batch.created_count + batch.updated_count >= ANALYZE_AFTER_ROWS:
        bulk.analyze([spec.model, ExternalId])
        phases.end("analyze")
    if phases.seconds:
        logger.info("import batch %s (%s, %s rows): %s", batch.pk, "dry run" if dry_run else "run", batch.rows_done,
                    phases, extra={"import_phases": phases.seconds})
    return batch


class _Phases:
    """Seconds spent in each phase of a run, for the worker's log (and the benchmark's report)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def end(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._mark, 3)
        self._mark = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())


ANALYZE_AFTER_ROWS = 10_000
"""From this many records written, a committed import refreshes PostgreSQL's statistics of the records'
table and of the external ids (``bulk.analyze``), which the next steps look up: the duplicate queue's
check of the new records, the next import's upsert. Not of the audit entries (read by record, through
their index, whatever the statistics say) nor of the outbox, which gets one row per 100 events since
``publish_many`` groups them (1,000 rows for 100,000 contacts, not enough to mislead the planner):
autovacuum refreshes those in its own time."""


ROW_COLUMNS = ("batch", "number", "outcome", "object_id", "label", "note", "before", "errors", "values")


def _row_values(batch: ImportBatch, rows: list[engine.RowResult]) -> list[tuple[Any, ...]]:
    """The :data:`ROW_COLUMNS` of ``rows`` (the stored per-row results)."""
    return [(batch.pk, row.number, row.outcome, row.object_id, row.label[:255], row.note[:500], row.before,
             row.errors, row.values) for row in rows]


def _finish(batch: ImportBatch, result: engine.RunResult, *, dry_run: bool, rows_stored: bool = False) -> None:
    """Store the run's per-row results instead of the last run's (unless the run stored them: ``rows_stored``)
    and its counts."""
    if not rows_stored:
        _store_rows(batch, result.rows)
    counts = result.counts
    Outcome = ImportBatchRow.Outcome
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=Status.DRY_RUN_DONE if dry_run else Status.DONE, is_dry_run=dry_run,
        created_count=counts[Outcome.CREATE], updated_count=counts[Outcome.UPDATE],
        unchanged_count=counts[Outcome.UNCHANGED], skipped_count=counts[Outcome.DUPLICATE],
        error_count=counts[Outcome.ERROR], rows_done=len(result.rows), finished_at=timezone.now(), error="")


def _store_rows(batch: ImportBatch, rows: list[engine.RowResult]) -> None:
    """Replace the batch's stored per-row results by ``rows``, inside the caller's transaction.

    The statements go through the import's background writer, so each chunk's is built while the
    one before is written (the dry run stores 100,000 results after its rollback, with nothing else
    left to overlap them with).
    """
    with BackgroundWriter(ImportBatchRow) as writer:
        group = writer.group()
        group.delete(ImportBatchRow, "batch", batch.pk)
        for start in range(0, len(rows), ROW_WRITE_CHUNK):
            writer.submit(group)
            group = writer.group()
            group.insert_values(ImportBatchRow, ROW_COLUMNS, _row_values(batch, rows[start:start + ROW_WRITE_CHUNK]))
            if (error := writer.settle()) is not None:
                raise error
        writer.submit(group)
        if (error := writer.settle()) is not None:
            raise error


def _fail(batch: ImportBatch, message: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(status=Status.FAILED, error=message, finished_at=timezone.now())


@transaction.atomic
def undo_batch(batch: ImportBatch, *, actor: User) -> ImportBatch:
    """Undo an imported batch: delete the records it created, restore the ones it updated.

    All or nothing. Deletion goes through the declaration's delete service, which refuses
    records that something created since refers to: the DomainError (naming the record)
    is raised and nothing is undone. Audit entries are written with channel ``import``.
    Raises DomainError when the batch is not imported (or already undone).
    """
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status != Status.DONE:
        raise DomainError(_("Only an imported batch can be undone."), code="batch_not_undoable")
    spec = declaration_for(locked.declaration)
    spec.require(actor, "import")
    manager = spec.model._default_manager
    content_type = ContentType.objects.get_for_model(spec.model)
    rows = list(ImportBatchRow.objects.filter(batch=locked, outcome__in=(
        ImportBatchRow.Outcome.CREATE, ImportBatchRow.Outcome.UPDATE)).order_by("-number"))
    created = {row.object_id for row in rows if row.outcome == ImportBatchRow.Outcome.CREATE}
    with use_channel("import", request_id=f"import-undo-{locked.pk}"):
        for row in rows:
            if row.outcome != ImportBatchRow.Outcome.UPDATE or row.object_id in created or not row.before:
                continue
            obj = manager.filter(pk=row.object_id).first()
            if obj is None:
                continue
            link = row.before.get(engine.EXTERNAL_LINK_MARK)
            if link:
                ExternalId.objects.filter(content_type=content_type, source=link[0], value=link[1]).delete()
            spec.update(obj, engine.restore_data(spec.model, row.before), actor)
        for row in rows:
            if row.outcome != ImportBatchRow.Outcome.CREATE:
                continue
            obj = manager.filter(pk=row.object_id).first()
            if obj is None:
                continue
            ExternalId.objects.filter(content_type=content_type, object_id=row.object_id).delete()
            spec.delete(obj, actor)
    locked.status = Status.UNDONE
    locked.undone_at = timezone.now()
    locked.save(update_fields=["status", "undone_at"])
    return locked


def delete_template(template: ImportMappingTemplate, *, actor: User) -> None:
    """Remove a saved mapping template."""
    template.delete()


DEFAULT_RETENTION_DAYS = 30


def retention_days() -> int:
    """Days an import's uploaded file and error cells are kept (``BIZLOOM_IMPORT_RETENTION_DAYS``, default 30)."""
    import os

    value = getattr(settings, "BIZLOOM_IMPORT_RETENTION_DAYS", None) or os.environ.get("BIZLOOM_IMPORT_RETENTION_DAYS")
    try:
        return max(1, int(value)) if value else DEFAULT_RETENTION_DAYS
    except (TypeError, ValueError):
        return DEFAULT_RETENTION_DAYS


def prune_old_files(now: Any = None, *, days: int | None = None) -> int:
    """Delete the uploaded files and the error rows' original cells of batches older than the retention.

    The batch itself stays (who, when, file hash, mapping, counts) and so do its per-row results,
    which undo needs; only the copies of the customer's data go. A batch still queued or running
    is left alone. Returns how many batches were pruned.
    """
    from datetime import timedelta

    cutoff = (now or timezone.now()) - timedelta(days=days or retention_days())
    batches = ImportBatch.objects.filter(created_at__lt=cutoff, pruned_at__isnull=True).exclude(
        status__in=(Status.QUEUED, Status.RUNNING))
    pruned = 0
    for batch in batches.iterator():
        try:
            batch_path(batch).unlink(missing_ok=True)
        except ValueError:
            logger.warning("import batch %s has a file outside the import folder; not deleted", batch.pk)
        with transaction.atomic():
            ImportBatchRow.objects.filter(batch=batch, values__isnull=False).update(values=None)
            ImportBatch.objects.filter(pk=batch.pk).update(pruned_at=timezone.now())
        pruned += 1
    if pruned:
        logger.info("pruned the files of %s import batches older than %s", pruned, cutoff.isoformat())
    return pruned

"""List exports too large for a request: built in the worker, downloaded when ready (issue #5).

``export_view`` counts the rows of the user's export; above ``BIZLOOM_EXPORT_INLINE_MAX_ROWS``
(default 5,000) it calls :func:`start_export`, which records an :class:`ExportJob` and enqueues
:func:`run_export`. The task checks again that the owner may still view and export the list,
rebuilds the same access-restricted queryset from the saved parameters, writes
``MEDIA_ROOT/exports/<random>.<ext>`` and notifies the owner. Only the owner downloads the
file (``exportjobs:download``); :func:`prune_expired_exports` deletes it after
``BIZLOOM_EXPORT_RETENTION_HOURS`` (default 24).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import task

from bizloom.platform import access, exporting
from bizloom.platform.exportjobs.models import ExportJob
from bizloom.platform.listing.columns import ExportPlan
from bizloom.platform.notifications.kinds import register_kind
from bizloom.platform.notifications.services import notify

logger = logging.getLogger("bizloom.exports")

EXPORT_READY = register_kind("exports.ready", gettext_lazy("An export I asked for is ready"))
DEFAULT_INLINE_MAX_ROWS = 5_000
DEFAULT_RETENTION_HOURS = 24
DEFAULT_MAX_ACTIVE_JOBS = 3
EXPORT_DIR = "exports"
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def inline_max_rows() -> int:
    """The largest export built in the request (setting ``BIZLOOM_EXPORT_INLINE_MAX_ROWS``)."""
    return int(getattr(settings, "BIZLOOM_EXPORT_INLINE_MAX_ROWS", DEFAULT_INLINE_MAX_ROWS))


def retention() -> timedelta:
    """How long a finished export stays downloadable (setting ``BIZLOOM_EXPORT_RETENTION_HOURS``)."""
    return timedelta(hours=float(getattr(settings, "BIZLOOM_EXPORT_RETENTION_HOURS", DEFAULT_RETENTION_HOURS)))


def export_filename(heading: str, fmt: str) -> str:
    """``<heading>-<local time>.<fmt>``, e.g. ``客户-20260127-0930.xlsx``, safe on every file system."""
    stem = _UNSAFE_FILENAME.sub("-", heading).strip(" .-")[:80] or "export"
    return f"{stem}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{fmt}"


def export_rows(config: Any, user: Any, params: Any) -> tuple[list[str], Any, Iterator[list[Any]]]:
    """The header, the queryset and the typed rows of ``config``'s export for ``user`` and ``params``.

    The same as the list page: the user's field-restricted config, the parsed parameters, and
    records the user may both view (the list's queryset) and export. The rows are lazy.
    """
    from bizloom.platform.listing.config import ListState, filtered_queryset
    from bizloom.platform.listing.views import config_for

    config = config_for(config, user)
    state = ListState.from_params(config, params)
    columns = state.visible_columns
    header = [str(c.label) for c in columns]
    queryset = access.restrict(filtered_queryset(state, user), user, "export")
    plans = [c.export_plan(queryset.model) for c in columns]
    if all(plan is not None for plan in plans):
        return header, queryset, _planned_rows(queryset, plans)  # type: ignore[arg-type]
    exports = [c.export for c in columns]
    rows = ([export(obj) for export in exports] for obj in _narrowed(queryset, columns).iterator(chunk_size=2000))
    return header, queryset, rows


CHUNK_ROWS = 2000


def _planned_rows(queryset: Any, plans: Sequence[ExportPlan]) -> Iterator[list[Any]]:
    """The export rows from ``values_list`` (no model instances): the fast path of :func:`export_rows`.

    Each column's :class:`~bizloom.platform.listing.columns.ExportPlan` formats its slice of the
    fetched values; records at the end of a foreign key are read once per id (their ``str``).
    """
    fields: list[str] = []
    slices: list[tuple[int, ...]] = []
    for plan in plans:
        indexes = []
        for name in plan.fields:
            if name not in fields:
                fields.append(name)
            indexes.append(fields.index(name))
        slices.append(tuple(indexes))
    related: dict[type[Any], dict[Any, str]] = {}
    lookups = [(plan, index[0], related.setdefault(plan.related_model, {}))
               for plan, index in zip(plans, slices, strict=True) if plan.related_model is not None]
    formatters = [(plan.export, index, related.get(plan.related_model, {}) if plan.related_model else {})
                  for plan, index in zip(plans, slices, strict=True)]
    singles = [(plan.one, index[0], names) for plan, (_export, index, names) in zip(plans, formatters, strict=True)]
    single = all(one is not None for one, _index, _names in singles)
    chunk: list[tuple[Any, ...]] = []

    def emit(rows: list[tuple[Any, ...]]) -> Iterator[list[Any]]:
        for plan, position, names in lookups:
            missing = {row[position] for row in rows if row[position] is not None} - names.keys()
            if missing:
                assert plan.related_model is not None
                found = plan.related_model._base_manager.in_bulk(missing)
                names.update({pk: str(obj) for pk, obj in found.items()})
        if single:
            for row in rows:
                yield [one(row[index], names) for one, index, names in singles]  # type: ignore[misc]
        else:
            for row in rows:
                yield [export([row[i] for i in index], names) for export, index, names in formatters]

    for row in queryset.values_list(*fields).iterator(chunk_size=CHUNK_ROWS):
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield from emit(chunk)
            chunk = []
    if chunk:
        yield from emit(chunk)


def _narrowed(queryset: Any, columns: Sequence[Any]) -> Any:
    """``queryset`` without the list's select_related joins when every column is a plain field of the model.

    Building the joined rows (e.g. each account's owner) is a third of the ORM time of a large
    export that shows none of them. Columns with a ``value`` callable or a relation keep the
    list's query, since they may read anything.
    """
    from bizloom.platform.listing.columns import model_field

    for column in columns:
        field = model_field(queryset.model, column.name)
        if column.value is not None or "__" in column.name or field is None or field.is_relation:
            return queryset
    return queryset.select_related(None)


def active_jobs(user: Any) -> int:
    """How many of ``user``'s exports are queued or running."""
    return ExportJob.objects.filter(owner=user, status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING),
                                    expires_at__gt=timezone.now()).count()


def max_active_jobs() -> int:
    """How many exports one user may have waiting at once (setting ``BIZLOOM_EXPORT_MAX_ACTIVE_JOBS``)."""
    return int(getattr(settings, "BIZLOOM_EXPORT_MAX_ACTIVE_JOBS", DEFAULT_MAX_ACTIVE_JOBS))


@transaction.atomic
def start_export(config: Any, params: Mapping[str, Sequence[str]], fmt: str, *, actor: Any) -> ExportJob:
    """Record an export of ``config`` with ``params`` for ``actor`` and enqueue :func:`run_export` on commit.

    The caller has checked the view and export permissions; the task checks them again.
    """
    job = ExportJob.objects.create(
        owner=actor, list_key=config.key, params={str(k): [str(v) for v in vs] for k, vs in params.items()},
        format=fmt, filename=export_filename(str(config.heading), fmt), expires_at=timezone.now() + retention())
    transaction.on_commit(lambda: run_export.enqueue(job.pk), robust=False)
    return job


@task()
def run_export(job_id: int) -> str:
    """Worker entry point: build the file of export ``job_id`` (see :func:`build_export`); returns its status."""
    return build_export(job_id).status


def _config_for_key(key: str) -> Any:
    from bizloom.platform.listing.views import registered_lists

    return next((config for config in registered_lists() if config.key == key), None)


def export_path(job: ExportJob) -> Path:
    """The absolute path of ``job``'s file; ValueError if the stored path leaves MEDIA_ROOT/exports."""
    folder = (Path(settings.MEDIA_ROOT) / EXPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / job.file_path).resolve()
    if not job.file_path or path.parent != folder:
        raise ValueError(f"export file outside {folder}: {job.file_path!r}")
    return path


def _fail(job: ExportJob, message: str) -> ExportJob:
    job.status = ExportJob.Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job


def _counted(rows: Iterable[Sequence[Any]], counter: list[int]) -> Iterator[Sequence[Any]]:
    for row in rows:
        counter[0] += 1
        yield row


def _write(path: Path, fmt: str, header: list[str], rows: Iterator[list[Any]], sheet: str) -> int:
    if fmt == "xlsx":
        return exporting.write_xlsx(str(path), header, rows, sheet=sheet)
    counter = [0]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(exporting.iter_csv(header, _counted(rows, counter)))
    return counter[0]


def build_export(job_id: int) -> ExportJob:
    """Write the file of a queued export job and tell its owner; returns the job, done or failed.

    Fails (no file) when the list is gone, the format is not offered, or the owner is inactive
    or no longer holds the view and export permissions. A job that is not queued any more (run
    twice) is returned unchanged. Writes the file outside any transaction: a partial file is
    removed, and the job is marked failed, on any error.
    """
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now)
    job = ExportJob.objects.select_related("owner").get(pk=job_id)
    if not claimed:
        return job
    user = job.owner
    config = _config_for_key(job.list_key)
    if config is None or job.format not in config.export_formats:
        return _finish_failed(job, _("This list cannot be exported any more."))
    if not (user.is_active and access.can(user, config.model, "view") and access.can(user, config.model, "export")):
        return _finish_failed(job, _("You no longer have permission to export these records."))
    folder = Path(settings.MEDIA_ROOT) / EXPORT_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    relative = f"{EXPORT_DIR}/{secrets.token_urlsafe(24)}.{job.format}"
    path = Path(settings.MEDIA_ROOT) / relative
    partial = path.with_name(path.name + ".part")
    try:
        # Headers and choice labels in the owner's language, as the list page shows them.
        with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
            header, _queryset, rows = export_rows(config, user, job.params)
            count = _write(partial, job.format, header, rows, str(config.heading))
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except Exception:
        logger.exception("export job %s failed", job.pk)
        partial.unlink(missing_ok=True)
        return _finish_failed(job, _("The export could not be written. Please try again or contact support."))
    job.status = ExportJob.Status.DONE
    job.row_count = count
    job.file_path = relative
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["status", "row_count", "file_path", "finished_at"])
        notify(user, kind=EXPORT_READY.key, url=job_url(job),
               message=_lazy_message("Your export “%(name)s” is ready: %(count)s rows.", name=job.filename,
                                     count=count))
    return job


def _finish_failed(job: ExportJob, message: str) -> ExportJob:
    with transaction.atomic():
        _fail(job, message)
        notify(job.owner, kind=EXPORT_READY.key, url=job_url(job),
               message=_lazy_message("Your export “%(name)s” failed.", name=job.filename))
    return job


def _render(message: str, values: dict[str, Any]) -> str:
    return _(message) % values


_lazy_render = lazy(_render, str)


def _lazy_message(message: str, **values: Any) -> Any:
    """``message % values`` translated when rendered (notify renders it in the recipient's language)."""
    return _lazy_render(message, values)


# The messages _lazy_message renders, for makemessages.
_MESSAGES = (gettext_lazy("Your export “%(name)s” is ready: %(count)s rows."),
             gettext_lazy("Your export “%(name)s” failed."))


def job_url(job: ExportJob) -> str:
    """The status page of ``job``."""
    return reverse("exportjobs:detail", args=[job.pk])


def prune_expired_exports(now: Any = None) -> int:
    """Delete export jobs past ``expires_at`` and their files; returns how many jobs were deleted."""
    now = now or timezone.now()
    deleted = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).order_by("pk").iterator():
        if job.file_path:
            try:
                export_path(job).unlink(missing_ok=True)
            except (OSError, ValueError):
                logger.warning("could not delete export file of job %s", job.pk, exc_info=True)
                continue
        job.delete()
        deleted += 1
    return deleted

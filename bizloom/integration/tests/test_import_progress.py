"""Live progress beside the batch's transaction, and the pruning of old import files (issue #5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bizloom.integration.imports import engine, progress, selectors, services
from bizloom.integration.models import ImportBatch, ImportBatchRow
from bizloom.integration.tests.test_import_engine import HEADER, ROWS, csv_bytes, make_importer, run, upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the sidecar is SQLite's way; PostgreSQL writes the row")
def test_progress_is_readable_while_the_run_is_inside_its_transaction(db, monkeypatch):
    # given: a batch whose rows report progress after every chunk of 2
    importer = make_importer()
    batch = upload(importer, csv_bytes(HEADER, [[f"公司{i}", "", "", "", "", "", "", ""] for i in range(7)]))
    monkeypatch.setenv(engine.CHUNK_ENV, "2")
    seen: list[tuple[int, int] | None] = []
    original = progress.Reporter.report

    def report(self, done, total):
        original(self, done, total)
        # what the page reads, from another connection, while the run's transaction is open
        seen.append(services.read_progress(ImportBatch(pk=self.batch_id, status=ImportBatch.Status.RUNNING)))

    monkeypatch.setattr(progress.Reporter, "report", report)
    # when
    batch = run(batch, importer, dry_run=True)
    # then
    assert seen == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]
    assert progress.read(batch.pk) is None  # the sidecar row is gone once the run ends
    assert services.read_progress(batch) == (7, 7)


def test_old_files_are_pruned_but_the_batch_and_its_results_stay(db, media_root):
    # given: an old batch with error rows, and a recent one
    importer = make_importer()
    old = run(upload(importer, csv_bytes(HEADER, ROWS)), importer, dry_run=True)
    recent = upload(importer, csv_bytes(HEADER, ROWS[:2]), confirm_duplicate_file=True)
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    old_path, recent_path = services.batch_path(old), services.batch_path(recent)
    # when
    pruned = services.prune_old_files()
    # then
    assert pruned == 1
    assert not old_path.exists()
    assert recent_path.exists()
    old.refresh_from_db()
    assert old.pruned_at is not None
    assert old.error_count == 3
    assert ImportBatchRow.objects.filter(batch=old).count() == 8
    assert not ImportBatchRow.objects.filter(batch=old, values__isnull=False).exists()
    with pytest.raises(selectors.ErrorFilePruned):
        selectors.error_file_rows(old)
    with pytest.raises(services.DomainError) as refused:
        services.start_run(old, dry_run=False, actor=importer)
    assert refused.value.code == "batch_pruned"
    assert services.prune_old_files() == 0  # once


def test_retention_follows_the_setting(db, settings):
    settings.BIZLOOM_IMPORT_RETENTION_DAYS = 7
    assert services.retention_days() == 7

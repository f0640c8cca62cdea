"""Worker entry points of imports (issue #5)."""

from __future__ import annotations

from django_tasks import task

from bizloom.integration.imports import services


@task()
def run_import(batch_id: int, dry_run: bool) -> str:
    """Run queued import batch ``batch_id`` (dry or real, see ``services.execute_batch``); returns its status."""
    return services.execute_batch(batch_id, dry_run=dry_run).status

"""Health checks for monitoring: can we reach the database, and is a task worker alive?"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.db import DatabaseError, connection
from django.utils import timezone

# A worker touches its heartbeat row well within this window; older means stopped or stuck.
WORKER_STALE_AFTER = timedelta(seconds=120)


class DatabaseStatus(TypedDict):
    ok: bool
    vendor: str


class WorkerStatus(TypedDict):
    ok: bool
    last_seen_at: datetime | None
    workers: int


def database_status() -> DatabaseStatus:
    """Run a trivial query; ``ok`` is False when the database cannot answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return {"ok": False, "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def worker_status(now: datetime | None = None) -> WorkerStatus:
    """Workers seen within WORKER_STALE_AFTER; ``ok`` when at least one is alive."""
    from bizloom.platform.models import WorkerHeartbeat

    now = now or timezone.now()
    try:
        alive = WorkerHeartbeat.objects.filter(seen_at__gte=now - WORKER_STALE_AFTER)
        workers = alive.count()
        latest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    except DatabaseError:
        return {"ok": False, "last_seen_at": None, "workers": 0}
    return {"ok": workers > 0, "last_seen_at": latest, "workers": workers}


def overall_status() -> dict[str, Any]:
    """``status`` is "ok" when the database and a worker are up, otherwise "degraded"."""
    database = database_status()
    worker = worker_status() if database["ok"] else WorkerStatus(ok=False, last_seen_at=None, workers=0)
    return {"status": "ok" if database["ok"] and worker["ok"] else "degraded", "database": database,
            "worker": worker}

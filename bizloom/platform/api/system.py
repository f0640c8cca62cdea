"""Platform operations of the API that belong to no business app (health)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from bizloom.platform import health

router = Router(tags=["platform"])


class DatabaseHealthOut(Schema):
    ok: bool
    vendor: str


class WorkerHealthOut(Schema):
    ok: bool
    last_seen_at: datetime | None
    workers: int


class HealthOut(Schema):
    status: Literal["ok", "degraded"]
    database: DatabaseHealthOut
    worker: WorkerHealthOut


@router.get("/health", response=HealthOut, auth=None, operation_id="platform_health",
            summary="Service health")
def get_health(request: HttpRequest) -> dict[str, Any]:
    """Database reachability and task worker liveness; needs no authentication."""
    return health.overall_status()

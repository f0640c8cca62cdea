"""The task worker's heartbeat: one ``WorkerHeartbeat`` row per running worker, kept fresh.

``bizloom worker`` runs the queue consumer of the configured task backend (django-tasks-db's
``db_worker`` or django-rq's ``rqworker``) with a ``Heartbeat`` beside it, so health checks can
tell whether any worker is alive (``seen_at`` within a minute or so).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from bizloom.platform.models import WorkerHeartbeat

logger = logging.getLogger("bizloom.worker")

HEARTBEAT_SECONDS = 15.0
QUEUES = ("default", "scheduled")


def default_worker_name() -> str:
    """``host:pid``: unique among running workers."""
    return f"{socket.gethostname()}:{os.getpid()}"


def live_workers(within: timedelta = timedelta(seconds=4 * HEARTBEAT_SECONDS)) -> list[WorkerHeartbeat]:
    """Workers seen within ``within`` (a missed beat or two is tolerated)."""
    return list(WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - within))


class Heartbeat:
    """A daemon thread that upserts this worker's ``WorkerHeartbeat`` every ``interval`` seconds.

    Use as a context manager: entering writes the first beat and starts the thread; leaving
    stops it and deletes the row (a clean exit leaves no stale worker behind).
    """

    def __init__(self, name: str | None = None, *, interval: float = HEARTBEAT_SECONDS) -> None:
        self.name = (name or default_worker_name())[:200]
        self.interval = interval
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bizloom-heartbeat", daemon=True)

    def beat(self) -> None:
        """Write ``seen_at = now`` for this worker, creating its row if needed."""
        WorkerHeartbeat.objects.update_or_create(
            name=self.name, defaults={"seen_at": timezone.now()}, create_defaults={
                "started_at": self.started_at, "seen_at": timezone.now()},
        )

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except DatabaseError:
                    logger.exception("Worker heartbeat %s could not be written", self.name)
        finally:
            connection.close()

    def start(self) -> None:
        """Beat once now, then keep beating in the background."""
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and delete this worker's row."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        try:
            WorkerHeartbeat.objects.filter(name=self.name).delete()
        except DatabaseError:
            logger.exception("Worker heartbeat %s could not be removed", self.name)

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""Periodic jobs: a registry apps declare jobs in, and the loop that enqueues them.

An app declares a job on a django-tasks ``Task``::

    @periodic(every=timedelta(minutes=5))
    @task()
    def send_reminders() -> None: ...

or registers one by name with ``register("crm.send_reminders", send_reminders, timedelta(minutes=5))``.

Time is cut into periods of the job's interval, counted from the Unix epoch (a daily job's
period starts at 00:00 UTC). On every tick each scheduler computes the current period of
every job and tries to insert ``ScheduledRun(job, period)``. The unique constraint on
(job, period) lets exactly one insert succeed across all schedulers on all machines; the
winner enqueues the task on the "scheduled" queue in the same transaction, so with the
database task backend the claim and the queued task commit together or not at all.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from bizloom.platform.models import ScheduledRun

logger = logging.getLogger("bizloom.scheduler")

SCHEDULED_QUEUE = "scheduled"
DEFAULT_TICK_SECONDS = 5.0


@dataclass(frozen=True)
class PeriodicJob:
    """A task to enqueue once per ``every``; ``name`` is the job's stable identifier."""

    name: str
    task: Any  # django_tasks.Task; typed loosely because Task is generic over its signature
    every: timedelta

    @property
    def seconds(self) -> int:
        """The interval in whole seconds."""
        return int(self.every.total_seconds())

    def period(self, now: datetime) -> str:
        """The key of the period ``now`` falls in: ``"<interval>s:<floor(epoch / interval)>"``."""
        return f"{self.seconds}s:{int(now.timestamp()) // self.seconds}"

    def period_start(self, now: datetime) -> datetime:
        """When the period containing ``now`` began."""
        start = (int(now.timestamp()) // self.seconds) * self.seconds
        return datetime.fromtimestamp(start, tz=UTC)


_registry: dict[str, PeriodicJob] = {}
_registry_lock = threading.Lock()


def _default_name(task: Any) -> str:
    """``<app label>.<function name>`` for a task defined inside an installed app."""
    func = task.func
    module = func.__module__
    config = apps.get_containing_app_config(module) if apps.apps_ready else None
    if config is not None:
        prefix = config.label
    else:
        parts = module.split(".")
        prefix = parts[1] if len(parts) > 1 and parts[0] == "bizloom" else parts[0]
    return f"{prefix}.{func.__name__}"


def register(name: str, task: Any, every: timedelta) -> PeriodicJob:
    """Declare that ``task`` runs once per ``every`` under the stable job ``name``.

    Registering the same name again with the same task is a no-op (modules may be imported
    from more than one place); a different task under a taken name is a programming error.
    """
    if every < timedelta(seconds=1):
        raise ValueError("A periodic job's interval must be at least one second.")
    if not hasattr(task, "enqueue") or not hasattr(task, "using"):
        raise TypeError(f"{name}: periodic jobs must be django-tasks Tasks (decorate the function with @task()).")
    if len(name) > ScheduledRun._meta.get_field("job").max_length:  # type: ignore[operator]
        raise ValueError(f"Job name too long: {name!r}")
    job = PeriodicJob(name=name, task=task, every=every)
    with _registry_lock:
        existing = _registry.get(name)
        if existing is not None:
            if existing.task.module_path != task.module_path or existing.every != every:
                raise ValueError(f"Periodic job {name!r} is already registered for {existing.task.module_path}.")
            return existing
        _registry[name] = job
    return job


def periodic(*, every: timedelta, name: str | None = None) -> Callable[[Any], Any]:
    """Decorator for a django-tasks ``Task``: run it once per ``every`` across all schedulers.

    Apply it above ``@task()``. The job name defaults to ``<app label>.<function name>``.
    """

    def decorate(task: Any) -> Any:
        register(name or _default_name(task), task, every)
        return task

    return decorate


def unregister(name: str) -> None:
    """Remove a job from the registry (used by tests)."""
    with _registry_lock:
        _registry.pop(name, None)


def registered_jobs() -> list[PeriodicJob]:
    """Every registered job, sorted by name."""
    with _registry_lock:
        return sorted(_registry.values(), key=lambda job: job.name)


def load_jobs() -> list[PeriodicJob]:
    """Import the ``jobs`` module of every installed app so their declarations run; return the jobs."""
    autodiscover_modules("jobs")
    return registered_jobs()


def default_scheduler_name() -> str:
    """``host:pid`` identifies a scheduler in ``ScheduledRun.claimed_by``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(job: PeriodicJob, period: str, *, claimed_by: str, now: datetime | None = None) -> bool:
    """Try to claim ``job`` for ``period`` and enqueue it; True only for the one winner.

    The insert and the enqueue share one transaction: if enqueueing fails the claim is rolled
    back and a later tick tries again. A lost race (IntegrityError on the unique constraint)
    returns False.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(job=job.name, period=period, claimed_by=claimed_by[:200], claimed_at=now)
            job.task.using(queue_name=SCHEDULED_QUEUE).enqueue()
    except IntegrityError:
        return False
    return True


class Scheduler:
    """The loop: every ``tick`` seconds, claim and enqueue each job whose current period is new.

    A job's period is attempted once per scheduler process (won or lost); a database error
    leaves it unattempted so the next tick retries.
    """

    def __init__(self, jobs: Iterable[PeriodicJob] | None = None, *, name: str | None = None,
                 tick: float = DEFAULT_TICK_SECONDS, clock: Callable[[], datetime] = timezone.now) -> None:
        self._jobs = list(jobs) if jobs is not None else None
        self.name = name or default_scheduler_name()
        self.tick_seconds = tick
        self.clock = clock
        self.stop_event = threading.Event()
        self._attempted: dict[str, str] = {}

    @property
    def jobs(self) -> list[PeriodicJob]:
        """The jobs this scheduler runs: the ones it was given, else the registry."""
        return self._jobs if self._jobs is not None else registered_jobs()

    def tick(self) -> list[str]:
        """Attempt every job whose period changed since the last attempt; return the names claimed."""
        now = self.clock()
        claimed: list[str] = []
        for job in self.jobs:
            period = job.period(now)
            if self._attempted.get(job.name) == period:
                continue
            try:
                won = claim(job, period, claimed_by=self.name, now=now)
            except DatabaseError:
                logger.exception("Scheduler %s could not claim %s@%s; will retry", self.name, job.name, period)
                continue
            except Exception:
                # A task that cannot be enqueued (bad arguments, backend down) must not stop the others.
                logger.exception("Scheduler %s could not enqueue %s@%s; will retry", self.name, job.name, period)
                continue
            self._attempted[job.name] = period
            if won:
                claimed.append(job.name)
                logger.info("Enqueued %s for period %s", job.name, period)
        return claimed

    def run(self) -> None:
        """Tick until ``stop()`` is called."""
        logger.info("Scheduler %s started with %d job(s): %s", self.name, len(self.jobs),
                    ", ".join(job.name for job in self.jobs) or "none")
        try:
            while not self.stop_event.is_set():
                close_old_connections()
                self.tick()
                close_old_connections()
                self.stop_event.wait(self.tick_seconds)
        finally:
            logger.info("Scheduler %s stopped", self.name)

    def stop(self) -> None:
        """Ask ``run()`` to return after the current tick."""
        self.stop_event.set()


def prune_scheduled_runs(older_than: timedelta = timedelta(days=7)) -> int:
    """Delete claims older than ``older_than``; returns how many were deleted.

    A claim must outlive its period, or a restarted scheduler would claim the period again;
    so a job with a long interval keeps its claims for two intervals. A week keeps a readable
    history and tolerates clock skew between machines.
    """
    now = timezone.now()
    long_jobs = {job.name: job.every * 2 for job in registered_jobs() if job.every * 2 > older_than}
    deleted, _ = (ScheduledRun.objects.filter(claimed_at__lt=now - older_than)
                  .exclude(job__in=list(long_jobs)).delete())
    for name, keep in long_jobs.items():
        count, _ = ScheduledRun.objects.filter(job=name, claimed_at__lt=now - keep).delete()
        deleted += count
    return deleted

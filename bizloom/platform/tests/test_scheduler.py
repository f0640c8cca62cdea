"""The periodic-job scheduler: periods, once-per-period claims across racing schedulers, pruning, heartbeat."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tasks import task

from bizloom.common.testing import run_together
from bizloom.platform import scheduler, worker
from bizloom.platform.models import ScheduledRun, WorkerHeartbeat

RUNS: list[str] = []
RUNS_LOCK = threading.Lock()


@task()
def record_run() -> None:
    """Test task: counts its executions (the immediate backend runs it at enqueue time)."""
    with RUNS_LOCK:
        RUNS.append("run")


@task()
def failing_enqueue_target() -> None:
    """Never runs: enqueueing it is made to fail."""


DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "scheduled"]}}
NOON = datetime(2030, 1, 15, 12, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reset_runs():
    RUNS.clear()
    yield
    RUNS.clear()


def make_job(every: timedelta = timedelta(minutes=5), name: str = "tests.record_run") -> scheduler.PeriodicJob:
    return scheduler.PeriodicJob(name=name, task=record_run, every=every)


def test_period_is_floor_of_epoch_over_interval():
    job = make_job(timedelta(minutes=5))
    start = datetime(2030, 1, 15, 12, 0, 0, tzinfo=UTC)
    assert job.period(start) == job.period(start + timedelta(minutes=4, seconds=59))
    assert job.period(start) != job.period(start + timedelta(minutes=5))
    assert job.period(start) == f"300s:{int(start.timestamp()) // 300}"
    assert job.period_start(start + timedelta(minutes=3)) == start
    daily = make_job(timedelta(days=1))
    assert daily.period_start(NOON) == datetime(2030, 1, 15, tzinfo=UTC)


def test_registry_names_and_duplicates():
    try:
        decorated = scheduler.periodic(every=timedelta(hours=1))(record_run)
        assert decorated is record_run
        names = [job.name for job in scheduler.registered_jobs()]
        assert "platform.record_run" in names  # app label of the defining module + function name
        # Same task again: no-op; another task under the same name: refused.
        scheduler.register("platform.record_run", record_run, timedelta(hours=1))
        with pytest.raises(ValueError, match="already registered"):
            scheduler.register("platform.record_run", failing_enqueue_target, timedelta(hours=1))
        with pytest.raises(TypeError):
            scheduler.register("tests.plain", lambda: None, timedelta(hours=1))
        with pytest.raises(ValueError, match="at least one second"):
            scheduler.register("tests.fast", record_run, timedelta(milliseconds=10))
    finally:
        scheduler.unregister("platform.record_run")


def test_platform_jobs_are_registered():
    names = {job.name: job for job in scheduler.load_jobs()}
    assert names["platform.prune_scheduled_runs"].every == timedelta(days=1)
    assert names["platform.prune_task_results"].every == timedelta(days=1)


@pytest.mark.django_db
def test_one_claim_per_period_and_a_new_one_next_period():
    now = [NOON]
    runner = scheduler.Scheduler([make_job()], name="a", clock=lambda: now[0])
    assert runner.tick() == ["tests.record_run"]
    assert runner.tick() == []
    now[0] += timedelta(minutes=1)  # same 5-minute period
    assert runner.tick() == []
    # Another scheduler (another machine) in the same period loses.
    other = scheduler.Scheduler([make_job()], name="b", clock=lambda: now[0])
    assert other.tick() == []
    now[0] += timedelta(minutes=5)
    assert other.tick() == ["tests.record_run"]
    assert runner.tick() == []
    assert len(RUNS) == 2
    assert list(ScheduledRun.objects.order_by("claimed_at").values_list("claimed_by", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_claim_is_rolled_back_when_enqueue_fails(monkeypatch):
    job = scheduler.PeriodicJob(name="tests.failing", task=failing_enqueue_target, every=timedelta(minutes=5))

    def broken_using(*args, **kwargs):
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(type(failing_enqueue_target), "using", broken_using)
    runner = scheduler.Scheduler([job], name="a", clock=lambda: NOON)
    assert runner.tick() == []
    assert not ScheduledRun.objects.exists()
    monkeypatch.undo()
    assert runner.tick() == ["tests.failing"]  # retried on the next tick


@pytest.mark.django_db
def test_database_backend_enqueues_on_scheduled_queue():
    from django_tasks_db.models import DBTaskResult

    with override_settings(TASKS=DB_TASKS):
        runner = scheduler.Scheduler([make_job()], name="a", clock=lambda: NOON)
        assert runner.tick() == ["tests.record_run"]
        result = DBTaskResult.objects.get()
        assert result.queue_name == "scheduled"
        assert result.task_path.endswith("test_scheduler.record_run")
    assert RUNS == []  # queued, not run inline


def race(n: int, periods: list[datetime]) -> list[list[str]]:
    """``n`` schedulers tick together, period after period; returns each one's claims."""
    job = make_job()
    results: list[list[str]] = [[] for _ in range(n)]
    for moment in periods:
        claims, errors = run_together(
            n, lambda index, m=moment: scheduler.Scheduler([job], name=f"machine-{index}", clock=lambda: m).tick())
        assert not errors, errors
        for index, claimed in enumerate(claims):
            results[index].extend(claimed or [])
    return results


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_claim_once():
    results = race(2, [NOON])
    assert sum(len(claims) for claims in results) == 1
    assert ScheduledRun.objects.count() == 1
    assert len(RUNS) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_schedulers_racing_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run the suite with DATABASE_URL=postgres://... to race real connections")
    periods = [NOON + timedelta(minutes=5 * i) for i in range(3)]
    results = race(8, periods)
    assert sum(len(claims) for claims in results) == 3
    assert ScheduledRun.objects.count() == 3
    assert len(RUNS) == 3


@pytest.mark.django_db
def test_prune_scheduled_runs_keeps_recent_and_long_interval_claims():
    now = timezone.now()
    old = now - timedelta(days=8)
    ScheduledRun.objects.create(job="tests.old", period="1", claimed_by="a", claimed_at=old)
    ScheduledRun.objects.create(job="tests.recent", period="1", claimed_by="a", claimed_at=now - timedelta(days=1))
    scheduler.register("tests.monthly", record_run, timedelta(days=30))
    try:
        ScheduledRun.objects.create(job="tests.monthly", period="1", claimed_by="a", claimed_at=old)
        assert scheduler.prune_scheduled_runs() == 1
    finally:
        scheduler.unregister("tests.monthly")
    assert set(ScheduledRun.objects.values_list("job", flat=True)) == {"tests.recent", "tests.monthly"}


@pytest.mark.django_db
def test_prune_task_results_deletes_finished_results_older_than_14_days():
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from bizloom.platform import jobs

    with override_settings(TASKS=DB_TASKS):
        old_done = record_run.enqueue()
        recent_done = record_run.enqueue()
        old_waiting = record_run.enqueue()
    long_ago = timezone.now() - timedelta(days=15)
    DBTaskResult.objects.filter(id=old_done.id).update(status=TaskResultStatus.SUCCESSFUL, finished_at=long_ago)
    DBTaskResult.objects.filter(id=recent_done.id).update(status=TaskResultStatus.FAILED, finished_at=timezone.now())
    assert jobs.prune_task_results.call() == 1
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {
        DBTaskResult.objects.get(id=recent_done.id).id, DBTaskResult.objects.get(id=old_waiting.id).id}


@pytest.mark.django_db(transaction=True)
def test_heartbeat_row_lives_while_worker_runs():
    with worker.Heartbeat("test-worker", interval=0.05) as beat:
        first = WorkerHeartbeat.objects.get(name="test-worker").seen_at
        threading.Event().wait(0.3)
        assert WorkerHeartbeat.objects.get(name="test-worker").seen_at > first
        assert [w.name for w in worker.live_workers()] == ["test-worker"]
        assert beat.started_at <= first
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_worker_command_runs_queued_tasks_and_cleans_up():
    with override_settings(TASKS=DB_TASKS, TASK_BACKEND="database"):
        record_run.using(queue_name="scheduled").enqueue()
        record_run.enqueue()
        call_command("worker", batch=True, name="batch-worker", verbosity=0)
    assert len(RUNS) == 2
    assert not WorkerHeartbeat.objects.exists()


def test_worker_refuses_immediate_backend():
    from django.core.management.base import CommandError

    with override_settings(TASK_BACKEND="immediate"), pytest.raises(CommandError, match="inline"):
        call_command("worker", batch=True)


@pytest.mark.django_db
def test_scheduler_command_once_and_list(capsys):
    call_command("scheduler", list=True)
    assert "platform.prune_task_results" in capsys.readouterr().out
    call_command("scheduler", once=True, name="cmd")
    assert "platform.prune_scheduled_runs" in capsys.readouterr().out
    assert set(ScheduledRun.objects.values_list("job", flat=True)) >= {
        "platform.prune_scheduled_runs", "platform.prune_task_results"}
    call_command("scheduler", once=True, name="cmd2")
    assert "nothing" in capsys.readouterr().out

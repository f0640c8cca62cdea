"""``bizloom worker``: run the task queue consumer for "default" and "scheduled" with a heartbeat."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bizloom.platform import worker


class Command(BaseCommand):
    """Process background tasks with the configured backend's worker."""

    help = ("Run a task worker for the 'default' and 'scheduled' queues (django-tasks-db's db_worker, or "
            "django-rq's rqworker when BIZLOOM_TASK_BACKEND=rq), keeping a WorkerHeartbeat row fresh.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Options passed through to the underlying worker."""
        parser.add_argument("--queues", default=",".join(worker.QUEUES),
                            help="Comma-separated queues (default: %(default)s).")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds to wait when the queue is empty (database backend).")
        parser.add_argument("--batch", action="store_true", help="Run the queued tasks, then exit.")
        parser.add_argument("--name", default=None, help="Worker name (default: host:pid).")

    def handle(self, *args: Any, queues: str, interval: float, batch: bool, name: str | None,
               **options: Any) -> None:
        """Start the heartbeat, run the worker until it exits, then remove the heartbeat row."""
        backend = settings.TASK_BACKEND
        if backend == "immediate":
            raise CommandError("BIZLOOM_TASK_BACKEND=immediate runs tasks inline; there is nothing for a worker to do.")
        name = name or worker.default_worker_name()
        verbosity = options.get("verbosity", 1)
        with worker.Heartbeat(name):
            self.stdout.write(f"Worker {name}: backend {backend}, queues {queues}")
            self.stdout.flush()
            if backend == "rq":
                call_command("rqworker", *queues.split(","), job_class="django_tasks_rq.Job", name=name,
                             burst=batch, verbosity=verbosity)
            else:
                call_command("db_worker", queue_name=queues, interval=interval, batch=batch, reload=False,
                             worker_id=name[:64], verbosity=verbosity)

"""``bizloom scheduler``: enqueue each periodic job once per period, safely on many machines."""

from __future__ import annotations

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from bizloom.platform import scheduler


class Command(BaseCommand):
    """Run the periodic-job scheduler loop (or one tick with ``--once``)."""

    help = "Enqueue periodic jobs on the 'scheduled' queue, once per period across all schedulers."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Options: tick length, a single tick, listing the jobs."""
        parser.add_argument("--tick", type=float, default=scheduler.DEFAULT_TICK_SECONDS,
                            help="Seconds between checks (default: %(default)s).")
        parser.add_argument("--once", action="store_true", help="Check every job once, then exit.")
        parser.add_argument("--list", action="store_true", help="List the registered jobs and exit.")
        parser.add_argument("--name", default=None, help="Name recorded in claims (default: host:pid).")

    def handle(self, *args: Any, tick: float, once: bool, list: bool, name: str | None, **options: Any) -> None:
        """Load every app's jobs, then tick until SIGINT/SIGTERM."""
        jobs = scheduler.load_jobs()
        if list:
            for job in jobs:
                self.stdout.write(f"{job.name}\tevery {job.every}\t{job.task.module_path}")
            return
        runner = scheduler.Scheduler(name=name, tick=tick)
        if once:
            claimed = runner.tick()
            self.stdout.write(f"Enqueued: {', '.join(claimed) or 'nothing (periods already claimed)'}")
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            runner.stop()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"Scheduler {runner.name}: {len(jobs)} job(s), checking every {tick:g} s")
        self.stdout.flush()
        runner.run()

"""``bizloom run``: everything a local installation needs, in one command (``make run``).

Migrates, collects static files, loads the demo company into an empty database, then starts
the web server, the task worker and the scheduler as child processes and watches them: Ctrl-C
or SIGTERM stops them all; if one dies the others are stopped and ``run`` exits non-zero.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from bizloom.platform import demo
from bizloom.platform.management.commands._localenv import prepare_local_environment
from bizloom.platform.management.commands.serve import port_problem

STOP_TIMEOUT_SECONDS = 25.0
STARTUP_TIMEOUT_SECONDS = 60.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel send SIGTERM to this child if ``run`` itself dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Child processes started together and stopped together."""

    def __init__(self, write: Any) -> None:
        self.write = write
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signal: int | None = None

    def spawn(self, name: str, args: list[str]) -> None:
        """Start ``bizloom <args>`` as child ``name`` in its own process group."""
        argv = [sys.executable, "-m", "bizloom.cli", *args]
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.children[name] = subprocess.Popen(argv, start_new_session=True, preexec_fn=preexec)  # noqa: S603, PLW1509

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: remember the signal; the watch loop stops the children."""
        self.stop_signal = signum

    def dead_child(self) -> tuple[str, int] | None:
        """The first child that has exited, with its exit code."""
        for name, process in self.children.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def wait_for_port(self, host: str, port: int) -> tuple[str, int] | None:
        """Wait until the web server accepts connections; returns a dead child instead if one dies."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and self.stop_signal is None:
            dead = self.dead_child()
            if dead:
                return dead
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
                return None
            time.sleep(0.2)
        return None

    def watch(self) -> tuple[str, int] | None:
        """Block until a stop signal arrives (None) or a child exits ((name, code))."""
        while self.stop_signal is None:
            dead = self.dead_child()
            if dead:
                return dead
            time.sleep(0.3)
        return None

    def stop_all(self) -> None:
        """SIGTERM every live child, wait, then SIGKILL the process groups of any that linger."""
        for process in self.children.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, process in self.children.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.write(f"The {name} did not stop in time; killing it.")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Leftovers in a child's group (e.g. gunicorn workers whose master was killed).
        for process in self.children.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


class Command(BaseCommand):
    """Prepare the database and static files, then run web server, worker and scheduler together."""

    help = ("Run Bizloom locally: migrate, collect static files, load the demo company on first run, then start "
            "the web server, task worker and scheduler. Ctrl-C stops everything; data is kept.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--host, --port, --workers, --threads, --no-demo, --seed."""
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: %(default)s).")
        parser.add_argument("--port", type=int, default=int(os.environ.get("BIZLOOM_PORT", "8000")),
                            help="Port to listen on (default: %(default)s).")
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes (default: 2).")
        parser.add_argument("--threads", type=int, default=4, help="Threads per web worker (default: 4).")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo company on first run.")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="Seed of the demo company.")

    def say(self, message: str) -> None:
        """Print a line and flush it (output may be a pipe)."""
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int, no_demo: bool, seed: int,
               **options: Any) -> None:
        """Prepare, start the children, watch them, stop them."""
        prepare_local_environment()  # already done by the `bizloom` entry point; harmless again
        problem = port_problem(host, port)
        if problem:
            raise CommandError(problem)

        self.say("Applying database migrations...")
        call_command("migrate", interactive=False, verbosity=0)
        self.say("Collecting static files...")
        call_command("collectstatic", interactive=False, verbosity=0)
        if not no_demo and demo.database_is_empty():
            self.say(f"First run: loading the demo company (seed {seed})...")
            call_command("demo", seed=seed, verbosity=0)
        logins = demo.demo_logins()
        connections.close_all()

        problem = port_problem(host, port)
        if problem:
            raise CommandError(problem)
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        supervisor = Supervisor(self.say)
        previous = {sig: signal.signal(sig, supervisor.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            supervisor.spawn("web server", ["serve", "--bind", bind, "--workers", str(workers),
                                            "--threads", str(threads)])
            supervisor.spawn("worker", ["worker"])
            supervisor.spawn("scheduler", ["scheduler"])
            dead = supervisor.wait_for_port(host, port)
            if dead is None and supervisor.stop_signal is None:
                shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
                self.say("")
                self.say(self.style.SUCCESS(f"Bizloom is running at http://{shown_host}:{port}/"))
                if logins:
                    self.say("Demo logins: " + ", ".join(f"{user} / {password}" for user, password in logins))
                self.say("Press Ctrl-C to stop.")
                dead = supervisor.watch()
            if dead:
                name, code = dead
                self.stderr.write(f"The {name} stopped unexpectedly (exit code {code}); stopping the others.")
            else:
                self.say("Stopping...")
        finally:
            supervisor.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if dead:
            sys.exit(1)
        self.say("Stopped. Your data is kept; `bizloom run` starts it again.")

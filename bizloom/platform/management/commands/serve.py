"""``bizloom serve``: the production web server (gunicorn running ``bizloom.wsgi``)."""

from __future__ import annotations

import errno
import os
import socket
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

DEFAULT_BIND = "127.0.0.1:8000"


def split_bind(bind: str) -> tuple[str, int]:
    """``"host:port"`` (IPv6 hosts in brackets) → ``(host, port)``."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--bind must look like HOST:PORT, not {bind!r}")
    return host.strip("[]"), int(port)


def port_problem(host: str, port: int) -> str | None:
    """A sentence explaining why ``host:port`` cannot be listened on, or None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (f"Port {port} on {host} is already in use (is Bizloom or another server already running?). "
                        f"Stop it, or choose another port with --port / --bind.")
            return f"Cannot listen on {host}:{port}: {error.strerror}."
    return None


def gunicorn_argv(bind: str, workers: int, threads: int, extra: list[str] | None = None) -> list[str]:
    """The command line that starts gunicorn with Bizloom's WSGI application."""
    return [
        sys.executable, "-m", "gunicorn", "bizloom.wsgi:application",
        "--bind", bind, "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--graceful-timeout", "20", "--access-logfile", "-", "--no-control-socket",
        "--forwarded-allow-ips", os.environ.get("BIZLOOM_FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        *(extra or []),
    ]


class Command(BaseCommand):
    """Replace this process with gunicorn serving Bizloom."""

    help = "Serve Bizloom with gunicorn (default 127.0.0.1:8000, 2 worker processes x 4 threads)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--bind, --workers, --threads; anything after ``--`` goes to gunicorn."""
        parser.add_argument("--bind", default=os.environ.get("BIZLOOM_BIND", DEFAULT_BIND),
                            help="HOST:PORT to listen on (default: %(default)s).")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("BIZLOOM_WEB_WORKERS", "2")),
                            help="Worker processes (default: %(default)s).")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("BIZLOOM_WEB_THREADS", "4")),
                            help="Threads per worker process (default: %(default)s).")
        parser.add_argument("gunicorn_args", nargs="*", help="Extra gunicorn options (after --).")

    def handle(self, *args: Any, bind: str, workers: int, threads: int, gunicorn_args: list[str],
               **options: Any) -> None:
        """Check the port, then exec gunicorn (signals then reach gunicorn directly)."""
        host, port = split_bind(bind)
        problem = port_problem(host, port)
        if problem:
            raise CommandError(problem)
        argv = gunicorn_argv(bind, workers, threads, gunicorn_args)
        self.stdout.write(f"Serving on http://{bind}/ ({workers} workers x {threads} threads)")
        self.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)  # noqa: S606 - a fixed program (this interpreter) with our own arguments

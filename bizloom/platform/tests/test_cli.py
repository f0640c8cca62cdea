"""The `bizloom` command: Django pass-through, deploy checks, createadmin, and `bizloom run` end to end."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bizloom.platform.management.commands import _localenv
from bizloom.platform.models import User

BIZLOOM = Path(sys.executable).parent / "bizloom"
COMMAND = [str(BIZLOOM)] if BIZLOOM.exists() else [sys.executable, "-m", "bizloom.cli"]
PROJECT_DIR = Path(__file__).resolve().parents[3]


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a real installation: no test/debug switches, a private var dir, SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZLOOM_", "DJANGO_")) and k != "DATABASE_URL"}
    env.update({"BIZLOOM_VAR_DIR": str(var_dir), "BIZLOOM_TASK_BACKEND": "database", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_check_exits_zero():
    done = subprocess.run([*COMMAND, "check"], capture_output=True, text=True, timeout=120, cwd=PROJECT_DIR)
    assert done.returncode == 0, done.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = production_env(tmp_path, BIZLOOM_SECRET_KEY=secrets.token_urlsafe(50), BIZLOOM_HTTPS="true",
                         BIZLOOM_ALLOWED_HOSTS="bizloom.example.com")
    done = subprocess.run([*COMMAND, "check", "--deploy", "--fail-level", "WARNING"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_missing_secret_key_is_a_clear_message(tmp_path):
    done = subprocess.run([*COMMAND, "check"], capture_output=True, text=True, timeout=120,
                          env=production_env(tmp_path))
    assert done.returncode != 0
    assert "BIZLOOM_SECRET_KEY is required" in done.stderr
    assert "Traceback" not in done.stderr


def test_secret_key_file_is_private_and_stable(tmp_path):
    key = _localenv.read_or_create_secret_key(tmp_path)
    assert len(key) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert _localenv.read_or_create_secret_key(tmp_path) == key


@pytest.mark.django_db
def test_createadmin_non_interactive():
    call_command("createadmin", username="boss", password="a-long-Passphrase-9", email="boss@example.com",
                 interactive=False, verbosity=0)
    boss = User.objects.get(username="boss")
    assert boss.is_superuser
    assert boss.is_staff
    assert boss.check_password("a-long-Passphrase-9")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", username="boss", password="a-long-Passphrase-9", interactive=False)
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("createadmin", username="weak", password="123", interactive=False)
    with pytest.raises(CommandError, match="password is required"):
        call_command("createadmin", username="nopass", interactive=False)


def test_run_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([*COMMAND, "run", "--port", str(port)], capture_output=True, text=True, timeout=120,
                              env=production_env(tmp_path))
    assert done.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr


# --- bizloom run, end to end ---------------------------------------------------------------------

def processes_of(var_dir: Path) -> dict[int, str]:
    """Live processes (pid → command line) whose environment names ``var_dir``: ours, and only ours."""
    marker = f"BIZLOOM_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def query(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql).fetchone()[0]


def start(var_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen([*COMMAND, "run", "--port", str(port), "--workers", "1", "--threads", "2"],
                               stdout=handle, stderr=subprocess.STDOUT, env=production_env(var_dir))
    handle.close()

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"bizloom run exited with {process.returncode}:\n{log.read_text()}")
        return "Bizloom is running at" in log.read_text()

    wait_for(ready, 240, "bizloom run to come up")
    return process


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc to find child processes")
def test_run_starts_everything_keeps_data_and_stops_cleanly(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    db = var_dir / "bizloom.sqlite3"

    # First start: key generated, migrated, static collected, demo loaded.
    first = start(var_dir, port, tmp_path / "first.log")
    try:
        output = (tmp_path / "first.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "admin / admin" in output
        assert "sales / sales" in output
        assert "First run" in output
        home = get(port, "/")
        assert home.status == 302
        assert home.getheader("Location").startswith("/login/")
        assert get(port, "/login/").status == 200
        assert get(port, "/static/vendor/htmx/htmx.min.js").status == 200
        key_file = var_dir / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text()
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM platform_workerheartbeat") == 1, 60, "worker heartbeat")
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM platform_scheduledrun") >= 2, 60, "scheduler claims")
        accounts = query(db, "SELECT COUNT(*) FROM crm_account")
        assert accounts == 60
        children = processes_of(var_dir)
        # run, gunicorn master + 1 web worker, task worker, scheduler
        assert len(children) >= 5, children
    finally:
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=90) == 0, (tmp_path / "first.log").read_text()
    wait_for(lambda: not processes_of(var_dir), 15, "all children to exit")
    assert query(db, "SELECT COUNT(*) FROM platform_workerheartbeat") == 0  # removed on clean exit

    # Second start: same key, no demo reload, data kept. Then a child dies: run stops the rest, exits 1.
    second = start(var_dir, port, tmp_path / "second.log")
    try:
        output = (tmp_path / "second.log").read_text()
        assert "First run" not in output
        assert key_file.read_text() == key
        assert query(db, "SELECT COUNT(*) FROM crm_account") == accounts
        assert get(port, "/").status == 302
        scheduler_pid = next(pid for pid, cmd in processes_of(var_dir).items() if "cli scheduler" in cmd)
        os.kill(scheduler_pid, signal.SIGKILL)
        assert second.wait(timeout=90) == 1
        assert "scheduler stopped unexpectedly" in (tmp_path / "second.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()
    wait_for(lambda: not processes_of(var_dir), 15, "all children to exit")

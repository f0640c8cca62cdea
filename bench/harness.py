"""Shared set-up for benchmarks: an isolated database, Django, timing and the JSON line."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> str:
    """Configure Django on a fresh database; returns the database label for the report.

    SQLite: a new file in a temporary directory. PostgreSQL (DATABASE_URL): a database
    named ``bench_bizloom`` (or ``BIZLOOM_BENCH_DB``) on that server, recreated for each benchmark.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("BIZLOOM_SECRET_KEY", "benchmark-only-secret-key-0123456789abcdefghijklmnop")
    os.environ.setdefault("BIZLOOM_HTTPS", "false")
    os.environ.setdefault("BIZLOOM_TASK_BACKEND", "immediate")
    os.environ["BIZLOOM_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    # Static files and everything else a run writes go to a throwaway folder.
    os.environ["BIZLOOM_VAR_DIR"] = tempfile.mkdtemp(prefix="bizloom-bench-")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, _name = url.rpartition("/")
        name = os.environ.get("BIZLOOM_BENCH_DB", "bench_bizloom")
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"BIZLOOM_BENCH_DB must be a plain name, not {name!r}")
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        label = "postgresql"
    else:
        os.environ.pop("DATABASE_URL", None)
        label = "sqlite"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bizloom.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages link the manifest's hashed names
    return label


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    quantiles = statistics.quantiles(ordered, n=100)
    return {"p50_ms": round(quantiles[49], 2), "p95_ms": round(quantiles[94], 2),
            "p99_ms": round(quantiles[98], 2), "max_ms": round(ordered[-1], 2)}


def time_calls(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def reference_seconds(rows: int = 100_000) -> float:
    """Seconds this machine takes for a fixed piece of Python work like an importer's (best of five).

    Machines of the same kind differ: the same import code ran 30% and 60% slower on two later
    machines than on the first. The work here never changes with the project's code (plain Python,
    ``re`` and ``orjson`` over ``rows`` synthetic rows: dicts, string cleaning, a pattern, a JSON
    document per 1,000), so dividing a benchmark's seconds by it compares figures from two machines.
    """
    import re

    import orjson

    pattern = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
    cells = [[f"  姓名{i % 977} ", f"New.User{i}@Example.com ", f"138 {i // 10000:04d} {i % 10000:04d}", "", f"第{i}行"]
             for i in range(rows)]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        chunk: list[dict[str, Any]] = []
        for name, email, mobile, blank, notes in cells:
            row = {"name": name.strip(), "email": email.strip().lower(), "mobile": "+86" + mobile.replace(" ", ""),
                   "phone": blank.strip(), "notes": notes}
            row["valid"] = pattern.fullmatch(row["email"]) is not None
            chunk.append(row)
            if len(chunk) == 1000:
                orjson.dumps([list(item.values()) for item in chunk])
                chunk = []
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def report(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)

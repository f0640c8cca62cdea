"""Run every benchmark in bench/ (files named bench_*.py), each in its own process.

Each benchmark prints one JSON line: workload, data size, database and rows per second
or latency percentiles. Benchmarks measure; they never assert timings.

    .venv/bin/python bench/run.py                 # all, on SQLite (a fresh file in a temp dir)
    DATABASE_URL=postgres://... bench/run.py      # all, on that PostgreSQL database
    .venv/bin/python bench/run.py list_page       # only bench_list_page.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    failed = 0
    for name in names:
        script = HERE / f"bench_{name}.py"
        result = subprocess.run([sys.executable, str(script)], env=os.environ.copy(), check=False)  # noqa: S603
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Export speed and memory (issue #5: 100,000 rows to XLSX in under 10 s, memory bounded).

Workloads, one JSON line each:

- ``export_xlsx`` / ``export_csv``: the writers alone, 100,000 generated rows × 8 typed
  columns (int, Chinese text, phone, e-mail, Decimal, date, text, text with formulas).
- ``export_list_xlsx`` / ``export_list_csv``: the real list export of 100,000 CRM accounts
  (8 columns) through the export job the worker runs: access-restricted queryset, Column.export,
  writer, file under MEDIA_ROOT/exports.

``rss_growth_mb`` is how much the process's peak RSS grew during the workload (0 when it
stayed under an earlier peak); ``traced_peak_mb`` the Python allocations' peak (tracemalloc,
measured in a separate pass so that tracing does not slow the timed one).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from harness import report, setup_django

ROWS = 100_000
HEADER = ["编号", "客户名称", "手机", "Email", "金额", "日期", "城市", "备注"]
LIST_COLUMNS = "name,code,industry,city,phone,email,annual_revenue,created_at"


def generated_rows() -> Iterator[list[Any]]:
    for i in range(ROWS):
        yield [i, f"上海测试贸易有限公司{i}", f"1380013{i:04d}", f"user{i}@example.com", Decimal(i) / 4 - 100,
               dt.date(2024, 1, 1) + dt.timedelta(days=i % 365), "上海", "=1+1" if i % 9 else ""]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(workload: str, database: str, run: Callable[[], int], *, traced: bool = True, **extra: Any) -> None:
    before = peak_rss_mb()
    started = time.perf_counter()
    rows = run()
    elapsed = time.perf_counter() - started
    growth = peak_rss_mb() - before
    fields: dict[str, Any] = {}
    if traced:
        tracemalloc.start()
        run()
        fields["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
        tracemalloc.stop()
    report(workload=workload, rows=rows, database=database, seconds=round(elapsed, 2),
           rows_per_second=round(rows / elapsed), rss_growth_mb=round(growth, 1), peak_rss_mb=round(peak_rss_mb(), 1),
           **fields, **extra)


def main() -> None:
    database = setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bizloom.crm.models import Account
    from bizloom.platform import export_jobs
    from bizloom.platform.exporting import iter_csv, write_xlsx

    folder = tempfile.mkdtemp(prefix="bizloom-bench-export-")
    xlsx_path, csv_path = os.path.join(folder, "t.xlsx"), os.path.join(folder, "t.csv")

    def xlsx() -> int:
        return write_xlsx(xlsx_path, HEADER, generated_rows())

    def csv() -> int:
        with open(csv_path, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(iter_csv(HEADER, generated_rows()))
        return ROWS

    measure("export_xlsx", "none", xlsx)
    measure("export_csv", "none", csv)

    # The list path: accounts in the database, exported by the worker's job for a superuser.
    import bizloom.urls  # noqa: F401 - mounts the lists (registered_lists)

    rng = random.Random(5)
    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
    cities = ["上海", "北京", "深圳", "杭州", "成都", "Hong Kong", "Singapore"]
    industries = [value for value, _label in Account._meta.get_field("industry").choices or [("other", "")]]
    Account.objects.bulk_create(
        [Account(name=f"{rng.choice(['华东', '华南', '远航', '云启', 'Acme', 'Globex'])}{i:06d}有限公司",
                 code=f"9144030{i:011d}", industry=rng.choice(industries), city=rng.choice(cities),
                 phone=f"+86 138 0013 {i % 10000:04d}", email=f"buyer{i}@example.com",
                 annual_revenue=Decimal(rng.randrange(-10**9, 10**12)) / 100, owner=admin) for i in range(ROWS)],
        batch_size=5000,
    )
    settings.MEDIA_ROOT = folder
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the ready notification
    config = _account_list()

    for fmt in ("xlsx", "csv"):
        def run(fmt: str = fmt) -> int:
            # Outside a transaction the task runs on commit, i.e. inside start_export (immediate backend).
            job = export_jobs.start_export(config, {"cols": [LIST_COLUMNS]}, fmt, actor=admin)
            job.refresh_from_db()
            assert job.status == "done", job.error
            return job.row_count

        measure(f"export_list_{fmt}", database, run, traced=False, columns=8)


def _account_list() -> Any:
    from bizloom.platform.listing.views import registered_lists

    return next(config for config in registered_lists() if config.key == "crm.account")


if __name__ == "__main__":
    main()

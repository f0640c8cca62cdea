"""Read speed of the import file reader: 100,000 rows × 8 columns, CSV (UTF-8, GBK) and XLSX.

The files are written by Bizloom's own exporter, then read back with ``read_table``.
Also reports the export speed of the same rows to XLSX (issue #5: under 10 s at 100,000 rows).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from decimal import Decimal

from harness import report, setup_django

ROWS = 100_000


def main() -> None:
    setup_django()
    from bizloom.integration.importing import read_table
    from bizloom.platform.exporting import iter_csv, write_xlsx

    header = ["编号", "客户名称", "手机", "Email", "金额", "日期", "城市", "备注"]

    def data():  # type: ignore[no-untyped-def]
        for i in range(ROWS):
            yield [i, f"上海测试贸易有限公司{i}", f"1380013{i:04d}", f"user{i}@example.com",
                   Decimal(i) / 4, dt.date(2024, 1, 1) + dt.timedelta(days=i % 365), "上海", "=1+1" if i % 9 else ""]

    with tempfile.TemporaryDirectory() as folder:
        csv_path, gbk_path, xlsx_path = (os.path.join(folder, name) for name in ("t.csv", "gbk.csv", "t.xlsx"))
        with open(csv_path, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(iter_csv(header, data()))
        with open(csv_path, encoding="utf-8") as source, open(gbk_path, "w", encoding="gbk", newline="") as target:
            target.write(source.read().lstrip("\ufeff"))
        started = time.perf_counter()
        write_xlsx(xlsx_path, header, data())
        elapsed = time.perf_counter() - started
        report(workload="export_xlsx", rows=ROWS, database="none", seconds=round(elapsed, 2),
               rows_per_second=round(ROWS / elapsed))
        for workload, path in (("read_csv_utf8", csv_path), ("read_csv_gbk", gbk_path), ("read_xlsx", xlsx_path)):
            started = time.perf_counter()
            with read_table(path) as table:
                count = sum(1 for _ in table.rows)
            elapsed = time.perf_counter() - started
            report(workload=workload, rows=count, database="none", megabytes=round(os.path.getsize(path) / 1e6, 1),
                   seconds=round(elapsed, 2), rows_per_second=round(count / elapsed))


if __name__ == "__main__":
    main()

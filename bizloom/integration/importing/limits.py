"""Size limits of import files, checked before parsing as far as possible.

Defaults (each can be lowered or raised per import):

* ``max_bytes`` 50 MiB — the uploaded file itself, checked first.
* ``max_rows`` 1,000,000 data rows (Excel holds 1,048,576) — counted while streaming;
  the reader stops at the first row over the limit. Blank rows do not count.
* ``max_columns`` 200 — checked on the header row.
* ``max_cell_chars`` 32,767 — Excel's own limit for a cell.
* ``max_uncompressed_xlsx_bytes`` 500 MiB — the sum of the sizes declared in the ZIP
  directory of a workbook, checked before anything is decompressed. Python's zipfile
  stops at (and CRC-checks) the declared size, so a member cannot expand beyond it.
* ``max_zip_entries`` 10,000 — parts in a workbook (a real one has a few dozen).
* ``max_compression_ratio`` 200 — per part larger than 1 MiB; sheet XML of real
  workbooks compresses 5–50 times, zip bombs thousands of times.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from bizloom.integration.importing.errors import error

MIB = 1024 * 1024
RATIO_CHECK_MIN_BYTES = MIB


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds applied to one import file (see the module docstring for the defaults)."""

    max_bytes: int = 50 * MIB
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cell_chars: int = 32_767
    max_uncompressed_xlsx_bytes: int = 500 * MIB
    max_zip_entries: int = 10_000
    max_compression_ratio: int = 200


def _mb(size: int) -> str:
    return f"{size / MIB:.1f}".rstrip("0").rstrip(".")


def check_size(size: int, limits: Limits) -> None:
    """Refuse a file larger than ``limits.max_bytes``."""
    if size > limits.max_bytes:
        raise error("file_too_large", size_mb=_mb(size), limit_mb=_mb(limits.max_bytes))


def check_zip_directory(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a ZIP whose directory declares too many parts, too much data or a bomb-like ratio.

    Only the central directory is read; nothing is decompressed.
    """
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise error("zip_entries", count=len(infos), limit=limits.max_zip_entries)
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_uncompressed_xlsx_bytes:
            raise error("zip_bomb", limit_mb=_mb(limits.max_uncompressed_xlsx_bytes))
        if info.file_size > RATIO_CHECK_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise error("zip_ratio", name=info.filename, ratio=int(ratio))

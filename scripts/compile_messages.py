"""Compile the translation catalogues with Babel (no GNU gettext needed) or check them.

    python scripts/compile_messages.py           # write every .mo from its .po
    python scripts/compile_messages.py --check   # fail if a .mo is stale or a Chinese
                                                 # catalogue has untranslated or fuzzy entries
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "bizloom" / "locale"
COMPLETE_LANGUAGES = {"zh_Hans", "zh_Hant"}  # English is the source language


def compiled(po_path: Path) -> tuple[bytes, list[str]]:
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    language = po_path.parts[-3]
    if language in COMPLETE_LANGUAGES:
        for message in catalog:
            if not message.id:
                continue
            text = message.string if isinstance(message.string, str) else "".join(message.string)
            label = message.id if isinstance(message.id, str) else message.id[0]
            if message.fuzzy:
                problems.append(f"{po_path}: fuzzy: {label!r}")
            elif not text:
                problems.append(f"{po_path}: untranslated: {label!r}")
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue(), problems


def main(argv: list[str]) -> int:
    check = "--check" in argv
    failures: list[str] = []
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po")):
        data, problems = compiled(po_path)
        mo_path = po_path.with_suffix(".mo")
        if check:
            failures.extend(problems)
            if not mo_path.exists() or mo_path.read_bytes() != data:
                failures.append(f"{mo_path}: stale, run `make messages` or scripts/compile_messages.py")
        else:
            mo_path.write_bytes(data)
            failures.extend(problems)
    for failure in failures:
        print(failure, file=sys.stderr)
    if check and failures:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

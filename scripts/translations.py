"""Fill the Chinese catalogues after `make messages` added new strings.

    .venv/bin/python scripts/translations.py missing > /tmp/missing.json
    # translate: {"msgid": "简体译文", ...}; plural entries: {"msgid": ["简体译文"]}
    .venv/bin/python scripts/translations.py apply /tmp/zh_hans.json

``missing`` lists the msgids without a Simplified Chinese translation (fuzzy ones included,
with their context in ``#`` comments ignored). ``apply`` writes the given Simplified
translations, clears their fuzzy flags, and fills every Traditional entry that is empty or
fuzzy by converting the Simplified one with OpenCC (``s2twp``: Taiwan standard phrases), so
one translation serves both. Run ``scripts/compile_messages.py`` afterwards.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "bizloom" / "locale"
HANS = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
HANT = LOCALE / "zh_Hant" / "LC_MESSAGES" / "django.po"


def _needs(entry: polib.POEntry) -> bool:
    if entry.obsolete:
        return False
    if "fuzzy" in entry.flags:
        return True
    if entry.msgid_plural:
        return not any(entry.msgstr_plural.values())
    return not entry.msgstr


def missing() -> dict[str, str]:
    """msgid → "" for every Simplified entry still to translate (plural msgids end with " ||plural")."""
    catalogue = polib.pofile(str(HANS))
    return {entry.msgid: entry.msgid_plural or "" for entry in catalogue if _needs(entry)}


def _set(entry: polib.POEntry, value: str | list[str]) -> None:
    if entry.msgid_plural:
        text = value[0] if isinstance(value, list) else value
        entry.msgstr_plural = {0: text}
    else:
        entry.msgstr = value[0] if isinstance(value, list) else value
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        entry.previous_msgid_plural = None


def apply(translations: dict[str, str | list[str]]) -> tuple[int, int]:
    """Write ``translations`` into zh_Hans and derive zh_Hant; returns (hans, hant) entries written."""
    from opencc_purepy import OpenCC

    to_traditional = OpenCC("s2twp")
    hans = polib.pofile(str(HANS))
    written_hans = 0
    for entry in hans:
        if entry.msgid in translations and not entry.obsolete:
            _set(entry, translations[entry.msgid])
            written_hans += 1
    hans.save()
    by_id = {entry.msgid: entry for entry in hans if not entry.obsolete}
    hant = polib.pofile(str(HANT))
    written_hant = 0
    for entry in hant:
        source = by_id.get(entry.msgid)
        if source is None or not _needs(entry):
            continue
        simplified = source.msgstr_plural.get(0, "") if source.msgid_plural else source.msgstr
        if simplified and not _needs(source):
            _set(entry, to_traditional.convert(simplified))
            written_hant += 1
    hant.save()
    return written_hans, written_hant


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "missing":
        json.dump(missing(), sys.stdout, ensure_ascii=False, indent=1)
        return 0
    if len(argv) == 3 and argv[1] == "apply":
        hans, hant = apply(json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        print(f"zh_Hans: {hans} entries written; zh_Hant: {hant} derived", file=sys.stderr)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

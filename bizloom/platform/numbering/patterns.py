"""Document number patterns: ``SO-{yyyy}-{seq:05}`` → ``SO-2025-00042``.

Tokens: ``{yyyy}`` ``{yy}`` ``{mm}`` ``{dd}`` (the document date) and ``{seq}`` / ``{seq:0N}``
(the counter, zero-padded to N digits, 1 ≤ N ≤ 12). Everything else is literal text;
``{{`` and ``}}`` write a literal brace.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed

TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
SEQ_RE = re.compile(r"seq(?::0([1-9]|1[0-2]))?")
DATE_TOKENS = ("yyyy", "yy", "mm", "dd")

NONE, YEAR, MONTH, DAY = "none", "year", "month", "day"
RESET_ORDER = (NONE, YEAR, MONTH, DAY)


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: literal strings and tokens in order."""

    parts: tuple[tuple[str, str], ...]  # ("text", "SO-") / ("date", "yyyy") / ("seq", "5")

    @property
    def date_tokens(self) -> set[str]:
        """The date tokens used."""
        return {value for kind, value in self.parts if kind == "date"}

    def finest_reset(self) -> str:
        """The finest reset period the pattern can express without repeating numbers."""
        tokens = self.date_tokens
        has_year = bool(tokens & {"yyyy", "yy"})
        if has_year and "mm" in tokens and "dd" in tokens:
            return DAY
        if has_year and "mm" in tokens:
            return MONTH
        if has_year:
            return YEAR
        return NONE

    def render(self, on_date: dt.date, value: int) -> str:
        """The number for ``value`` on ``on_date``."""
        out = []
        for kind, token in self.parts:
            if kind == "text":
                out.append(token)
            elif kind == "seq":
                out.append(str(value).zfill(int(token)))
            else:
                out.append({"yyyy": f"{on_date.year:04d}", "yy": f"{on_date.year % 100:02d}",
                            "mm": f"{on_date.month:02d}", "dd": f"{on_date.day:02d}"}[token])
        return "".join(out)


def _invalid(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"pattern": [message]})


def parse(pattern: str) -> Pattern:
    """Parse ``pattern``; ValidationFailed naming the problem (unknown token, no or two ``{seq}``, ...)."""
    if not pattern or not pattern.strip():
        raise _invalid(_("Enter a pattern, for example SO-{yyyy}-{seq:05}."), "pattern_empty")
    if len(pattern) > 100:
        raise _invalid(_("A pattern may have at most 100 characters."), "pattern_too_long")
    parts: list[tuple[str, str]] = []
    position = 0
    for match in TOKEN_RE.finditer(pattern):
        if match.start() > position:
            parts.append(("text", pattern[position:match.start()]))
        position = match.end()
        raw = match.group(0)
        if raw in ("{{", "}}"):
            parts.append(("text", raw[0]))
            continue
        if raw in ("{", "}"):
            raise _invalid(_("Unmatched “%(brace)s” in the pattern; write it twice for a literal brace.")
                           % {"brace": raw}, "pattern_unmatched_brace")
        token = match.group(1).strip()
        if token.lower() in DATE_TOKENS and token == token.lower():
            parts.append(("date", token))
            continue
        seq = SEQ_RE.fullmatch(token)
        if seq:
            parts.append(("seq", seq.group(1) or "1"))
            continue
        raise _invalid(
            _("Unknown token “{%(token)s}”. Use {yyyy}, {yy}, {mm}, {dd}, {seq} or {seq:0N} (N from 1 to 12).")
            % {"token": token}, "pattern_unknown_token")
    if position < len(pattern):
        parts.append(("text", pattern[position:]))
    seq_count = sum(1 for kind, _v in parts if kind == "seq")
    if seq_count != 1:
        raise _invalid(_("The pattern must contain the counter {seq} (or {seq:0N}) exactly once."), "pattern_seq_count")
    return Pattern(tuple(parts))


def effective_reset(pattern: Pattern, reset: str) -> str:
    """The reset period used: ``auto`` means the finest the pattern shows; an explicit one must not
    be finer than the date tokens allow (numbers would repeat). ValidationFailed otherwise."""
    finest = pattern.finest_reset()
    if reset in ("", "auto"):
        return finest
    if reset not in RESET_ORDER:
        raise ValidationFailed(_("Unknown reset period “%(reset)s”.") % {"reset": reset}, code="reset_unknown",
                               fields={"reset_period": [_("Unknown reset period.")]})
    if RESET_ORDER.index(reset) > RESET_ORDER.index(finest):
        needed = {YEAR: _("year"), MONTH: _("year and month"), DAY: _("year, month and day")}[reset]
        message = _("Resetting every %(reset)s would repeat numbers: the pattern must show the %(needed)s.") % {
            "reset": reset, "needed": needed}
        raise ValidationFailed(message, code="reset_finer_than_pattern", fields={"reset_period": [message]})
    return reset


def period_key(reset: str, on_date: dt.date) -> str:
    """The counter's period for ``on_date``: ``""``, ``2025``, ``2025-03`` or ``2025-03-07``."""
    if reset == YEAR:
        return f"{on_date.year:04d}"
    if reset == MONTH:
        return f"{on_date.year:04d}-{on_date.month:02d}"
    if reset == DAY:
        return on_date.isoformat()
    return ""

"""Normalisation of what people type into names, emails and phone numbers (issues #4 and #5).

Pure functions, no database: forms, services and the importer call them before they store a
value, and :mod:`bizloom.crm.duplicates` builds its matching keys on top of them.

Two kinds of output, on purpose:

* *storage forms* (:func:`normalize_name`, :func:`normalize_email`, :func:`normalize_phone`)
  keep what the user meant and only remove noise (full-width Latin letters and digits,
  stray spaces, invisible characters);
* *matching forms* (:func:`fold_for_matching`) throw away everything that should not make two
  values differ: width, case, accents and Traditional vs Simplified characters.

Blank input gives blank output (``""``) everywhere: whether a field is required is the
form's business, not the normaliser's. Invalid input raises :class:`InvalidValue`, whose
message is translatable and is rendered in the active language only when it is shown.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import forget_frames

__all__ = [
    "EXTENSION_SEPARATOR",
    "PLAIN_EMAIL_RE",
    "InvalidValue",
    "fold_for_matching",
    "fold_width",
    "format_phone",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "parse_phone",
    "to_simplified",
]


class InvalidValue(ValueError):
    """A value that cannot be normalised, with a translatable message and a stable ``code``.

    The message is kept lazy and its ``params`` separate (like Django's ``ValidationError``), so
    it is translated when it is displayed, not when it is raised. Turn it into a form error with
    ``ValidationError(exc.message, code=exc.code, params=exc.params)``.

    >>> err = InvalidValue(_("“%(value)s” is not a valid email address."), "invalid_email", {"value": "x@"})
    >>> str(err), err.code
    ('“x@” is not a valid email address.', 'invalid_email')
    """

    def __init__(self, message: str | Promise, code: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code
        self.params: dict[str, object] = dict(params or {})

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


# --------------------------------------------------------------------------------------------
# Width and whitespace

# Full-width marks that are the correct form inside Chinese text (GB/T 15834): kept next to
# CJK characters, folded to ASCII elsewhere ("阿里巴巴（中国）" stays, "Acme（HK）" → "Acme(HK)").
_CJK_MARKS = "！（），：；？"
_CJK_MARKS_RE = re.compile(f"[{_CJK_MARKS}]")
# Invisible characters that arrive with copy-paste and CSV files: zero-width space, word joiner,
# byte-order mark, soft hyphen.
_INVISIBLE = "\u200b\u2060\ufeff\u00ad"
_SPACES_RE = re.compile(r"\s+")


def _build_width_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Full-width ASCII U+FF01–FF5E → U+0021–007E, except the CJK marks handled in context.
    for code in range(0xFF01, 0xFF5F):
        if chr(code) not in _CJK_MARKS:
            table[code] = chr(code - 0xFEE0)
    # Half-width katakana and hangul, full-width currency signs (￥ → ¥): their NFKC form.
    for code in range(0xFF61, 0xFFEF):
        folded = unicodedata.normalize("NFKC", chr(code))
        if folded != chr(code):
            table[code] = folded
    # Every Unicode space (ideographic U+3000, no-break, thin, …) becomes an ASCII space, and
    # control characters too (tabs and line breaks then collapse like any other space).
    for code in range(0x3001):  # every space and control character sits below U+3001
        char = chr(code)
        if unicodedata.category(char) in {"Zs", "Zl", "Zp", "Cc"} and char != " ":
            table[code] = " "
    for char in _INVISIBLE:
        table[ord(char)] = ""
    return table


_WIDTH_TABLE = _build_width_table()


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK symbols and punctuation, kana, CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # CJK compatibility forms
        or 0x20000 <= code <= 0x3FFFF  # ideograph extensions B and later
    )


def _fold_cjk_mark(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    left = start - 1
    while left >= 0 and (text[left] == " " or text[left] in _CJK_MARKS):
        left -= 1
    right = start + 1
    while right < len(text) and (text[right] == " " or text[right] in _CJK_MARKS):
        right += 1
    if (left >= 0 and _is_cjk(text[left])) or (right < len(text) and _is_cjk(text[right])):
        return match.group()
    return chr(ord(match.group()) - 0xFEE0)


def fold_width(text: str) -> str:
    """Fold full-width Latin letters, digits and spaces to ASCII; trim and collapse whitespace.

    What it does:

    * Unicode NFC (canonical composition; CJK compatibility ideographs become the unified ones);
    * full-width ASCII (U+FF01–FF5E) → ASCII, half-width katakana/hangul → their normal form;
    * the full-width marks ``！（），：；？`` are *kept* when the nearest non-space character on
      either side is CJK, because that is the correct form in Chinese (a registered company name
      is written ``阿里巴巴（中国）有限公司``), and folded to ASCII otherwise;
    * every kind of space, tab and line break becomes one ASCII space; runs collapse; ends trim;
    * zero-width spaces, word joiners, byte-order marks and soft hyphens are removed.

    What it does not do: it leaves CJK punctuation outside the full-width ASCII block
    (``、。「」【】《》``), compatibility characters such as ``①`` or ``™``, case and
    Traditional/Simplified characters alone. Matching keys fold those with
    :func:`fold_for_matching`.

    >>> fold_width("  ＡＣＭＥ　Ｔｒａｄｉｎｇ　１２３ ")
    'ACME Trading 123'
    >>> fold_width("阿里巴巴（中国）有限公司"), fold_width("Acme（HK）Ltd")
    ('阿里巴巴（中国）有限公司', 'Acme(HK)Ltd')
    """
    if not text:
        return ""
    if text.isascii():
        # Printable ASCII is its own NFC form, nothing in it is in the width table and its only
        # space is " ": without a double or outer space there is nothing to do.
        if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
            return text
    elif _HAN_ONLY_RE.fullmatch(text):
        return text  # CJK unified ideographs only (most Chinese names): no decomposition, space or mark
    return _fold_width(text)


_HAN_ONLY_RE = re.compile("[\u4e00-\u9fff]+")


def _fold_width(text: str) -> str:
    """:func:`fold_width` without its fast paths (the tests compare the two)."""
    folded = unicodedata.normalize("NFC", text).translate(_WIDTH_TABLE)
    folded = _SPACES_RE.sub(" ", folded).strip()
    if any(mark in folded for mark in _CJK_MARKS):
        folded = _CJK_MARKS_RE.sub(_fold_cjk_mark, folded)
    return folded


def normalize_name(text: str) -> str:
    """The storage form of a person's or company's name: as typed, minus width and space noise.

    It is :func:`fold_width` under the name policy's own name, so that the policy can grow
    (e.g. a length limit) without touching other callers. Names are not lower-cased and
    Traditional characters are kept: a Hong Kong company is stored the way it is registered.

    >>> normalize_name("  華為技術　有限公司\\n")
    '華為技術 有限公司'
    """
    return fold_width(text)


# --------------------------------------------------------------------------------------------
# Matching fold: width, case, accents, Traditional → Simplified

_COMBINING_RE = re.compile("[\u0300-\u036f]")
# Characters that decompose into a letter + a combining diacritic (Latin, Greek, Cyrillic).
_MAY_HAVE_ACCENTS_RE = re.compile("[\u00c0-\u04ff\u1e00-\u1fff]")


@functools.cache
def _t2s_table() -> dict[int, str]:
    """Character-level Traditional → Simplified table from OpenCC's dictionaries, closed under chains.

    OpenCC's ``TSCharacters`` maps each Traditional character to its usual Simplified form. Two
    repairs make it a fold (``f(f(x)) == f(x)`` and ``f(s2t(x)) == f(x)``): chains such as
    薴 → 苧 → 苎 are followed to their end, and where OpenCC's Simplified → Traditional table
    gives a character that ``TSCharacters`` leaves alone (卫 → 衞, 叙 → 敍) or maps elsewhere
    (variant 缐 → 線 → 线), the pair is joined as well.
    """
    from opencc_purepy.dictionary_lib import DictionaryMaxlength  # 0.1 s load: only when needed

    provider = DictionaryMaxlength.get_provider()
    ts: dict[str, str] = {k: v for k, v in provider.ts_characters[0].items() if len(k) == 1 and len(v) == 1}
    st: dict[str, str] = {k: v[0] for k, v in provider.st_characters[0].items() if len(k) == 1 and v}

    def resolve(char: str) -> str:
        seen = {char}
        while char in ts and ts[char] not in seen:
            char = ts[char]
            seen.add(char)
        return char

    for simplified, traditional in st.items():
        target, source = resolve(simplified), resolve(traditional)
        if target == source:
            continue
        if source == traditional:  # OpenCC leaves the traditional form alone: 衞 → 卫
            ts[traditional] = target
        else:  # a variant simplified form of another character: 缐 → 线
            ts[simplified] = source
    # Hong Kong and Taiwan variant forms (衛 → 衞 in Hong Kong) fold like the standard form,
    # unless the variant is itself an ordinary Simplified character (Taiwan 幺 → 么).
    for variants in (provider.hk_variants[0], provider.tw_variants[0]):
        for standard, variant in variants.items():
            if len(standard) == 1 and len(variant) == 1 and variant not in st and resolve(variant) == variant:
                ts[variant] = resolve(standard)
    return {ord(k): resolve(k) for k in ts if resolve(k) != k}


class _Fold:
    """A ``str.translate`` table, and the set of characters it changes to skip it when it would not."""

    __slots__ = ("changes", "table")

    def __init__(self, table: dict[int, str]) -> None:
        self.table = table
        self.changes = frozenset(map(chr, table))

    def __call__(self, text: str) -> str:
        # A set intersection test is several times faster than translating, and most text needs no change.
        return text if self.changes.isdisjoint(text) else text.translate(self.table)


@functools.cache
def _folds() -> tuple[_Fold, _Fold]:
    """Built on first use: Traditional → Simplified, and that plus spaces and invisible characters."""
    t2s = _t2s_table()
    return _Fold(t2s), _Fold({**t2s, **_WIDTH_TABLE})


def to_simplified(text: str) -> str:
    """Fold Traditional Chinese characters to Simplified, character by character.

    A fold for matching, not a translation: it does not look at words (乾隆 becomes 干隆) and it
    changes no vocabulary (軟體 stays 软体, not 软件). Data: OpenCC's character tables.

    >>> to_simplified("華為技術有限公司"), to_simplified("臺灣")
    ('华为技术有限公司', '台湾')
    """
    return text if text.isascii() else _folds()[0](text)


def fold_for_matching(text: str) -> str:
    """Fold everything that must not make two values differ: compatibility forms, case, accents, script.

    NFKC (full width, ``①`` → ``1``, ``㈱`` → ``(株)``), Unicode case folding, Latin/Greek/
    Cyrillic diacritics removed (``Nestlé`` → ``nestle``; Japanese voicing marks are kept),
    Traditional → Simplified (:func:`to_simplified`), whitespace collapsed. Punctuation is left
    for the caller to decide.

    >>> fold_for_matching("ＮＥＳＴＬÉ  華為")
    'nestle 华为'
    """
    if not text:
        return ""
    if text.isascii():  # the fast path (ASCII is its own NFKC form): half of the names in a CRM
        folded = text.lower()
    else:
        normal = unicodedata.normalize("NFKC", text)
        folded = normal.casefold()
        if _MAY_HAVE_ACCENTS_RE.search(folded):
            folded = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", folded))
        if folded != normal:  # casefold and accent removal may leave a string that is not NFKC
            folded = unicodedata.normalize("NFKC", folded)
        if not folded.isascii():
            folded = _folds()[1](folded)
    if folded.isascii() and not folded.isprintable():
        folded = folded.translate(_WIDTH_TABLE)  # control characters
    return " ".join(folded.split())


# --------------------------------------------------------------------------------------------
# Email

_EMAIL_VALIDATOR = EmailValidator()
# Dots a Chinese input method produces in a domain: ideographic and half-width full stops.
_EMAIL_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\uff0e": "."})
# A subset of what EmailValidator accepts (dot-atom local part, LDH domain labels, letter TLD).
PLAIN_EMAIL_RE = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalize_email(text: str) -> str:
    """The storage form of an email address: NFKC, trimmed and lower-cased, then validated.

    Full-width letters and ``＠`` fold to ASCII and ``。`` in the domain counts as a dot (what a
    Chinese input method produces); a ``mailto:`` prefix and surrounding ``<>`` are dropped. The
    whole address is lower-cased: local parts are case-sensitive in theory, never in practice,
    and one spelling per mailbox is what duplicate matching needs. Validation is Django's
    ``EmailValidator`` (so internationalised domains pass, non-ASCII local parts do not).

    Blank input gives ``""``. Raises :class:`InvalidValue` (code ``invalid_email``).

    >>> normalize_email("  Info＠Example。COM ")
    'info@example.com'
    """
    value = text or ""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value).translate(_EMAIL_DOTS)
    value = value.strip().lower()
    if value.startswith("mailto:"):
        value = value[7:].strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if not value:
        return ""
    if len(value) <= 254 and PLAIN_EMAIL_RE.fullmatch(value):
        return value  # the common case, which Django's validator accepts too: skip its slower checks
    if not _django_accepts_email(value):
        raise InvalidValue(_("“%(value)s” is not a valid email address."), "invalid_email", {"value": text.strip()})
    return value


def _django_accepts_email(value: str) -> bool:
    """Whether Django's ``EmailValidator`` accepts ``value``.

    Its ``ValidationError`` is dropped here, frames first (:func:`~bizloom.common.errors.forget_frames`).
    """
    try:
        _EMAIL_VALIDATOR(value)
    except ValidationError as failure:
        forget_frames(failure)
        return False
    return True


# --------------------------------------------------------------------------------------------
# Phone

# "转" / "分机" (extension) as Chinese users write it: 0755-88888888转123.
_CHINESE_EXTENSION_RE = re.compile(r"\s*(?:转|轉|分机|分機)\s*(?=\d+\s*$)")
# A trailing "-123" after a complete number is how many Chinese cards write an extension.
_DASH_EXTENSION_RE = re.compile(r"^(.*\d)\s*[-‐‑–—]\s*(\d{1,6})\s*$")

EXTENSION_SEPARATOR = ";ext="
"""How an extension follows the E.164 number in stored values: ``+8675588888888;ext=123``.

The same parameter name as RFC 3966 ``tel:`` URIs, so ``"tel:" + value`` is a dialable link.
"""


def parse_phone(text: str, default_region: str = "CN", *, strict: bool = True) -> phonenumbers.PhoneNumber | None:
    """Parse a phone number as people write it; ``None`` when it is not one.

    ``strict`` asks libphonenumber whether the number is *valid* (an assigned range: right
    prefix and length for its type); without it, a number of a *possible* length is enough.
    Tries a trailing ``-123`` as an extension when the whole does not parse as a number.
    """
    value = unicodedata.normalize("NFKC", text or "").strip()
    value = _CHINESE_EXTENSION_RE.sub(" ext. ", value)
    candidates: list[tuple[str, str | None]] = [(value, None)]
    if dash := _DASH_EXTENSION_RE.match(value):
        candidates.append((dash.group(1), dash.group(2)))
    for candidate, extension in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
        if ok:
            if extension and not number.extension:
                number.extension = extension
            return number
    return None


def format_phone(number: phonenumbers.PhoneNumber) -> str:
    """E.164, followed by ``;ext=NNN`` when the number has an extension (see :data:`EXTENSION_SEPARATOR`)."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164}{EXTENSION_SEPARATOR}{number.extension}" if number.extension else e164


_MOBILE_RE = re.compile(r"(?:\+86)?(1[3-9][0-9]{9})", re.ASCII)
_PHONE_NOISE = str.maketrans("", "", " -")


@functools.cache
def _cn_mobile_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    metadata: Any = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return (re.compile(str(metadata.general_desc.national_number_pattern)),
            re.compile(str(metadata.mobile.national_number_pattern)))


def fast_mobile(text: str) -> str | None:
    """:func:`normalize_phone` of ``text`` for the commonest case, without libphonenumber's parser; None otherwise.

    A mainland mobile written as 11 ASCII digits (spaces or dashes allowed, ``+86`` optional)
    is valid exactly when its national number matches libphonenumber's own CN general and
    mobile patterns (its validity check for a number of one region), and its E.164 form is
    ``+86`` + the digits. Numbers starting 179, 11 or 12 are left to the parser (they may begin
    with a carrier prefix it strips). ``test_fast_mobile_agrees_with_the_contact_services_normalisation``:
    the answer equals libphonenumber's whenever it is not None.
    """
    if not text.isascii():
        return None
    match = _MOBILE_RE.fullmatch(text.strip().translate(_PHONE_NOISE))
    if match is None:
        return None
    digits = match.group(1)
    general, mobile = _cn_mobile_patterns()
    if digits.startswith("179") or not (general.fullmatch(digits) and mobile.fullmatch(digits)):
        return None
    return "+86" + digits


def normalize_phone(text: str, default_region: str = "CN") -> str:
    """The storage form of a phone number: E.164, plus ``;ext=NNN`` when there is an extension.

    Numbers without ``+`` are read as numbers of ``default_region`` (mainland China by default):
    mobiles with or without ``+86``/``0086``/``86``, landlines with their area code
    (``010-12345678``, ``(021) 6123 4567``), spaces, dashes and full-width digits all work.
    Extensions written ``ext. 123``, ``x123``, ``转123`` or ``分机123`` are kept. Numbers in other
    countries (Hong Kong, Taiwan, …) need ``+`` or ``00`` and their country code. Validation is
    libphonenumber's strict check, so short service numbers such as 95588 are refused.

    Blank input gives ``""``. Raises :class:`InvalidValue` (code ``invalid_phone``).

    >>> normalize_phone("１３８ １２３４ ５６７８"), normalize_phone("0755-8888 8888 转 123")
    ('+8613812345678', '+8675588888888;ext=123')
    >>> normalize_phone("+852 2123 4567")
    '+85221234567'
    """
    if default_region == "CN" and text and (fast := fast_mobile(text)) is not None:
        return fast
    if not fold_width(text or ""):
        return ""
    number = parse_phone(text, default_region, strict=True)
    if number is None:
        raise InvalidValue(
            _("“%(value)s” is not a valid phone number. Write numbers of other countries with + and the country code."),
            "invalid_phone",
            {"value": text.strip()},
        )
    return format_phone(number)

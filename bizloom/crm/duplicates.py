"""Duplicate matching keys and an in-memory index shared by duplicate detection and the importer.

Issue #4 (records and data quality) warns before a duplicate is saved; issue #5 (import) flags
rows that match a record in the database *or an earlier row of the same file*. Both use the
keys below, so a record that the form calls a duplicate is one the importer calls a duplicate.

Rules, strongest first (:data:`RULE_ORDER`):

1. ``tax_id`` — same tax id (USCC or foreign) after :func:`tax_key`;
2. ``email`` — same address after :func:`email_key`;
3. ``phone`` — same E.164 number (and extension) after :func:`phone_key`;
4. ``name`` — same :func:`company_key` (accounts) or :func:`person_key` (people).

A match is a *candidate* for a person to confirm, never an automatic merge: the name rule in
particular over-matches on purpose (``Acme Inc`` and ``Acme Ltd`` share a key).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar

import phonenumbers

from bizloom.crm.identifiers import normalize_tax_id
from bizloom.crm.normalize import (
    PLAIN_EMAIL_RE,
    InvalidValue,
    fold_for_matching,
    format_phone,
    normalize_email,
    parse_phone,
    to_simplified,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "RULE_ORDER",
    "DuplicateIndex",
    "Elsewhere",
    "Match",
    "Rule",
    "company_key",
    "email_key",
    "person_key",
    "phone_key",
    "tax_key",
]

# --------------------------------------------------------------------------------------------
# Company names

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
_NOT_WORD_RE = re.compile(r"[\W_]+")
_NOT_HAN_OR_ASCII_RE = re.compile("[^\u0000-\u007f\u4e00-\u9fff]")
_ASCII_ALNUM_RE = re.compile("[a-z0-9]")
_HAN_ONLY_RE = re.compile("[\u4e00-\u9fff]+")
_ASCII_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# Words: a run of CJK characters is one word however it is spaced ("华为技术 有限公司"), and a
# change between CJK and another script starts a new word ("华为co ltd" is 华为 / co / ltd).
_SPACE_IN_CJK_RE = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")
_SCRIPT_CHANGE_RE = re.compile(f"(?<=[{_CJK}])(?=[^ {_CJK}])|(?<=[^ {_CJK}])(?=[{_CJK}])")
_BRACKETS = frozenset("(【〔「『《〈[")
# "(中国)" / "(China)" in any kind of bracket: the same company as without it (阿里巴巴（中国）).
# Any other bracketed word stays part of the name: 华为技术（深圳） is another legal entity.
_CHINA_IN_BRACKETS_RE = re.compile(r"[(\[【〔「『〈《]\s*(?:中国|china|prc)\s*[)\]】〕」』〉》]")

# Chinese (and Japanese) legal forms, in Simplified: matching runs after Traditional folding.
CHINESE_LEGAL_SUFFIXES: tuple[str, ...] = (
    "股份有限公司", "有限责任公司", "责任有限公司", "有限公司", "股份公司", "公司",
    "特殊普通合伙", "普通合伙", "有限合伙", "合伙企业", "个人独资企业",
    "株式会社", "有限会社",
)
# Latin legal forms as lower-case words (punctuation already turned into spaces, so "Co.,Ltd"
# is "co ltd" and "S.A." is "s a"). Stripped only as whole words at the end, repeatedly.
LATIN_LEGAL_SUFFIXES: tuple[str, ...] = (
    "co ltd", "co limited", "company limited", "private limited", "ltd", "limited",
    "inc", "incorporated", "corp", "corporation", "co", "company", "and co",
    "llc", "l l c", "llp", "lp", "l p", "plc", "pte", "pty", "pvt",
    "gmbh", "mbh", "ag", "a g", "kg", "k g", "ug", "sa", "s a", "sas", "sarl", "srl", "s r l", "spa", "s p a",
    "bv", "b v", "nv", "n v", "ab", "oy", "kk", "k k", "sdn bhd", "bhd",
)
_LATIN_SUFFIXES = frozenset(LATIN_LEGAL_SUFFIXES)
_LATIN_WORD_COUNTS = tuple(sorted({suffix.count(" ") + 1 for suffix in LATIN_LEGAL_SUFFIXES}, reverse=True))
_LATIN_COMPACT_SUFFIXES = frozenset(suffix.replace(" ", "") for suffix in LATIN_LEGAL_SUFFIXES)
# "公司" is not stripped from 分公司 (branch) or 总公司 (head office): they change identity.
_KEEPS_COMPANY = "分总"
# Chinese legal forms at the end, as many as there are, matched on the reversed name (a regular
# expression anchored at the end would try every position). Longest first, so 股份有限公司 goes
# whole rather than leaving 股份.
_CHINESE_SUFFIXES_REVERSED_RE = re.compile(
    "(?:(?:"
    + "|".join(
        re.escape(suffix[::-1]) + (f"(?![{_KEEPS_COMPANY}])" if suffix == "公司" else "")
        for suffix in sorted(CHINESE_LEGAL_SUFFIXES, key=len, reverse=True)
    )
    + ") ?)+"
)
_LEADING_RE = re.compile(r"^(?:the |株式会社 ?)+")
# A branch (分公司) is its own record; the parent's legal form inside its name is noise:
# 华为技术有限公司北京分公司 and 华为技术北京分公司 are the same branch.
_LEGAL_FORM_BEFORE_BRANCH_RE = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|股份公司)(?=.+分公司$)")


def _strip_legal_forms(text: str) -> str:
    """Strip legal forms from the end of space-separated words, repeatedly."""
    if text.startswith(("the ", "株式会社")):
        text = _LEADING_RE.sub("", text)
    while text:
        if text[-1].isascii():
            words = text.rsplit(" ", _LATIN_WORD_COUNTS[0])
            for count in _LATIN_WORD_COUNTS:
                if len(words) >= count and " ".join(words[-count:]) in _LATIN_SUFFIXES:
                    text = " ".join(words[:-count])
                    break
            else:
                break
            continue
        if (match := _CHINESE_SUFFIXES_REVERSED_RE.match(text[::-1])) is None:
            break
        text = text[: -match.end()]  # every Chinese legal form at the end at once
        if not text or not text[-1].isascii():
            break
    if text.endswith("分公司"):
        count = 1
        while count:  # until no legal form is left, even one that removing another formed
            text, count = _LEGAL_FORM_BEFORE_BRANCH_RE.subn("", text)
    return text


def _company_key_once(name: str) -> str:
    text = fold_for_matching(name)
    if not _BRACKETS.isdisjoint(text):
        text = _CHINA_IN_BRACKETS_RE.sub(" ", text)
    if not text.isalnum():
        text = _NOT_WORD_RE.sub(" ", text.replace("&", " and ")).strip()
    if not text.isascii() and (" " in text or _ASCII_ALNUM_RE.search(text)):  # pure CJK skips this
        text = _SCRIPT_CHANGE_RE.sub(" ", _SPACE_IN_CJK_RE.sub("", text))
    stripped = _strip_legal_forms(text)
    # Nothing but a legal form ("Limited", "有限公司"): keep it rather than a key that matches everything.
    return (stripped or text).replace(" ", "")


def _may_change_again(key: str) -> bool:
    """Whether folding ``key`` again could change it; ``False`` for nearly every key, cheaply.

    A key has no spaces, so a second pass sees its trailing Latin letters as one word: that word
    may be a legal form that was several words before ("华为 A.B." → "华为ab"). Characters other
    than ASCII and Chinese may not survive case and compatibility folding unchanged.
    """
    tail = key[len(key.rstrip(_ASCII_ALNUM)):]
    return tail in _LATIN_COMPACT_SUFFIXES or _NOT_HAN_OR_ASCII_RE.search(key) is not None


def company_key(name: str) -> str:
    """The matching key of a company name: equal keys mean "probably the same company".

    Folds width, case, accents and Traditional → Simplified (:func:`fold_for_matching`);
    drops punctuation, brackets and whitespace (``&`` counts as "and"); drops ``(中国)`` /
    ``(China)`` in brackets; strips legal forms at the end, repeatedly
    (:data:`CHINESE_LEGAL_SUFFIXES`, :data:`LATIN_LEGAL_SUFFIXES`, so ``GmbH & Co. KG`` goes
    whole) and ``The`` / ``株式会社`` at the start.

    Kept on purpose, because they name another legal entity: ``集团`` / ``Group`` and
    ``控股`` / ``Holdings``; a bracketed place other than China (``华为技术（深圳）``, ``(HK)``);
    ``分公司`` (a branch, whose key drops the parent's legal form) and ``总公司``. A name that is
    only a legal form keeps it. ``""`` for a blank name.

    >>> company_key("华为技术有限公司") == company_key("華為技術有限公司") == company_key("华为技术 （有限公司）")
    True
    >>> company_key("Acme Trading Co., Ltd."), company_key("ACME TRADING LIMITED"), company_key("acme trading")
    ('acmetrading', 'acmetrading', 'acmetrading')
    >>> company_key("阿里巴巴（中国）有限公司"), company_key("海尔集团有限公司")
    ('阿里巴巴', '海尔集团')
    >>> company_key("华为技术有限公司北京分公司")
    '华为技术北京分公司'
    """
    if _HAN_ONLY_RE.fullmatch(name):
        # Most names in a Chinese CRM: nothing to fold but the script, and the key is a fixed point.
        text = to_simplified(name)
        return _strip_legal_forms(text) or text
    key = _company_key_once(name or "")
    # Fold again until company_key(company_key(x)) == company_key(x) (rarely needed; see above).
    for _ in range(3):
        if not _may_change_again(key):
            break
        again = _company_key_once(key)
        if again == key:
            break
        key = again
    return key


# --------------------------------------------------------------------------------------------
# People, emails, phones, tax ids

_TITLE_RE = re.compile(r"^(?:(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|herr|frau) )+")


def person_key(name: str) -> str:
    """The matching key of a person's name: folded, punctuation and titles gone, word order ignored.

    ``Smith, John`` / ``john smith`` / ``Mr. John SMITH`` share a key, and so do ``张三`` /
    ``張三`` / ``张 三``. It does not transliterate: ``Zhang San`` and ``张三`` differ (and
    ``San Zhang`` equals ``Zhang San``). Chinese honorifics (张先生) are left: they are not names.

    >>> person_key("Mr. John SMITH") == person_key("Smith, John"), person_key("張 三")
    (True, '张三')
    """
    key = _person_key_once(name or "")
    for _ in range(5):  # sorting can bring two CJK words together, which then join: until stable
        again = _person_key_once(key)
        if again == key:
            break
        key = again
    return key


def _person_key_once(name: str) -> str:
    text = _NOT_WORD_RE.sub(" ", fold_for_matching(name)).strip()
    text = _SPACE_IN_CJK_RE.sub("", text)
    text = _TITLE_RE.sub("", text + " ").strip() or text
    return _SPACE_IN_CJK_RE.sub("", " ".join(sorted(text.split())))


def email_key(text: str | None) -> str | None:
    """The matching key of an email address: :func:`~bizloom.crm.normalize.normalize_email`, or ``None``.

    ``None`` for blank or invalid input: an invalid address matches nothing.

    >>> email_key(" Sales@ACME.com "), email_key("not an email")
    ('sales@acme.com', None)
    """
    if not text:
        return None
    if text.isascii():  # the common case, without the function calls of normalize_email
        value = text.strip().lower()
        if len(value) <= 254 and PLAIN_EMAIL_RE.fullmatch(value):
            return value
    try:
        return normalize_email(text) or None
    except InvalidValue:
        return None


_PHONE_SEPARATORS = str.maketrans(dict.fromkeys(" \t-‐‑–—.()/", None))
# Mainland numbers as almost everybody writes them, resolved without libphonenumber (50 µs a
# parse is too slow for 200,000 keys). Mobiles exclude 11x/12x/179x, which libphonenumber may read
# as carrier prefixes; landlines are 0 + area code (10, 2x or three digits) + local number.
_CN_NUMBER_RE = re.compile(
    r"(?:\+86|0086|86)?(1(?:[3-68-9][0-9]|7[0-8])[0-9]{8})"  # mobile
    r"|(?:(?:\+86|0086)0?|0)(10[0-9]{8}|2[0-9]{9}|[3-9][0-9]{9,10})",  # landline
    re.ASCII,
)


@functools.cache
def _calling_code_rules(calling_code: int) -> tuple[re.Pattern[str] | None, frozenset[int]] | None:
    """libphonenumber's national-prefix pattern and possible national lengths for a calling code."""
    region = phonenumbers.region_code_for_country_code(calling_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(calling_code, region)
    if metadata is None or metadata.general_desc is None:
        return None
    desc = metadata.general_desc
    prefix = metadata.national_prefix_for_parsing
    lengths = frozenset((desc.possible_length or ()) + (desc.possible_length_local_only or ()))
    return (re.compile(prefix) if prefix else None), lengths


_NOT_DECIDED = "?"


def _international_fast_path(compact: str) -> str | None:
    """The key of ``+<digits>`` as libphonenumber would give it, without parsing; ``"?"`` if unsure.

    libphonenumber keeps such a number digit for digit when its calling code is known and
    nothing at the start of the national number could be a national or carrier prefix that it
    strips; the number is then possible exactly when the national number has a possible length.
    """
    digits = compact[1:]
    if not (digits.isdigit() and digits.isascii()):
        return _NOT_DECIDED
    for size in (1, 2, 3):
        calling_code = int(digits[:size])
        if calling_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            rules = _calling_code_rules(calling_code)
            if rules is None:
                return _NOT_DECIDED
            prefix, lengths = rules
            national = digits[size:]
            if prefix is not None and prefix.match(national):
                return _NOT_DECIDED
            return compact if len(national) in lengths else None
    return None  # no such calling code: libphonenumber refuses it too


def phone_key(text: str | None, default_region: str = "CN") -> str | None:
    """The matching key of a phone number: E.164 (with ``;ext=`` if any), or ``None``.

    More lenient than :func:`~bizloom.crm.normalize.normalize_phone`: a number of a possible
    length is enough, so a number that libphonenumber does not know as assigned still matches
    the same number written another way. Whenever ``normalize_phone`` accepts a number, the key
    is its result. The extension is part of the key: it names a line, not a company.

    >>> phone_key("+86 138-1234-5678"), phone_key("138 1234 5678"), phone_key("hello")
    ('+8613812345678', '+8613812345678', None)
    """
    if not text:
        return None
    compact = text.translate(_PHONE_SEPARATORS)
    if default_region == "CN":
        if match := _CN_NUMBER_RE.fullmatch(compact):
            return "+86" + (match.group(1) or match.group(2))
        if compact.startswith("00"):  # the international prefix dialled from China
            compact = "+" + compact[2:]
    if compact.startswith("+") and (fast := _international_fast_path(compact)) != _NOT_DECIDED:
        return fast
    number = parse_phone(text, default_region, strict=False)
    return format_phone(number) if number is not None else None


def tax_key(text: str | None) -> str | None:
    """The matching key of a tax id: :func:`~bizloom.crm.identifiers.normalize_tax_id`, or ``None``.

    ``None`` unless the result has at least 5 characters, a digit, and not one character
    repeated: spreadsheets say ``N/A``, ``无``, ``-`` or ``000000`` for "unknown", and those
    must not make every such record a duplicate of every other.

    >>> tax_key("9135 0100 M000 100Y 43"), tax_key("N/A"), tax_key("00000000")
    ('91350100M000100Y43', None, None)
    """
    if not text:
        return None
    code = text.upper() if text.isascii() and text.isalnum() else normalize_tax_id(text)
    if len(code) < 5 or code.isalpha() or not code.strip(code[0]):
        return None
    return code


# --------------------------------------------------------------------------------------------
# The index


class Rule(StrEnum):
    """Why two records match; :data:`RULE_ORDER` ranks them."""

    TAX_ID = "tax_id"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"


RULE_ORDER: tuple[Rule, ...] = (Rule.TAX_ID, Rule.EMAIL, Rule.PHONE, Rule.NAME)
_RANK = {rule: rank for rank, rule in enumerate(RULE_ORDER)}
ACCOUNT_FIELDS: Mapping[Rule, str] = {Rule.TAX_ID: "code", Rule.EMAIL: "email", Rule.PHONE: "phone", Rule.NAME: "name"}
"""Which field of an account feeds which rule (``crm.Account``: name, code, phone, email)."""

K = TypeVar("K", bound=Hashable)


class Match(NamedTuple, Generic[K]):
    """``record_id`` matches by ``rule`` (its strongest one) on the shared ``key``."""

    record_id: K
    rule: Rule
    key: str


@dataclass(frozen=True)
class Elsewhere:
    """A record of another kind in a :class:`DuplicateIndex` (an importer of leads compares rows with
    contacts and accounts too): ``label`` names it with its kind, ``pk`` is its key."""

    label: str
    pk: Any


class DuplicateIndex(Generic[K]):
    """Dictionaries from each rule's key to the records that have it; built once, queried many times.

    Records are ``(record_id, fields)`` pairs; ``record_id`` is anything hashable (a primary key,
    or ``("row", 12)`` for a row of an import file). ``fields`` is a mapping whose field names
    ``field_names`` gives per rule (:data:`ACCOUNT_FIELDS` by default); a missing or blank field
    simply gives no key. Names go through ``name_key`` (:func:`company_key`, or
    :func:`person_key` for people).

    An importer checks each row against the database and the rows before it::

        index = DuplicateIndex(existing_accounts)          # [(pk, {"name": ..., "code": ...}), ...]
        for number, row in enumerate(rows, start=2):
            for match in index.match_and_add(("row", number), row):
                ...  # report: row {number} matches {match.record_id} by {match.rule}

    Each look-up is four key computations and four dict look-ups: building from 100,000 demo
    accounts and then looking up 100,000 more takes about 4 seconds of CPU on the 2-core CI
    machine (the four keys cost 10–20 µs a record).
    """

    def __init__(
        self,
        records: Iterable[tuple[K, Mapping[str, object]]] = (),
        *,
        field_names: Mapping[Rule, str] = ACCOUNT_FIELDS,
        name_key: Callable[[str], str] = company_key,
        default_region: str = "CN",
    ) -> None:
        key_functions: dict[Rule, Callable[[str], str | None]] = {
            Rule.TAX_ID: tax_key,
            Rule.EMAIL: email_key,
            Rule.PHONE: functools.partial(phone_key, default_region=default_region),
            Rule.NAME: name_key,
        }
        # One dict per rule from key to record id, or to a list of ids once a key is shared (a
        # list per key would cost more than the look-ups; ids are hashable, so never lists).
        self._rules: tuple[tuple[Rule, str, Callable[[str], str | None], dict[str, K | list[K]]], ...] = tuple(
            (rule, field_names[rule], key_functions[rule], {}) for rule in RULE_ORDER if rule in field_names
        )
        self._count = 0
        for record_id, fields in records:
            self._insert(record_id, self._keyed(fields))

    def __len__(self) -> int:
        """How many records were added."""
        return self._count

    def keys(self, fields: Mapping[str, object]) -> dict[Rule, str]:
        """The matching key of each rule for these field values (rules without a key are left out)."""
        return {rule: key for rule, key, _ in self._keyed(fields)}

    def add(self, record_id: K, fields: Mapping[str, object]) -> None:
        """Add one record, e.g. a row of the file being imported, so later rows match it."""
        self._insert(record_id, self._keyed(fields))

    def add_keys(self, records: Iterable[tuple[K, Iterable[tuple[Rule, str]]]]) -> None:
        """Add records given by their keys (``(record_id, ((rule, key), ...))``; blank keys are skipped), in order.

        For records that store their values in key form already (the CRM services store
        :func:`email_key`'s and :func:`phone_key`'s results, and their own duplicate checks compare
        the stored values): nothing is computed per record, so 100,000 of them take a fraction of
        what :meth:`add` takes. A rule the index does not use is ignored.
        """
        indexes = {rule: index for rule, _, _, index in self._rules}
        count = 0
        for record_id, keys in records:
            count += 1
            for rule, key in keys:
                if not key:
                    continue
                index = indexes.get(rule)
                if index is not None:
                    _hold(index, key, record_id)
        self._count += count

    def matches(self, fields: Mapping[str, object], *, exclude: K | None = None) -> list[Match[K]]:
        """The records these field values match, one :class:`Match` per record, by its strongest rule.

        Ordered by rule (:data:`RULE_ORDER`), then by the order in which records were added.
        ``exclude`` leaves out a record itself, for checking an edit of an existing record.
        """
        return self._lookup(self._keyed(fields), exclude)

    def match_and_add(self, record_id: K, fields: Mapping[str, object]) -> list[Match[K]]:
        """:meth:`matches` then :meth:`add`, computing the keys once: one row of an import file."""
        keyed = self._keyed(fields)
        found = self._lookup(keyed, None)
        self._insert(record_id, keyed)
        return found

    def match_and_add_variants(self, record_id: K, variants: Iterable[Mapping[str, object]]) -> list[Match[K]]:
        """One record given as several sets of fields (a contact's mobile and office phone each feed
        the phone rule): what each set :meth:`matches`, one :class:`Match` per record by its strongest
        rule, ordered by rule; then every set is :meth:`add`-ed. Each set's keys are computed once."""
        keyed = [self._keyed(fields) for fields in variants]
        found: dict[K, Match[K]] = {}
        for one in keyed:  # each set's keys come in RULE_ORDER: a record's first match is its strongest in the set
            for rule, key, index in one:
                held = index.get(key)
                if held is None:  # nearly every key of an import: nothing more to do
                    continue
                for other in held if isinstance(held, list) else (held,):
                    known = found.get(other)
                    if known is None or _RANK[rule] < _RANK[known.rule]:
                        found[other] = Match(other, rule, key)
        for one in keyed:
            self._insert(record_id, one)
        if len(found) < 2:
            return list(found.values())
        return sorted(found.values(), key=lambda match: _RANK[match.rule])

    def _keyed(self, fields: Mapping[str, object]) -> list[tuple[Rule, str, dict[str, K | list[K]]]]:
        keyed = []
        get = fields.get
        for rule, field_name, make_key, index in self._rules:
            value = get(field_name)
            if value is None or value == "":
                continue
            if key := make_key(value if type(value) is str else str(value)):
                keyed.append((rule, key, index))
        return keyed

    def _insert(self, record_id: K, keyed: list[tuple[Rule, str, dict[str, K | list[K]]]]) -> None:
        for _, key, index in keyed:
            _hold(index, key, record_id)
        self._count += 1

    def _lookup(self, keyed: list[tuple[Rule, str, dict[str, K | list[K]]]], exclude: K | None) -> list[Match[K]]:
        found: list[Match[K]] = []
        seen: set[K] = set()
        for rule, key, index in keyed:
            held = index.get(key)
            if held is None:
                continue
            for record_id in held if isinstance(held, list) else (held,):
                if record_id not in seen and record_id != exclude:
                    seen.add(record_id)
                    found.append(Match(record_id, rule, key))
        return found


def _hold(index: dict[str, Any], key: str, record_id: Any) -> None:
    """Add ``record_id`` to the records that hold ``key`` in one rule's ``index`` (one id, or a list once shared)."""
    held = index.get(key)
    if held is None:
        index[key] = record_id
    elif isinstance(held, list):
        held.append(record_id)
    else:
        index[key] = [held, record_id]

"""Company identifiers: the Chinese unified social credit code and foreign tax ids (issues #4, #5).

The unified social credit code (统一社会信用代码, USCC, GB 32100-2015) has 18 characters from
a 31-character alphabet (digits and capital letters without I, O, Z, S, V)::

    9 1 350100 M000100Y4 3
    │ │ │      │         └─ 18: check character, mod 31 over the first 17 (GB 32100)
    │ │ │      └─ 9–17: organisation code, 8 characters + its own check character (GB 11714)
    │ │ └─ 3–8: administrative division of the registering authority (GB/T 2260)
    │ └─ 2: category of organisation within that authority (1 = enterprise for authority 9)
    └─ 1: registration authority (9 = market regulation, 5 = civil affairs, …)

:func:`is_valid_uscc` checks every part that can be checked without a register: the alphabet,
the authority and category pair against the published table, that the division is six digits
with a known province prefix, both check characters. It does not check that the division
code or the organisation exists: division codes change every year and a register look-up is
I/O. The final check character alone detects every single-character change (31 is prime and
no weight is 0 mod 31).
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bizloom.crm.normalize import InvalidValue

__all__ = [
    "USCC_ALPHABET",
    "is_valid_uscc",
    "normalize_tax_id",
    "org_code_check_char",
    "uscc_check_char",
    "validate_uscc",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
# Weight of position i is 3**i mod 31 (GB 32100-2015, 5.3).
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# GB 11714-1997 organisation code weights.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority → organisation categories it assigns (GB 32100-2015 appendix A and the
# authorities added since: foreign affairs, justice, culture, tourism, religion, trade unions,
# the military establishment office, agriculture).
USCC_CATEGORIES: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办管理的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国 / 港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商 (市场监管): 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他
}
# GB/T 2260 province-level prefixes, plus 10 for authorities registering at national level.
_PROVINCES = frozenset(
    "10 11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)
_NOT_TAX_ID_CHAR_RE = re.compile(r"[^0-9A-Z]+")
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code, computed from the first 17.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(_USCC_VALUE[char] * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[-total % 31]


def org_code_check_char(body: str) -> str:
    """The check character of an 8-character organisation code body (GB 11714): a digit or ``X``.

    >>> org_code_check_char("M000100Y")
    '4'
    """
    total = sum(int(char, 36) * weight for char, weight in zip(body, _ORG_WEIGHTS, strict=True))
    value = -total % 11
    return "X" if value == 10 else str(value)


def normalize_tax_id(text: str) -> str:
    """The storage form of a tax id: width-folded, upper-cased, separators removed.

    Everything that is not a letter or digit goes: spaces, dashes, dots and slashes are only
    ever written for readability (``GB 123 4567 89``, ``12-3456789``). Blank gives ``""``.

    >>> normalize_tax_id(" ９１３５０１００ｍ０００１００ｙ４３ "), normalize_tax_id("12-3456789")
    ('91350100M000100Y43', '123456789')
    """
    return _NOT_TAX_ID_CHAR_RE.sub("", unicodedata.normalize("NFKC", text or "").upper())


def _uscc_problem(code: str) -> tuple[str, str | Promise] | None:
    """``(code, message)`` of the first problem of an already normalised code, or ``None``."""
    if len(code) != 18:
        return "uscc_length", _("A unified social credit code has 18 characters; “%(value)s” has %(length)s.")
    if not _USCC_SHAPE.fullmatch(code):
        return "uscc_character", _(
            "“%(value)s” contains a character that is never used in a unified social credit code "
            "(I, O, S, V and Z are not)."
        )
    if code[1] not in USCC_CATEGORIES.get(code[0], ""):
        return "uscc_authority", _("“%(value)s” does not start with a known registration authority and category.")
    if not code[2:8].isdigit() or code[2:4] not in _PROVINCES:
        return "uscc_division", _("Characters 3 to 8 of “%(value)s” are not an administrative division code.")
    if org_code_check_char(code[8:16]) != code[16]:
        return "uscc_org_check", _("“%(value)s” is not a valid unified social credit code: a character is wrong.")
    if uscc_check_char(code[:17]) != code[17]:
        return "uscc_check", _("“%(value)s” is not a valid unified social credit code: a character is wrong.")
    return None


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is a well-formed unified social credit code, exactly as given.

    It must already be in storage form (18 upper-case characters, no spaces): run user input
    through :func:`normalize_tax_id` first, or call :func:`validate_uscc`, which does both.

    >>> is_valid_uscc("91350100M000100Y43"), is_valid_uscc("91350100M000100Y44")
    (True, False)
    """
    return isinstance(code, str) and _uscc_problem(code) is None


def validate_uscc(text: str) -> str:
    """Normalise ``text`` (:func:`normalize_tax_id`) and return it if it is a valid USCC.

    Raises :class:`~bizloom.crm.normalize.InvalidValue` whose ``code`` says what is wrong:
    ``uscc_length``, ``uscc_character``, ``uscc_authority``, ``uscc_division``,
    ``uscc_org_check`` or ``uscc_check``.

    >>> validate_uscc("91350100-M000100Y4-3")
    '91350100M000100Y43'
    """
    code = normalize_tax_id(text)
    problem = _uscc_problem(code)
    if problem is not None:
        error_code, message = problem
        raise InvalidValue(message, error_code, {"value": code, "length": len(code)})
    return code

"""Unified social credit codes and tax ids (issues #4 and #5): bizloom.crm.identifiers."""

from __future__ import annotations

import doctest
import random

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from bizloom.crm import demo, identifiers
from bizloom.crm.identifiers import (
    USCC_ALPHABET,
    USCC_CATEGORIES,
    is_valid_uscc,
    normalize_tax_id,
    org_code_check_char,
    uscc_check_char,
    validate_uscc,
)
from bizloom.crm.normalize import InvalidValue

# Published codes: the example of GB 32100-2015, and codes printed on well-known business licences.
PUBLISHED = [
    pytest.param("91350100M000100Y43", id="gb_32100_example_case"),
    pytest.param("914403001922038216", id="huawei_technologies_case"),
    pytest.param("9144030071526726XG", id="tencent_computer_systems_case"),
    pytest.param("91330100799655058B", id="alibaba_china_case"),
]


def test_docstring_examples_hold():
    result = doctest.testmod(identifiers)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert is_valid_uscc(code)
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(" 91350100m000100y43 ", "91350100M000100Y43", id="lower_case_and_spaces_case"),
        pytest.param("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43", id="full_width_case"),
        pytest.param("913501-00M000-100Y43", "91350100M000100Y43", id="dashes_case"),
        pytest.param("GB 123 4567 89", "GB123456789", id="uk_vat_case"),
        pytest.param("12-3456789", "123456789", id="us_ein_case"),
        pytest.param("DE.123/456", "DE123456", id="dots_and_slashes_case"),
        pytest.param("", "", id="empty_case"),
    ],
)
def test_normalize_tax_id(text, expected):
    assert normalize_tax_id(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("91350100M000100Y4", "uscc_length", id="too_short_case"),
        pytest.param("91350100M000100Y433", "uscc_length", id="too_long_case"),
        pytest.param("91350100M000100I43", "uscc_character", id="letter_i_case"),
        pytest.param("91350100M000100O43", "uscc_character", id="letter_o_case"),
        pytest.param("B1350100M000100Y43", "uscc_authority", id="unknown_authority_case"),
        pytest.param("94350100M000100Y43", "uscc_authority", id="unknown_category_case"),
        pytest.param("91990100M000100Y43", "uscc_division", id="unknown_province_case"),
        pytest.param("9135A100M000100Y43", "uscc_division", id="letter_in_division_case"),
        pytest.param("91350100M000100Y53", "uscc_org_check", id="organisation_check_case"),
        pytest.param("91350100M000100Y44", "uscc_check", id="final_check_case"),
    ],
)
def test_validate_uscc_says_what_is_wrong(text, code):
    # when
    with pytest.raises(InvalidValue) as caught:
        validate_uscc(text)
    # then
    assert caught.value.code == code
    assert caught.value.params["value"] == normalize_tax_id(text)
    assert normalize_tax_id(text) in str(caught.value)
    assert not is_valid_uscc(normalize_tax_id(text))


def test_is_valid_uscc_wants_the_storage_form():
    assert not is_valid_uscc("91350100m000100y43")
    assert not is_valid_uscc(" 91350100M000100Y43")
    assert not is_valid_uscc("")


def test_check_characters_match_gb_examples():
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert org_code_check_char("M000100Y") == "4"
    assert org_code_check_char("71526726") == "X"  # value 10 is written X (GB 11714)


AUTHORITY_AND_CATEGORY = st.sampled_from(
    [authority + category for authority, categories in USCC_CATEGORIES.items() for category in categories]
)
DIVISION = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(["11", "31", "33", "44", "50", "65", "10"]),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)
ORG_BODY = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    """A code whose check characters are computed, as a registration authority would."""
    body = draw(ORG_BODY)
    first17 = draw(AUTHORITY_AND_CATEGORY) + draw(DIVISION) + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


@given(valid_usccs())
def test_generated_codes_are_valid(code):
    assert is_valid_uscc(code)


# Every character a corrupted code could contain: the alphabet, the excluded letters, lower case.
REPLACEMENTS = USCC_ALPHABET + "IOSVZ" + "abc-"


@given(valid_usccs(), st.integers(min_value=0, max_value=17))
def test_every_single_character_change_is_detected(code, position):
    # when: any other character at that position
    corrupted = [code[:position] + char + code[position + 1:] for char in REPLACEMENTS if char != code[position]]
    # then
    assert [candidate for candidate in corrupted if is_valid_uscc(candidate)] == []


@given(valid_usccs(), st.integers(min_value=0, max_value=16))
def test_swapping_two_neighbours_is_detected_unless_equal(code, position):
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    assert is_valid_uscc(swapped) == (swapped == code)


def test_accepts_every_code_the_demo_generates():
    # given: the demo's own generator, for every city it uses
    rng = random.Random(20240501)
    codes = [demo.make_uscc(rng, division) for _, division, _ in demo.CITIES for _ in range(200)]
    # and: whole demo accounts
    accounts = demo.generate_accounts(random.Random(7), Faker(["en_US", "zh_CN"]), 300)
    codes += [account["code"] for account in accounts if account["currency"] == "CNY"]
    # then
    assert len(codes) > 4000
    assert [code for code in codes if not is_valid_uscc(code)] == []

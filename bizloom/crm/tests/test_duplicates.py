"""Duplicate matching keys and the duplicate index (issues #4 and #5): bizloom.crm.duplicates."""

from __future__ import annotations

import doctest

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opencc_purepy import OpenCC

from bizloom.crm import duplicates
from bizloom.crm.duplicates import (
    CHINESE_LEGAL_SUFFIXES,
    DuplicateIndex,
    Match,
    Rule,
    company_key,
    email_key,
    person_key,
    phone_key,
    tax_key,
)
from bizloom.crm.normalize import InvalidValue, format_phone, normalize_phone, parse_phone, to_simplified


def test_docstring_examples_hold():
    result = doctest.testmod(duplicates)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------------------------
# company_key


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(
            ["华为技术有限公司", "華為技術有限公司", "华为技术 有限公司", "华为技术（有限公司）", "华为技术",
             "华为技术公司", "华为技术有限责任公司", "华为技术股份有限公司", " 華為技術 "],
            id="huawei_case",
        ),
        pytest.param(
            ["Acme Trading Co., Ltd.", "ACME TRADING LIMITED", "acme trading", "Acme Trading Co.,Ltd",
             "Acme Trading Company Limited", "ＡＣＭＥ　ＴＲＡＤＩＮＧ　ＣＯ．，ＬＴＤ．", "Acme Trading Inc.",
             "The Acme Trading Corporation", "Acme-Trading LLC", "ACME TRADING PTE. LTD."],
            id="acme_case",
        ),
        pytest.param(
            ["阿里巴巴（中国）有限公司", "阿里巴巴(中国)有限公司", "阿里巴巴有限公司", "阿里巴巴【中國】有限公司"],
            id="china_in_brackets_case",
        ),
        pytest.param(["Siemens AG", "SIEMENS", "Siemens A.G."], id="german_ag_case"),
        pytest.param(["Acme GmbH & Co. KG", "Acme GmbH", "ACME"], id="gmbh_co_kg_case"),
        pytest.param(["Procter & Gamble Co.", "Procter and Gamble Company", "PROCTER&GAMBLE"], id="ampersand_case"),
        pytest.param(["Banco Santander, S.A.", "Banco Santander SA", "banco santander"], id="sa_case"),
        pytest.param(["Nestlé S.A.", "NESTLE"], id="accents_case"),
        pytest.param(["华为 Co., Ltd.", "华为有限公司", "華為 Limited"], id="mixed_script_case"),
        pytest.param(["深圳市腾讯计算机系统有限公司", "深圳市騰訊計算機系統有限公司"], id="long_traditional_case"),
        pytest.param(["XX投资中心（有限合伙）", "XX投资中心"], id="limited_partnership_case"),
        pytest.param(
            ["华为技术有限公司北京分公司", "华为技术北京分公司", "華為技術有限公司 北京分公司"], id="branch_case"
        ),
        pytest.param(["Limited", "LIMITED", "limited."], id="only_a_legal_form_case"),
    ],
)
def test_company_key_equal(names):
    assert len({company_key(name) for name in names}) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("海尔集团有限公司", "海尔有限公司", id="group_is_another_company_case"),
        pytest.param("华为投资控股有限公司", "华为投资有限公司", id="holding_is_another_company_case"),
        pytest.param("华为技术有限公司北京分公司", "华为技术有限公司", id="branch_is_another_record_case"),
        pytest.param("中国石油天然气总公司", "中国石油天然气", id="head_office_keeps_its_word_case"),
        pytest.param("华为技术（深圳）有限公司", "华为技术有限公司", id="other_place_in_brackets_case"),
        pytest.param("Acme (HK) Ltd", "Acme Ltd", id="hong_kong_subsidiary_case"),
        pytest.param("Acme Group", "Acme", id="english_group_case"),
        pytest.param("Tesco", "Tes", id="co_only_as_a_word_case"),
        pytest.param("Acme Zinc", "Acme Z", id="inc_only_as_a_word_case"),
        pytest.param("有限公司", "公司", id="only_legal_forms_differ_case"),
    ],
)
def test_company_key_different(first, second):
    assert company_key(first) != company_key(second)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("杭州云启科技有限公司", "杭州云启科技", id="chinese_case"),
        pytest.param("Acme Trading Co., Ltd.", "acmetrading", id="english_case"),
        pytest.param("株式会社トヨタ", "トヨタ", id="japanese_prefix_case"),
        pytest.param("华为技术有限公司北京分公司", "华为技术北京分公司", id="branch_case"),
        pytest.param("", "", id="empty_case"),
        pytest.param("（）", "", id="only_punctuation_case"),
    ],
)
def test_company_key_values(name, key):
    assert company_key(name) == key


@given(st.text())
@example("华为 A.B.")
@example("华为有限公司 A.B.")
@example("有有限公司限公司X分公司")
@example("\x1bÀ")
@example("株式会社株式会社X")
def test_company_key_is_idempotent(name):
    key = company_key(name)
    assert company_key(key) == key


BRAND_CHARS = "华为技术云启恒瑞鼎博锦天宏新立安盛嘉德泰永众汇卓弘凯深圳杭州腾讯阿里巴巴网络科技"
BRAND = st.one_of(
    st.text(alphabet=BRAND_CHARS, min_size=1, max_size=8),
    st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9), min_size=1, max_size=3)
    .map(" ".join)
    .filter(lambda name: name.split()[-1] not in duplicates.LATIN_LEGAL_SUFFIXES and not name.startswith("the ")),
)
SUFFIX = st.sampled_from(
    list(CHINESE_LEGAL_SUFFIXES)
    + [" " + suffix for suffix in ("Co., Ltd.", "Ltd", "Limited", "Inc.", "Corp.", "Corporation", "LLC", "GmbH",
                                   "S.A.", "Pte. Ltd.", "PLC", "AG", "Co.,Ltd", "Company Limited")]
    + ["（有限公司）", "（中国）有限公司", "(China) Ltd"]
)


@given(BRAND, SUFFIX)
def test_company_key_ignores_an_added_legal_suffix(brand, suffix):
    assert company_key(brand + suffix) == company_key(brand)


def to_full_width(text: str) -> str:
    return text.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)}).replace(" ", "\u3000")


@given(BRAND, SUFFIX)
def test_company_key_ignores_width_and_case(brand, suffix):
    name = brand + suffix
    assert company_key(to_full_width(name)) == company_key(name)
    assert company_key(name.upper()) == company_key(name)


S2T = OpenCC("s2t")
S2HK = OpenCC("s2hk")
# Load the character tables now, not inside the first example that meets a Chinese character
# (hypothesis would count the 0.3 s against its deadline).
S2T.convert("华为")
S2HK.convert("华为")
to_simplified("華")


@settings(deadline=None)
@given(BRAND, SUFFIX)
def test_company_key_ignores_traditional_characters(brand, suffix):
    name = brand + suffix
    # character by character: phrase conversion may choose another word (see test_normalize)
    assert company_key("".join(map(S2T.convert, name))) == company_key(name)
    assert company_key("".join(map(S2HK.convert, name))) == company_key(name)


# --------------------------------------------------------------------------------------------
# Other keys


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(
            ["John Smith", "Smith, John", "Mr. John SMITH", "JOHN  SMITH", "Dr John Smith"], id="english_case"
        ),
        pytest.param(["张三", "張三", "张 三", " 张三 "], id="chinese_case"),
        pytest.param(["Zhang San", "San Zhang", "ZHANG, San"], id="pinyin_order_case"),
        pytest.param(["José Núñez", "Jose Nunez"], id="accents_case"),
    ],
)
def test_person_key_equal(names):
    assert len({person_key(name) for name in names}) == 1


def test_person_key_different():
    assert person_key("张三") != person_key("Zhang San")
    assert person_key("张先生") != person_key("张三")
    assert person_key("Mr") == "mr"  # a title alone is kept rather than leaving nothing


@given(st.text())
def test_person_key_is_idempotent(name):
    key = person_key(name)
    assert person_key(key) == key


def test_email_key():
    assert email_key("  Sales@ACME.com") == "sales@acme.com"
    assert email_key("ｓａｌｅｓ＠ａｃｍｅ．ｃｏｍ") == "sales@acme.com"
    assert email_key("not an email") is None
    assert email_key("") is None
    assert email_key(None) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("9135 0100 M000 100Y 43", "91350100M000100Y43", id="uscc_case"),
        pytest.param("91350100m000100y43", "91350100M000100Y43", id="lower_case_case"),
        pytest.param("12-3456789", "123456789", id="foreign_case"),
        pytest.param("N/A", None, id="not_available_case"),
        pytest.param("无", None, id="chinese_none_case"),
        pytest.param("-", None, id="dash_case"),
        pytest.param("000000", None, id="zeros_case"),
        pytest.param("1234", None, id="too_short_case"),
        pytest.param("ABCDEFG", None, id="no_digit_case"),
        pytest.param("", None, id="empty_case"),
        pytest.param(None, None, id="none_case"),
    ],
)
def test_tax_key(text, key):
    assert tax_key(text) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("138 1234 5678", "+8613812345678", id="mobile_case"),
        pytest.param("+86 0755-8888 8888", "+8675588888888", id="landline_plus86_case"),
        pytest.param("0755-88888888转123", "+8675588888888;ext=123", id="extension_case"),
        pytest.param("+44 523 4567 890", "+445234567890", id="possible_but_unassigned_case"),
        pytest.param("00852 9123 4567", "+85291234567", id="hong_kong_00_case"),
        pytest.param("+999 1234", None, id="unknown_country_case"),
        pytest.param("hello", None, id="words_case"),
        pytest.param("", None, id="empty_case"),
        pytest.param(None, None, id="none_case"),
    ],
)
def test_phone_key(text, key):
    assert phone_key(text) == key


def slow_phone_key(text: str) -> str | None:
    """What libphonenumber alone says: the reference that phone_key's fast paths must agree with."""
    number = parse_phone(text, strict=False)
    return format_phone(number) if number is not None else None


MAINLAND = st.one_of(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"0(?:10|2[0-9]|[3-9][0-9]{2})[0-9]{7,8}", fullmatch=True),
)


@given(MAINLAND, st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86 (0)"]), st.sampled_from(["", " ", "-"]))
def test_phone_key_agrees_with_libphonenumber_on_mainland_numbers(digits, prefix, separator):
    if prefix.endswith("(0)") or (prefix and digits.startswith("0")):
        digits = digits.lstrip("0") if prefix else digits
    text = prefix + separator.join((digits[:3], digits[3:7], digits[7:]))
    assert phone_key(text) == slow_phone_key(text)


@given(st.from_regex(r"\+[1-9][0-9]{3,15}", fullmatch=True))
def test_phone_key_agrees_with_libphonenumber_on_international_numbers(text):
    assert phone_key(text) == slow_phone_key(text)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_phone_key_reads_every_country_example_number(region):
    # given: libphonenumber's example numbers, written the international way and the E.164 way
    for number_type in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
        example_number = phonenumbers.example_number_for_type(region, number_type)
        if example_number is None:
            continue
        e164 = phonenumbers.format_number(example_number, phonenumbers.PhoneNumberFormat.E164)
        international = phonenumbers.format_number(example_number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        # then
        assert phone_key(e164) == e164
        assert phone_key(international) == e164
        assert normalize_phone(international) == e164


@given(st.text(alphabet="0123456789+-() 转ext.", max_size=24))
def test_phone_key_is_the_stored_form_whenever_it_is_valid(text):
    try:
        stored = normalize_phone(text)
    except InvalidValue:
        return
    if stored:
        assert phone_key(text) == stored
        assert phone_key(stored) == stored


# --------------------------------------------------------------------------------------------
# DuplicateIndex

HUAWEI = {
    "name": "华为技术有限公司", "code": "914403001922038216", "phone": "0755-28780808", "email": "info@huawei.com"
}
ACME = {"name": "Acme Trading Ltd", "code": "", "phone": "+852 2123 4567", "email": "sales@acme.example"}
TENCENT = {"name": "深圳市腾讯计算机系统有限公司", "code": "9144030071526726XG", "phone": "", "email": ""}


def test_index_matches_by_each_rule():
    # given
    index = DuplicateIndex([(1, HUAWEI), (2, ACME), (3, TENCENT)])
    # then
    assert index.matches({"code": "91440300 1922038216"}) == [Match(1, Rule.TAX_ID, "914403001922038216")]
    assert index.matches({"email": "SALES@acme.example "}) == [Match(2, Rule.EMAIL, "sales@acme.example")]
    assert index.matches({"phone": "+86 755 2878 0808"}) == [Match(1, Rule.PHONE, "+8675528780808")]
    assert index.matches({"name": "ACME TRADING CO., LIMITED"}) == [Match(2, Rule.NAME, "acmetrading")]
    assert index.matches({"name": "深圳市騰訊計算機系統有限公司"}) == [Match(3, Rule.NAME, "深圳市腾讯计算机系统")]
    assert index.matches({"name": "Nobody", "email": "nobody@example.com"}) == []
    assert len(index) == 3


def test_index_reports_each_record_once_by_its_strongest_rule_in_rule_order():
    # given: record 1 shares name and phone, record 2 the email, record 3 the tax id
    index = DuplicateIndex([
        (1, {"name": "Acme Ltd", "phone": "13812345678"}),
        (2, {"name": "Other", "email": "a@acme.example"}),
        (3, {"name": "Third", "code": "91350100M000100Y43", "phone": "138 1234 5678"}),
    ])
    # when
    found = index.matches({"name": "ACME", "phone": "+8613812345678", "email": "A@acme.example",
                           "code": "91350100M000100Y43"})
    # then
    assert found == [
        Match(3, Rule.TAX_ID, "91350100M000100Y43"),
        Match(2, Rule.EMAIL, "a@acme.example"),
        Match(1, Rule.PHONE, "+8613812345678"),
    ]


def test_index_lists_records_sharing_a_key_in_the_order_they_were_added():
    index = DuplicateIndex([(30, {"name": "Acme Inc"}), (10, {"name": "ACME LTD"}), (20, {"name": "acme"})])
    assert [match.record_id for match in index.matches({"name": "Acme Co., Ltd."})] == [30, 10, 20]


def test_index_excludes_the_record_being_edited():
    index = DuplicateIndex([(1, HUAWEI), (2, {"name": "華為技術有限公司"})])
    assert index.matches(HUAWEI, exclude=1) == [Match(2, Rule.NAME, "华为技术")]


def test_index_finds_duplicates_inside_the_same_file():
    # given: the database has Huawei; the file has Acme twice and Huawei once
    index = DuplicateIndex([(1, HUAWEI)])
    rows = [ACME, {**ACME, "name": "ACME TRADING LIMITED", "email": ""}, {"name": "华为技术（有限公司）"}]
    # when
    found = [index.match_and_add(("row", number), row) for number, row in enumerate(rows, start=2)]
    # then
    assert found == [
        [],
        [Match(("row", 2), Rule.PHONE, "+85221234567")],
        [Match(1, Rule.NAME, "华为技术")],
    ]
    assert len(index) == 4


def test_index_add_then_matches():
    index: DuplicateIndex[int] = DuplicateIndex()
    index.add(7, ACME)
    assert index.matches({"phone": "00852 2123 4567"}) == [Match(7, Rule.PHONE, "+85221234567")]


def test_index_ignores_blank_and_placeholder_values():
    # given: two records whose tax id, email and phone say "unknown"
    blank = {"name": "", "code": "N/A", "email": "-", "phone": "无"}
    index = DuplicateIndex([(1, blank), (2, {"name": None, "code": None})])
    # then: they match nothing, not each other
    assert index.keys(blank) == {}
    assert index.matches(blank) == []
    assert index.matches({}) == []


def test_index_keys():
    index: DuplicateIndex[int] = DuplicateIndex()
    assert index.keys(HUAWEI) == {
        Rule.TAX_ID: "914403001922038216",
        Rule.EMAIL: "info@huawei.com",
        Rule.PHONE: "+8675528780808",
        Rule.NAME: "华为技术",
    }


def test_index_of_people_with_other_field_names():
    # given: contacts, whose name rule is person_key and whose fields are named differently
    index = DuplicateIndex(
        [(1, {"full_name": "Smith, John", "mobile": "13812345678"}), (2, {"full_name": "张三"})],
        field_names={Rule.NAME: "full_name", Rule.PHONE: "mobile"},
        name_key=person_key,
    )
    # then
    assert index.matches({"full_name": "Mr. John Smith"}) == [Match(1, Rule.NAME, "john smith")]
    assert index.matches({"full_name": "張三", "email": "zhang@example.com"}) == [Match(2, Rule.NAME, "张三")]
    assert index.keys({"mobile": "138 1234 5678", "email": "x@example.com"}) == {Rule.PHONE: "+8613812345678"}


def test_index_reads_non_text_values():
    index = DuplicateIndex([(1, {"code": 123456789})])
    assert index.matches({"code": "123-456-789"}) == [Match(1, Rule.TAX_ID, "123456789")]


def test_index_of_a_region_other_than_china():
    index = DuplicateIndex([(1, {"phone": "2123 4567"})], default_region="HK")
    assert index.matches({"phone": "+852 2123 4567"}) == [Match(1, Rule.PHONE, "+85221234567")]

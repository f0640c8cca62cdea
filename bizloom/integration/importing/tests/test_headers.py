"""Header normalisation and column → field matching."""

from __future__ import annotations

from bizloom.integration.importing import FieldSpec, match_headers, normalise_header
from bizloom.integration.importing.headers import column_letter

FIELDS = [
    FieldSpec("name", {"en": "Company name", "zh-hans": "公司名称", "zh-hant": "公司名稱"},
              ("客户名称", "客户", "Company", "Customer", "Account name"), required=True),
    FieldSpec("phone", {"en": "Phone", "zh-hans": "电话", "zh-hant": "電話"},
              ("手机", "手机号", "手机号码", "Mobile", "Mobile phone", "Tel"), required=True),
    FieldSpec("email", {"en": "Email", "zh-hans": "电子邮箱", "zh-hant": "電子郵件"}, ("邮箱", "E-mail", "Mail")),
    FieldSpec("uscc", {"en": "Unified social credit code", "zh-hans": "统一社会信用代码",
                       "zh-hant": "統一社會信用代碼"}, ("信用代码", "税号", "Tax ID")),
    FieldSpec("cf_region", {"en": "Sales region", "zh-hans": "销售区域"}, ()),
]


def mapping_of(headers):
    return {headers[i]: key for i, key in match_headers(headers, FIELDS).as_dict().items()}


def test_normalise_header():
    assert normalise_header(" Mobile_Phone* ") == "mobile phone"
    assert normalise_header("\ufeff＊ＥＭＡＩＬ：") == "email"
    assert normalise_header("E-mail") == "e mail"
    assert normalise_header("客户\u3000名称") == "客户 名称"
    assert column_letter(0) == "A"
    assert column_letter(27) == "AB"
    assert column_letter(702) == "AAA"


def test_simplified_chinese_headers():
    assert mapping_of(["客户名称", "手机号", "邮箱", "统一社会信用代码", "备注"]) == {
        "客户名称": "name", "手机号": "phone", "邮箱": "email", "统一社会信用代码": "uscc"}


def test_english_headers_any_case_and_spacing():
    result = match_headers(["COMPANY", " mobile phone ", "E-Mail", "Tax_ID", "Sales Region", "Notes"], FIELDS)
    assert result.as_dict() == {0: "name", 1: "phone", 2: "email", 3: "uscc", 4: "cf_region"}
    assert result.unmapped == (5,)
    assert result.columns[5].field is None
    assert result.columns[5].confidence == 0
    assert result.columns[4].confidence == 1.0
    assert result.missing_required == ()


def test_traditional_chinese_headers():
    assert mapping_of(["公司名稱", "電話", "電子郵件", "統一社會信用代碼"]) == {
        "公司名稱": "name", "電話": "phone", "電子郵件": "email", "統一社會信用代碼": "uscc"}


def test_required_markers_brackets_and_full_width():
    assert mapping_of(["*客户名称", "手机号码（必填）", "Ｅｍａｉｌ"]) == {
        "*客户名称": "name", "手机号码（必填）": "phone", "Ｅｍａｉｌ": "email"}


def test_never_two_columns_for_one_field():
    result = match_headers(["手机", "电话", "Mobile"], FIELDS)
    assert list(result.as_dict().values()) == ["phone"]
    assert result.as_dict() == {1: "phone"}  # the exact label beats the synonyms
    assert result.unmapped == (0, 2)
    assert result.missing_required == ("name",)


def test_synonyms_weigh_less_than_labels():
    result = match_headers(["手机", "Company name"], FIELDS)
    assert [(c.field, c.confidence, c.matched_name) for c in result.columns] == [
        ("phone", 0.95, "手机"), ("name", 1.0, "Company name")]


def test_close_spellings_and_unknown_columns():
    result = match_headers(["Emial", "Company names", "Favourite colour", "Column D"], FIELDS)
    assert result.as_dict() == {0: "email", 1: "name"}
    assert 0.6 <= result.columns[0].confidence < 0.9
    assert result.columns[2].field is None
    assert result.columns[3].field is None

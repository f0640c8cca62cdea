"""read_table on real files written to tmp_path (no mocks)."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import struct
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from bizloom.integration.importing import ImportFileError, Limits, read_table
from bizloom.integration.importing.readers import format_number
from bizloom.platform.exporting import iter_csv, write_xlsx

HEADER = "客户名称,手机,Email\r\n"
ROWS = "华为技术有限公司,13800138000,hw@example.com\r\n腾讯科技(深圳)有限公司,+86 755 8601 3388,qq@example.cn\r\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path, **kwargs):
    with read_table(path, **kwargs) as table:
        return table.headers, list(table.rows), table


def fails(path: Path, code: str, **kwargs) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        with read_table(path, **kwargs) as table:
            list(table.rows)
    assert info.value.code == code, info.value.message
    assert info.value.message  # renders, placeholders filled
    return info.value


# ------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(("codec", "bom", "expected"), [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("gbk", b"", "gb18030"),
    ("gb18030", b"", "gb18030"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
])
def test_encodings_are_detected(tmp_path, codec, bom, expected):
    path = write(tmp_path, "c.csv", bom + (HEADER + ROWS).encode(codec))
    headers, rows, table = read_all(path)
    assert headers == ["客户名称", "手机", "Email"]
    assert [row.values for row in rows] == [
        ["华为技术有限公司", "13800138000", "hw@example.com"],
        ["腾讯科技(深圳)有限公司", "+86 755 8601 3388", "qq@example.cn"],
    ]
    assert table.detected.format == "csv"
    assert table.detected.encoding == expected
    assert table.detected.confidence >= 0.9


def test_gb18030_four_byte_characters(tmp_path):
    path = write(tmp_path, "c.csv", "名称,备注\n𠮷野家,€ 5\n".encode("gb18030"))
    _, rows, table = read_all(path)
    assert rows[0].values == ["𠮷野家", "€ 5"]
    assert table.detected.encoding == "gb18030"


def test_big5_and_windows_1252(tmp_path):
    text = "客戶名稱,地址\n台灣積體電路製造股份有限公司,新竹科學園區力行六路\n"
    big5 = write(tmp_path, "tw.csv", text.encode("big5"))
    _, rows, table = read_all(big5)
    assert rows[0].values == ["台灣積體電路製造股份有限公司", "新竹科學園區力行六路"]
    assert table.detected.encoding == "big5"
    latin = write(tmp_path, "de.csv", "Name;Stadt\nMüller GmbH;München\nCafé Société;Besançon\n".encode("cp1252"))
    _, rows, table = read_all(latin)
    assert rows[1].values == ["Café Société", "Besançon"]
    assert table.detected.encoding == "cp1252"
    assert table.detected.delimiter == ";"


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path):
    text = "客户名称\t手机\r\n华为\t138\r\n"
    path = write(tmp_path, "unicode.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    headers, rows, table = read_all(path)
    assert headers == ["客户名称", "手机"]
    assert rows[0].values == ["华为", "138"]
    assert (table.detected.encoding, table.detected.delimiter) == ("utf-16", "\t")


def test_utf16_without_bom(tmp_path):
    path = write(tmp_path, "c.csv", "名称,数量\n螺丝,5\n".encode("utf-16-le"))
    _, rows, table = read_all(path)
    assert rows[0].values == ["螺丝", "5"]
    assert table.detected.encoding == "utf-16-le"
    assert table.detected.confidence < 1


def test_encoding_override_and_its_problems(tmp_path):
    path = write(tmp_path, "c.csv", (HEADER + ROWS).encode("gbk"))
    _, rows, table = read_all(path, encoding="GBK")
    assert rows[0].values[0] == "华为技术有限公司"
    assert (table.detected.encoding, table.detected.confidence) == ("gbk", 1.0)
    # the wrong encoding forced: the reader goes on and names each undecodable cell
    _, rows, _ = read_all(write(tmp_path, "d.csv", b"name,city\nabc,\xc4\xe3\n"), encoding="utf-8")
    assert rows[0].values == ["abc", "\ufffd\ufffd"]
    assert [(p.code, p.row, p.column) for p in rows[0].problems] == [("decode_error", 2, 2)]
    assert "utf-8" in rows[0].problems[0].message
    fails(path, "invalid_encoding_name", encoding="klingon")


def test_binary_content_is_not_text(tmp_path):
    fails(write(tmp_path, "c.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), "not_text")
    fails(write(tmp_path, "d.csv", b"a,b\n\x00\x01\x02\x00\x00\x00\x07\x00\x00\x00\x00\x00\x08"), "not_text")


# ------------------------------------------------------------------------------ delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    lines = [["Name", "Amount", "Note"], ["Acme", "1,5", "a;b"], ["Globex", "2", '"quoted|text"']]
    if delimiter == ",":
        lines[1][1] = '"1,5"'
    if delimiter == ";":
        lines[1][2] = '"a;b"'
    if delimiter == "|":
        lines[2][2] = '"quoted|text"'
    else:
        lines[2][2] = "plain"
    data = "\n".join(delimiter.join(line) for line in lines) + "\n"
    _, rows, table = read_all(write(tmp_path, "c.csv", data.encode()))
    assert table.detected.delimiter == delimiter
    assert rows[0].values[:2] == ["Acme", "1,5"]
    assert all(len(row.values) == 3 and not row.problems for row in rows)


def test_excel_sep_line_decides_the_delimiter(tmp_path):
    headers, rows, table = read_all(write(tmp_path, "c.csv", b"sep=;\r\na;b,c\r\n1;2,5\r\n"))
    assert table.detected.delimiter == ";"
    assert headers == ["a", "b,c"]
    assert rows[0].number == 2
    assert rows[0].values == ["1", "2,5"]


def test_single_column_file(tmp_path):
    headers, rows, _ = read_all(write(tmp_path, "c.csv", "邮箱\na@example.com\nb@example.com\n".encode()))
    assert headers == ["邮箱"]
    assert [row.values for row in rows] == [["a@example.com"], ["b@example.com"]]


# ------------------------------------------------------------------------------ round trip

TRICKY = [
    "=SUM(A1:A9)", "+86 138 0013 8000", "-abc", "@handle", "\tindented", "\rreturn",
    'He said "hi", then left', "line 1\nline 2\r\nline 3", "北京市朝阳区, 建国路 88 号", "'quoted already",
    "  spaces kept  ", "", "繁體中文 臺灣", "😀 emoji",
]


def export_rows():
    rows = []
    for index, text in enumerate(TRICKY):
        rows.append([index, text, Decimal("1250000.50"), dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 30), True])
    rows.append([99, None, Decimal("-5.00"), None, None, False])
    return rows


HEADERS = ["No", "=Text", "Amount", "Date", "When", "Active"]


def test_csv_export_round_trip(tmp_path):
    data = "".join(iter_csv(HEADERS, export_rows())).encode("utf-8")
    headers, rows, table = read_all(write(tmp_path, "export.csv", data))
    assert headers == HEADERS
    assert table.detected.encoding == "utf-8-sig"
    assert [row.values[1] for row in rows] == TRICKY + [""]
    assert rows[0].values == ["0", "=SUM(A1:A9)", "1250000.50", "2024-03-05", "2024-03-05 14:30:00", "True"]
    assert rows[-1].values == ["99", "", "-5.00", "", "", "False"]
    assert all(not row.problems for row in rows)
    assert [row.number for row in rows] == list(range(2, len(TRICKY) + 3))


def test_xlsx_export_round_trip(tmp_path):
    path = tmp_path / "export.xlsx"
    write_xlsx(str(path), HEADERS, export_rows(), sheet="客户")
    headers, rows, table = read_all(path)
    assert headers == HEADERS
    assert table.detected.sheet_names == ("客户",)
    assert [row.values[1] for row in rows] == TRICKY + [""]
    assert rows[0].values == ["0", "=SUM(A1:A9)", "1250000.5", "2024-03-05", "2024-03-05 14:30:00", "TRUE"]
    assert rows[-1].values == ["99", "", "-5", "", "", "FALSE"]


def test_xlsx_values_as_users_see_them(tmp_path):
    path = tmp_path / "values.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Data")
    zip_format = workbook.add_format({"num_format": "000000"})
    time_format = workbook.add_format({"num_format": "hh:mm"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["noise", "third", "formula", "zip", "time", "midnight", "error", "merged", "next"])
    sheet.write_number(1, 0, 1250000.4999999999)
    sheet.write_number(1, 1, 0.1 + 0.2)
    sheet.write_formula(1, 2, "=1+1", None, 2)
    sheet.write_number(1, 3, 12345, zip_format)
    sheet.write_datetime(1, 4, dt.time(9, 5), time_format)
    sheet.write_datetime(1, 5, dt.datetime(2024, 3, 5), date_format)
    sheet.write_formula(1, 6, "=NA()", None, "#N/A")
    sheet.merge_range(1, 7, 2, 8, "合并")
    sheet.write_number(2, 0, 1e20)
    sheet.write_number(2, 1, -0.000012)
    workbook.close()
    _, rows, _ = read_all(path)
    assert rows[0].values == ["1250000.5", "0.3", "2", "012345", "09:05:00", "2024-03-05 00:00:00", "#N/A",
                              "合并", ""]
    assert rows[1].values[:2] == ["100000000000000000000", "-0.000012"]
    assert rows[1].values[7:] == ["", ""]


def test_format_number():
    assert format_number(1250000.5) == "1250000.5"
    assert format_number(3.0) == "3"
    assert format_number(-0.0) == "0"
    assert format_number(1 / 3) == "0.333333333333333"


# ------------------------------------------------------------------------------ rows and headers


def test_ragged_rows(tmp_path):
    data = "a,b,c\n1,2\n1,2,3,4\n1,2,3,,\n\n  , ,\n5,6,7\n"
    headers, rows, _ = read_all(write(tmp_path, "c.csv", data.encode()))
    assert headers == ["a", "b", "c"]
    assert [row.number for row in rows] == [2, 3, 4, 7]
    short, long, trailing, normal = rows
    assert short.values == ["1", "2", ""]
    assert [(p.code, p.severity) for p in short.problems] == [("row_too_short", "warning")]
    assert not short.has_errors
    assert long.values == ["1", "2", "3"]
    assert long.has_errors
    assert long.problems[0].message == "Row 3 has 4 values but the header has 3 columns."
    assert trailing.values == ["1", "2", "3"]
    assert not trailing.problems
    assert normal.values == ["5", "6", "7"]
    assert not normal.problems


def test_xlsx_values_beyond_the_header(tmp_path):
    path = tmp_path / "wide.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["a", "b"])
    sheet.append(["1", "2", None, "x"])
    sheet.append(["3"])
    workbook.save(path)
    _, rows, _ = read_all(path)
    assert rows[0].values == ["1", "2"]
    assert [(p.code, p.column) for p in rows[0].problems] == [("row_too_long", 4)]
    assert rows[1].values == ["3", ""]
    assert not rows[1].problems


@pytest.mark.parametrize("data", [b"", codecs.BOM_UTF8, b"\r\n\r\n  \n"])
def test_empty_file(tmp_path, data):
    fails(write(tmp_path, "c.csv", data), "empty_file")


def test_first_row_blank_is_a_missing_header(tmp_path):
    fails(write(tmp_path, "c.csv", b",,\nname,phone\nA,1\n"), "no_header")
    fails(write(tmp_path, "d.csv", b"\nname,phone\nA,1\n"), "no_header")


def test_header_only_file(tmp_path):
    headers, rows, _ = read_all(write(tmp_path, "c.csv", "名称,电话\r\n".encode()))
    assert headers == ["名称", "电话"]
    assert rows == []


def test_duplicate_headers(tmp_path):
    error = fails(write(tmp_path, "c.csv", "Name, phone ,ＮＡＭＥ,Phone\n1,2,3,4\n".encode()), "duplicate_headers")
    assert "“Name” = “NAME” (A, C)" in error.message
    assert "(B, D)" in error.message


def test_headers_are_cleaned(tmp_path):
    data = "\ufeff\u200b 客户\u3000名称 ,＊Ｍｏｂｉｌｅ（手机）,'=Total,,Notes,, \n1,2,3,4,5\n"
    headers, rows, table = read_all(write(tmp_path, "c.csv", data.encode("utf-8")))
    assert headers == ["客户 名称", "*Mobile(手机)", "=Total", "Column D", "Notes"]
    assert rows[0].values == ["1", "2", "3", "4", "5"]
    assert not rows[0].problems
    assert [(w.code, w.column, w.severity) for w in table.warnings] == [("blank_header", 4, "warning")]


def test_too_many_columns(tmp_path):
    fails(write(tmp_path, "c.csv", ",".join(f"c{i}" for i in range(6)).encode() + b"\n"), "too_many_columns",
          limits=Limits(max_columns=5))


# ---------------------------------------------------------------------------------- limits


def test_default_limits():
    limits = Limits()
    assert limits.max_bytes == 50 * 1024 * 1024
    assert limits.max_rows == 1_000_000
    assert limits.max_columns == 200
    assert limits.max_cell_chars == 32_767
    assert limits.max_uncompressed_xlsx_bytes == 500 * 1024 * 1024


def test_file_too_large(tmp_path):
    error = fails(write(tmp_path, "c.csv", b"a,b\n" + b"1,2\n" * 1000), "file_too_large",
                  limits=Limits(max_bytes=1000))
    assert "MB" in error.message


def test_rows_over_the_limit_stop_the_read(tmp_path):
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("n\n\n")
        handle.writelines(f"{i}\n" for i in range(10))
    seen = []

    def consume():
        with read_table(path, limits=Limits(max_rows=5)) as table:
            seen.extend(row.values[0] for row in table.rows)

    with pytest.raises(ImportFileError) as info:
        consume()
    assert seen == ["0", "1", "2", "3", "4"]
    assert info.value.code == "too_many_rows"
    assert info.value.row == 8  # header, a blank row, then data from row 3
    assert info.value.message == "The file has more than 5 rows; split it into smaller files."


def test_rows_over_the_limit_in_a_workbook(tmp_path):
    path = tmp_path / "many.xlsx"
    write_xlsx(str(path), ["n"], ([i] for i in range(8)))
    fails(path, "too_many_rows", limits=Limits(max_rows=7))
    assert len(read_all(path, limits=Limits(max_rows=8))[1]) == 8


def test_huge_csv_cell_names_row_and_column(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("name,notes,phone\nA,short,1\nB,")
        handle.write("x" * 10_000_000)
        handle.write(",2\n")
    tracemalloc.start()
    error = fails(path, "cell_too_large")
    tracemalloc.stop()
    assert (error.row, error.column) == (3, 2)
    assert "Row 3, column 2" in error.message


def test_large_quoted_csv_cell_under_the_parser_limit(tmp_path):
    data = 'a,b\n1,"' + "多行\n" * 20_000 + '"\n'
    error = fails(write(tmp_path, "c.csv", data.encode()), "cell_too_large")
    assert (error.row, error.column) == (2, 2)


def test_huge_xlsx_cell(tmp_path):
    path = tmp_path / "big.xlsx"
    write_xlsx(str(path), ["a", "b"], [["ok", "ok"], ["ok", "y" * 500]])
    error = fails(path, "cell_too_large", limits=Limits(max_cell_chars=100))
    assert (error.row, error.column) == (3, 2)


# ------------------------------------------------------------------------- refused files


def test_broken_zip(tmp_path):
    fails(write(tmp_path, "a.xlsx", b"PK\x03\x04" + b"\x00garbage" * 100), "broken_zip")
    good = tmp_path / "good.xlsx"
    write_xlsx(str(good), ["a"], [["x"]] * 100)
    data = good.read_bytes()
    fails(write(tmp_path, "cut.xlsx", data[: len(data) // 2]), "broken_zip")


def _minimal_workbook(path: Path) -> bytes:
    write_xlsx(str(path), ["a"], [["x"]])
    return path.read_bytes()


def _rewrite_zip(source: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return out.getvalue()


def test_macro_workbook_renamed_xlsx(tmp_path):
    source = _minimal_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        types = archive.read("[Content_Types].xml")
    macro_types = types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert macro_types != types
    both = _rewrite_zip(source, {"[Content_Types].xml": macro_types}, {"xl/vbaProject.bin": b"\xd0\xcf" * 50})
    fails(write(tmp_path, "macro.xlsx", both), "macro_enabled")
    only_vba = _rewrite_zip(source, {}, {"xl/vbaProject.bin": b"\x00" * 10})
    fails(write(tmp_path, "vba.xlsx", only_vba), "macro_enabled")
    only_type = _rewrite_zip(source, {"[Content_Types].xml": macro_types})
    fails(write(tmp_path, "type.xlsm", only_type), "macro_enabled")


def test_ole_files(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024
    fails(write(tmp_path, "old.xls", ole), "legacy_xls")
    fails(write(tmp_path, "old.xlsx", ole), "legacy_xls")
    encrypted = ole + b"\x00" * 5000 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100
    error = fails(write(tmp_path, "secret.xlsx", encrypted), "encrypted_workbook")
    assert "password" in error.message


def test_csv_renamed_xlsx_and_back(tmp_path):
    error = fails(write(tmp_path, "data.xlsx", (HEADER + ROWS).encode()), "looks_like_csv")
    assert error.message == "This looks like a CSV file; rename it .csv or choose CSV."
    workbook = tmp_path / "book.xlsx"
    write_xlsx(str(workbook), ["a"], [["x"]])
    fails(write(tmp_path, "book.csv", workbook.read_bytes()), "looks_like_xlsx")
    fails(write(tmp_path, "page.xls", b"<html><body><table><tr><td>1</td></tr></table>"), "looks_like_html")
    fails(write(tmp_path, "report.pdf", b"%PDF-1.7"), "unsupported_format")
    fails(write(tmp_path, "doc.xlsx", _rewrite_zip(workbook.read_bytes(), {"[Content_Types].xml": b"<Types/>"})),
          "not_a_workbook")


def test_files_without_extension_go_by_content(tmp_path):
    workbook = tmp_path / "book.xlsx"
    write_xlsx(str(workbook), ["a"], [["x"]])
    with workbook.open("rb") as handle, read_table(handle, filename="upload") as table:
        assert table.detected.format == "xlsx"
    with read_table(io.BytesIO(b"a,b\n1,2\n"), filename="upload") as table:
        assert table.detected.format == "csv"


def _declare_size(data: bytes, size: int) -> bytes:
    """The ZIP with every central-directory entry declaring ``size`` uncompressed bytes."""
    out = bytearray(data)
    start = 0
    while (start := out.find(b"PK\x01\x02", start)) != -1:
        struct.pack_into("<I", out, start + 24, size)
        start += 4
    return bytes(out)


def test_zip_bomb_refused_before_extraction(tmp_path):
    source = _minimal_workbook(tmp_path / "src.xlsx")
    bomb = _rewrite_zip(source, {}, {"xl/media/padding.bin": b"\x00" * (6 * 1024 * 1024)})
    error = fails(write(tmp_path, "ratio.xlsx", bomb), "zip_ratio")
    assert "xl/media/padding.bin" in error.message
    declared = _declare_size(source, 4_000_000_000)
    tracemalloc.start()
    fails(write(tmp_path, "bomb.xlsx", declared), "zip_bomb")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
    fails(write(tmp_path, "small.xlsx", bomb), "zip_bomb",
          limits=Limits(max_uncompressed_xlsx_bytes=1024 * 1024, max_compression_ratio=10_000))
    fails(write(tmp_path, "parts.xlsx", source), "zip_entries", limits=Limits(max_zip_entries=3))


LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
%s<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("padding", [b"", b"<!--" + b" " * 200_000 + b"-->\n"])
def test_billion_laughs_refused(tmp_path, padding):
    path = tmp_path / "src.xlsx"
    write_xlsx(str(path), ["a"], [["x"]])
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    target = next(name for name in names if name.endswith("sheet1.xml"))
    data = _rewrite_zip(path.read_bytes(), {target: LAUGHS % padding})
    tracemalloc.start()
    error = fails(write(tmp_path, "lol.xlsx", data), "unsafe_xml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert "DTD" in error.message


# ---------------------------------------------------------------------------------- sheets


def _two_sheets(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "说明"
    first.append(["请在第二个工作表填写"])
    second = workbook.create_sheet("客户")
    second.append(["名称", "电话"])
    second.append(["华为", 13800138000])
    workbook.create_sheet("Empty")
    blank_first = workbook.create_sheet("Blank first")
    blank_first["A2"] = "name"
    workbook.save(path)
    return path


def test_sheet_choice(tmp_path):
    path = _two_sheets(tmp_path / "two.xlsx")
    headers, rows, table = read_all(path)
    assert headers == ["请在第二个工作表填写"]
    assert table.detected.sheet == "说明"
    assert table.detected.sheet_names == ("说明", "客户", "Empty", "Blank first")
    for choice in ("客户", 1, " 客户 "):
        headers, rows, table = read_all(path, sheet=choice)
        assert headers == ["名称", "电话"]
        assert rows[0].values == ["华为", "13800138000"]
        assert table.detected.sheet == "客户"
    error = fails(path, "unknown_sheet", sheet="Customers")
    assert error.message == ("There is no sheet “Customers”. The workbook has these sheets: "
                             "“说明”, “客户”, “Empty”, “Blank first”.")
    fails(path, "unknown_sheet", sheet=9)
    fails(path, "empty_sheet", sheet="Empty")
    fails(path, "no_header", sheet="Blank first")


# ------------------------------------------------------------------------------ file objects


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_file_objects_stay_open(tmp_path):
    handle = io.BytesIO((HEADER + ROWS).encode("gbk"))
    with read_table(handle, filename="c.csv") as table:
        assert len(list(table.rows)) == 2
    assert not handle.closed
    with read_table(_Unseekable((HEADER + ROWS).encode()), filename="c.csv") as table:
        assert len(list(table.rows)) == 2
    table = read_table(io.BytesIO(b"a\n1\n2\n"), filename="c.csv")
    table.close()  # never iterated: closing still releases everything
    assert list(table.rows) == []

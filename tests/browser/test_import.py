"""Importing accounts in a real browser (issue #5): upload a GBK CSV with bad rows and a duplicate, read
the dry-run report, download the error file, fix and upload it, import, then undo."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.browser.conftest import login

# Until bizloom/urls.py mounts /imports/, the import tests' URL map adds it.
pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ["客户名称", "税号", "电话", "邮箱", "城市"]
ROWS = [
    ["星辰贸易有限公司", "TAX-001", "138 1234 5678", "info@xingchen.cn", "上海"],
    ["月光科技有限公司", "TAX-002", "12345", "", "苏州"],                 # bad phone
    ["阳光物流有限公司", "TAX-003", "", "not-an-email", "广州"],          # bad email
    ["华为技术有限公司", "", "", "", "深圳"],                              # duplicate of an existing account
]


def _csv(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def importer(django_user_model, settings, tmp_path):  # type: ignore[no-untyped-def]
    from bizloom.crm.models import Account

    settings.MEDIA_ROOT = tmp_path / "media"
    user = django_user_model.objects.create_superuser("zhangwei", password="s3cret-pass")
    Account.objects.create(name="华为技术有限公司", code="914403001922038216", owner=user)
    return user


def _upload(page, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    page.goto("/imports/new/")
    page.select_option("#id_declaration", "crm.account")
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/imports/*/")


def test_import_journey_with_error_file_and_undo(page, importer, tmp_path):  # type: ignore[no-untyped-def]
    from bizloom.crm.models import Account

    login(page, "zhangwei", "s3cret-pass")

    # when: uploading a GBK file
    _upload(page, "客户.csv", _csv(HEADER, ROWS, "gbk"))
    # then: the encoding guess is shown and the Chinese headers are matched
    assert "gb18030" in page.content()
    assert page.locator("#id_col_1").input_value() == "code"

    # when: the dry run
    page.locator("#dry-run").click()
    page.wait_for_selector("#import-report")
    # then: exact outcomes, nothing saved
    assert page.locator("#count-created").inner_text() == "1"
    assert page.locator("#count-errors").inner_text() == "2"
    assert page.locator("#count-skipped").inner_text() == "1"
    assert "电话:" in page.locator("tr[data-row='3']").inner_text()
    assert "华为技术有限公司" in page.locator("tr[data-row='5']").inner_text()
    assert not Account.objects.filter(code="TAX-001").exists()

    # when: downloading the error file and fixing it
    with page.expect_download() as download_info:
        page.locator("#error-file").click()
    path = Path(download_info.value.path())
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "错误 / Errors"]
    assert [r[0] for r in rows[1:]] == ["月光科技有限公司", "阳光物流有限公司"]
    rows[1][2] = "13987654321"
    rows[2][3] = "hello@sun.example"

    # and importing the original file (good rows), then the fixed error file
    page.locator("#run-import").click()
    page.wait_for_selector("#undo-import")
    assert Account.objects.filter(code="TAX-001").exists()
    _upload(page, "errors.csv", _csv(rows[0], rows[1:], "utf-8-sig"))
    page.locator("#dry-run").click()
    page.wait_for_selector("#import-report")
    assert page.locator("#count-errors").inner_text() == "0"
    assert page.locator("#count-created").inner_text() == "2"
    page.locator("#run-import").click()
    page.wait_for_selector("#undo-import")
    # then
    assert Account.objects.get(code="TAX-002").phone == "+8613987654321"
    assert Account.objects.get(code="TAX-003").email == "hello@sun.example"

    # when: undoing the fixed batch
    page.locator("#undo-import").click()
    page.wait_for_selector("#import-status[data-status='undone']")
    # then
    assert not Account.objects.filter(code__in=["TAX-002", "TAX-003"]).exists()
    assert Account.objects.filter(code="TAX-001").exists()

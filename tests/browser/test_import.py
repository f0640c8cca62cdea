"""Importing in a real browser (issue #5): upload a GBK CSV with bad rows and a duplicate, read the
dry-run report, download the error file, fix it as a user would in Excel, upload and import it, then
undo the batch — for contacts (the journey of issue #5) and for accounts."""

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


def _upload(page, name: str, content: bytes, declaration: str = "crm.account") -> None:  # type: ignore[no-untyped-def]
    page.goto("/imports/new/")
    page.select_option("#id_declaration", declaration)
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


CONTACT_HEADER = ["姓名", "客户", "职位", "手机", "邮箱"]
CONTACT_ROWS = [
    ["张伟", "华为技术有限公司", "采购经理", "138 1234 5678", "Zhang.Wei@huawei.example"],
    ["李娜", "不存在的公司", "财务总监", "139 0000 1111", "li.na@example.com"],         # unknown account
    ["王芳", "华为技术有限公司", "", "12345", "wang.fang@huawei.example"],              # bad mobile
    ["刘洋（重复）", "", "", "", "LIU.YANG@huawei.example"],                            # duplicate of a contact
    ["陈静", "", "行政主管", "", "chen.jing@@example"],                                 # bad email
]


@pytest.fixture
def contact_importer(importer):  # type: ignore[no-untyped-def]
    from bizloom.crm import services

    services.create_contact({"name": "刘洋", "email": "liu.yang@huawei.example"}, actor=importer)
    return importer


def test_contact_import_journey_gbk_errors_fix_import_undo(page, contact_importer, tmp_path):  # type: ignore[no-untyped-def]
    from bizloom.crm.models import Contact

    login(page, "zhangwei", "s3cret-pass")

    # when: uploading the GBK file an old CRM exported
    _upload(page, "联系人.csv", _csv(CONTACT_HEADER, CONTACT_ROWS, "gbk"), "crm.contact")
    # then: the encoding guess is shown and every Chinese header is matched
    assert "detected encoding gb18030" in page.content()
    assert [page.locator(f"#id_col_{i}").input_value() for i in range(5)] == [
        "name", "account", "position", "mobile", "email"]

    # when: the dry run
    page.locator("#dry-run").click()
    page.wait_for_selector("#import-report")
    # then: what would happen to each row, tied to its column; nothing saved
    assert page.locator("#import-status").inner_text() == "Dry run done"
    assert "Dry run: nothing was saved." in page.locator("#import-progress").inner_text()
    assert [page.locator(f"#count-{name}").inner_text() for name in ("created", "skipped", "errors")] == [
        "1", "1", "3"]
    assert "客户: No account “不存在的公司” that you may see." in page.locator("tr[data-row='3']").inner_text()
    assert "手机:" in page.locator("tr[data-row='4']").inner_text()
    assert "duplicate of 刘洋" in page.locator("tr[data-row='5']").inner_text()
    assert "邮箱:" in page.locator("tr[data-row='6']").inner_text()
    assert Contact.objects.count() == 1

    # when: importing the good rows, then downloading the error file
    page.locator("#run-import").click()
    page.wait_for_selector("#undo-import")
    assert page.locator("#import-status").inner_text() == "Imported"
    assert Contact.objects.get(name="张伟").mobile == "+8613812345678"
    with page.expect_download() as download_info:
        page.locator("#error-file").click()
    text = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    # then: the original cells of the rows with errors, and why
    assert rows[0] == [*CONTACT_HEADER, "错误 / Errors"]
    assert [r[0] for r in rows[1:]] == ["李娜", "王芳", "陈静"]
    assert rows[1][5] == "客户: No account “不存在的公司” that you may see."

    # when: fixing the cells as a user would in Excel (the error column stays), saved as GBK again
    rows[1][1] = "华为技术有限公司"
    rows[2][3] = "139 8765 4321"
    rows[3][4] = "chen.jing@example.com"
    _upload(page, "联系人-已修正.csv", _csv(rows[0], rows[1:], "gbk"), "crm.contact")
    # then: the error column is not mapped to anything
    assert page.locator("#id_col_5").input_value() == ""
    page.locator("#dry-run").click()
    page.wait_for_selector("#import-report")
    assert [page.locator(f"#count-{name}").inner_text() for name in ("created", "errors")] == ["3", "0"]
    page.locator("#run-import").click()
    page.wait_for_selector("#undo-import")
    # then
    assert Contact.objects.get(name="王芳").mobile == "+8613987654321"
    assert Contact.objects.get(name="李娜").account.name == "华为技术有限公司"
    assert Contact.objects.count() == 5

    # when: undoing the fixed batch
    page.locator("#undo-import").click()
    page.wait_for_selector("#import-status[data-status='undone']")
    # then: its three contacts are gone, the first batch's stays
    assert page.locator("#import-status").inner_text() == "Undone"
    assert set(Contact.objects.values_list("name", flat=True)) == {"刘洋", "张伟"}

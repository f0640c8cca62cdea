"""Attachments: type and size checks, random storage names, and the access-checked download."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from bizloom.common.errors import ValidationFailed
from bizloom.platform.timeline import services
from bizloom.platform.timeline.models import Attachment
from bizloom.platform.timeline.views import content_disposition

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def office(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{part}document.xml", "<x/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.exe", "MZ")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload_url(record) -> str:
    return f"/timeline/{ContentType.objects.get_for_model(record).pk}/{record.pk}/attachments/"


@pytest.mark.parametrize(("name", "content", "mime"), [
    ("logo.png", PNG, "image/png"),
    ("photo.JPG", JPEG, "image/jpeg"),
    ("anim.gif", GIF, "image/gif"),
    ("pic.webp", WEBP, "image/webp"),
    ("合同.pdf", PDF, "application/pdf"),
    ("报价.docx", office("word/"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("清单.xlsx", office("xl/"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("deck.pptx", office("ppt/"), "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("说明.txt", "你好，世界\n".encode(), "text/plain"),
    ("客户.csv", "名称,城市\n华为,深圳\n".encode("gb18030"), "text/csv"),
], ids=["png_case", "jpeg_case", "gif_case", "webp_case", "pdf_case", "docx_case", "xlsx_case", "pptx_case",
        "txt_case", "csv_gbk_case"])
def test_allowed_files_are_stored_under_random_names(author, account, media_root, name, content, mime):
    # when
    attachment = services.add_attachment(account, SimpleUploadedFile(name, content, "application/octet-stream"),
                                         actor=author)
    # then
    assert (attachment.filename, attachment.mime_type, attachment.size) == (name, mime, len(content))
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert re.fullmatch(r"attachments/\d{4}/\d{2}/[0-9a-f]{32}", attachment.file.name)
    assert (media_root / attachment.file.name).read_bytes() == content


@pytest.mark.parametrize(("name", "content", "code"), [
    ("page.html", b"<html><body>hi</body></html>", "attachment_type_not_allowed"),
    ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "attachment_type_not_allowed"),
    ("app.js", b"alert(1)", "attachment_type_not_allowed"),
    ("setup.exe", b"MZ\x90\x00", "attachment_type_not_allowed"),
    ("noextension", b"hello", "attachment_type_not_allowed"),
    ("fake.png", b"<html><script>alert(1)</script></html>", "attachment_content_mismatch"),
    ("fake.jpg", PNG, "attachment_content_mismatch"),
    ("fake.pdf", b"MZ\x90\x00" + b"\x00" * 20, "attachment_content_mismatch"),
    ("fake.docx", plain_zip(), "attachment_content_mismatch"),
    ("fake.xlsx", office("word/"), "attachment_content_mismatch"),
    ("fake.txt", b"MZ\x90\x00\x03\x00\x00\x00", "attachment_content_mismatch"),
    ("page.txt", b"  <!DOCTYPE html><script>alert(1)</script>", "attachment_content_mismatch"),
    ("binary.csv", b"a,b\n\x00\x01\x02", "attachment_content_mismatch"),
    ("empty.txt", b"", "attachment_empty"),
], ids=["html_case", "svg_case", "js_case", "exe_case", "no_ext_case", "html_as_png_case", "png_as_jpg_case",
        "exe_as_pdf_case", "zip_as_docx_case", "docx_as_xlsx_case", "exe_as_txt_case", "html_as_txt_case",
        "binary_csv_case", "empty_case"])
def test_refused_files_leave_nothing_behind(author, account, media_root, name, content, code):
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.add_attachment(account, SimpleUploadedFile(name, content, "image/png"), actor=author)
    # then
    assert refused.value.code == code
    assert refused.value.fields["file"] == [refused.value.message]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_too_large_file_is_refused_with_the_limit_named(author, account, settings, media_root):
    # given
    settings.BIZLOOM_ATTACHMENT_MAX_BYTES = 1024
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.add_attachment(account, SimpleUploadedFile("big.png", PNG + b"\x00" * 2000), actor=author)
    # then
    assert refused.value.code == "attachment_too_large"
    assert refused.value.message == "The file “big.png” is 2 KB; files may be at most 1 KB."
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_path_in_uploaded_name_is_dropped(author, account):
    # when
    attachment = services.add_attachment(account, SimpleUploadedFile("..\\..\\etc/passwd.txt", b"x"), actor=author)
    # then
    assert attachment.filename == "passwd.txt"


def test_upload_view_returns_panel_with_the_new_file(login, author, account):
    # when
    response = login(author).post(upload_url(account), {"file": SimpleUploadedFile("报价单.pdf", PDF)},
                                  HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert "报价单.pdf" in response.text
    assert f"/timeline/attachments/{attachment.pk}/download" in response.text


def test_upload_view_shows_clear_error(login, author, account, media_root):
    # when
    response = login(author).post(upload_url(account), {"file": SimpleUploadedFile("x.html", b"<html>")},
                                  HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert "Files of type “.html” cannot be attached." in response.text.replace("&ldquo;", "“").replace(
        "&rdquo;", "”")
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_upload_without_view_access_is_404_and_stores_nothing(login, nobody, account, media_root):
    # when
    response = login(nobody).post(upload_url(account), {"file": SimpleUploadedFile("a.png", PNG)})
    # then
    assert response.status_code == 404
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_download_sends_file_as_attachment_with_chinese_name(login, author, viewer, account):
    # given
    attachment = services.add_attachment(account, SimpleUploadedFile("合同 v2.pdf", PDF), actor=author)
    # when
    response = login(viewer).get(f"/timeline/attachments/{attachment.pk}/download")
    # then
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"__ v2.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C%20v2.pdf")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(PDF))


def test_download_without_view_access_is_404(login, author, nobody, account):
    # given
    attachment = services.add_attachment(account, SimpleUploadedFile("a.png", PNG), actor=author)
    # when
    response = login(nobody).get(f"/timeline/attachments/{attachment.pk}/download")
    # then
    assert response.status_code == 404


def test_file_is_not_reachable_by_a_public_url(login, author, account):
    # given
    attachment = services.add_attachment(account, SimpleUploadedFile("a.png", PNG), actor=author)
    client = login(author)
    # when / then
    for url in (f"/media/{attachment.file.name}", f"/{attachment.file.name}"):
        assert client.get(url).status_code == 404


def test_content_disposition_neutralises_quotes():
    # when / then
    assert content_disposition('a"b;c.txt') == "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%3Bc.txt"


def test_attachments_appear_on_detail_page(login, author, account):
    # given
    attachment = services.add_attachment(account, SimpleUploadedFile("名片.png", PNG), actor=author)
    # when
    response = login(author).get(f"/crm/accounts/{account.pk}/")
    # then
    assert "名片.png" in response.text
    assert f"/timeline/attachments/{attachment.pk}/download" in response.text

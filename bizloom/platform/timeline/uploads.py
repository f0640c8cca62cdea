"""Upload checks for attachments: size, allowed extension, and content that agrees with it.

The extension decides the type; the first bytes (and for Office files, the zip's parts)
must prove it. HTML, SVG, scripts and executables are refused whatever they are called,
and text files must be text (UTF-8, UTF-16 with BOM or GB18030) that does not start like markup.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# extension -> MIME type served on download
ALLOWED: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "csv": "text/csv",
}
OFFICE_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
TEXT_SNIFF_BYTES = 64 * 1024
MARKUP_STARTS = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body", b"<iframe")
BINARY_MAGIC = (b"MZ", b"\x7fELF", b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\xca\xfe\xba\xbe",
                b"\xcf\xfa\xed\xfe", b"#!")


@dataclass(frozen=True)
class CheckedUpload:
    """What the checks established about an accepted file."""

    filename: str
    extension: str
    mime_type: str
    size: int
    sha256: str


def max_bytes() -> int:
    """The size limit: ``settings.BIZLOOM_ATTACHMENT_MAX_BYTES``, 20 MB by default."""
    return int(getattr(settings, "BIZLOOM_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def clean_filename(name: str) -> str:
    """The uploader's file name without any path, control characters or surrounding dots and spaces."""
    base = os.path.basename(name.replace("\\", "/"))
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".").strip()
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 255 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:255]
    return base


def _read_head(file: IO[bytes], size: int) -> bytes:
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def _looks_like(extension: str, head: bytes) -> bool:
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if extension == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    return False


def _is_office(extension: str, file: IO[bytes]) -> bool:
    if not _read_head(file, 4).startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        file.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(OFFICE_PART[extension]) for n in names)


def _is_text(head: bytes) -> bool:
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped.lower().startswith(MARKUP_STARTS) or head.startswith(BINARY_MAGIC):
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        if b"\x00" in head:
            return False
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)
    return False


def check_upload(file: IO[bytes], name: str, size: int) -> CheckedUpload:
    """Accept ``file`` (uploaded as ``name``, ``size`` bytes) or raise ValidationFailed with a clear message.

    The checked file is rewound; the SHA-256 is computed over its whole content.
    """
    filename = clean_filename(name)
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    limit = max_bytes()
    if not filename:
        raise _refuse(_("The file has no name."), "attachment_no_name")
    if size <= 0:
        raise _refuse(_("The file “%(name)s” is empty.") % {"name": filename}, "attachment_empty")
    if size > limit:
        raise _refuse(_("The file “%(name)s” is %(size)s; files may be at most %(limit)s.")
                      % {"name": filename, "size": human_size(size), "limit": human_size(limit)},
                      "attachment_too_large")
    if extension not in ALLOWED:
        raise _refuse(
            _("Files of type “%(extension)s” cannot be attached. Allowed: %(allowed)s.")
            % {"extension": f".{extension}" if extension else _("(no extension)"),
               "allowed": ", ".join(sorted({f".{e}" for e in ALLOWED}))},
            "attachment_type_not_allowed")
    head = _read_head(file, TEXT_SNIFF_BYTES)
    if extension in OFFICE_PART:
        genuine = _is_office(extension, file)
    elif extension in ("txt", "csv"):
        genuine = _is_text(head)
    else:
        genuine = _looks_like(extension, head)
    if not genuine:
        raise _refuse(_("The content of “%(name)s” is not a valid .%(extension)s file.")
                      % {"name": filename, "extension": extension}, "attachment_content_mismatch")
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return CheckedUpload(filename=filename, extension=extension, mime_type=ALLOWED[extension], size=size,
                         sha256=digest.hexdigest())


def human_size(size: int) -> str:
    """``20 MB``, ``512 KB``, ``12 bytes``."""
    if size >= 1024 * 1024:
        return _("%(size)s MB") % {"size": f"{size / (1024 * 1024):.1f}".removesuffix(".0")}
    if size >= 1024:
        return _("%(size)s KB") % {"size": f"{size / 1024:.1f}".removesuffix(".0")}
    return _("%(size)s bytes") % {"size": size}


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"file": [message]})

"""Timeline use cases: comment on a record (with @mentions) and attach a file to it.

The caller has loaded ``record`` through :func:`selectors.get_record`, so the actor may view it.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed
from bizloom.platform import access
from bizloom.platform.notifications import kinds
from bizloom.platform.notifications.services import notify
from bizloom.platform.timeline.models import Attachment, Comment
from bizloom.platform.timeline.uploads import check_upload

MAX_COMMENT_LENGTH = 10_000
MENTION_RE = re.compile(r"(?<![\w.+@-])@([\w.+-]+)")


def mention_candidates(body: str) -> list[str]:
    """Usernames written as ``@name`` in ``body``, in order, without duplicates (a trailing dot is not part of it)."""
    found: list[str] = []
    for match in MENTION_RE.finditer(body):
        for name in (match.group(1), match.group(1).rstrip(".-+")):
            if name and name not in found:
                found.append(name)
    return found


def resolve_mentions(body: str, record: models.Model) -> list[Any]:
    """Active users named in ``body`` who may view ``record``; anyone else's name stays plain text."""
    names = mention_candidates(body)
    if not names:
        return []
    model = type(record)
    users = get_user_model().objects.filter(username__in=names, is_active=True).order_by("username")
    return [user for user in users
            if access.restrict(model._default_manager.filter(pk=record.pk), user, "view").exists()]


@transaction.atomic
def add_comment(record: models.Model, body: str, *, actor: Any) -> Comment:
    """Write ``body`` on ``record`` as ``actor`` and notify every user it mentions (kind "mention").

    Raises ValidationFailed for an empty or too long comment; nothing is written then.
    """
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        message = _("Write something before posting.")
        raise ValidationFailed(message, code="comment_empty", fields={"body": [message]})
    if len(text) > MAX_COMMENT_LENGTH:
        message = _("A comment may have at most %(limit)s characters.") % {"limit": MAX_COMMENT_LENGTH}
        raise ValidationFailed(message, code="comment_too_long", fields={"body": [message]})
    comment = Comment.objects.create(content_type=ContentType.objects.get_for_model(record),
                                     object_id=str(record.pk), author=actor, body=text)
    mentioned = resolve_mentions(text, record)
    comment.mentions.set(mentioned)
    for user in mentioned:
        if user.pk == actor.pk:
            continue
        with translation.override(getattr(user, "language", "") or None):
            message = _("%(author)s mentioned you on %(record)s: %(excerpt)s") % {
                "author": actor, "record": record, "excerpt": _excerpt(text)}
        notify(user, kind=kinds.MENTION.key, message=message, target=record, actor=actor)
    return comment


def _excerpt(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@transaction.atomic
def add_attachment(record: models.Model, upload: UploadedFile[Any], *, actor: Any) -> Attachment:
    """Store ``upload`` for ``record`` under a random name after the size and type checks.

    Raises ValidationFailed (code ``attachment_*``) for a file that is too large, of a type not
    allowed, or whose content does not match its extension; nothing is stored then. If writing
    the row fails the stored file is removed again.
    """
    if upload.file is None:
        raise ValidationFailed(_("No file was uploaded."), code="attachment_missing",
                               fields={"file": [_("No file was uploaded.")]})
    checked = check_upload(upload.file, upload.name or "", upload.size or 0)
    attachment = Attachment(content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk),
                            filename=checked.filename, mime_type=checked.mime_type, size=checked.size,
                            sha256=checked.sha256, uploaded_by=actor)
    upload.file.seek(0)
    attachment.file.save(checked.filename, upload, save=False)
    try:
        attachment.save()
    except Exception:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment

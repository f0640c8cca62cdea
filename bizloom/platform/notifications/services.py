"""Notification use cases: tell a user something, mark what they have read, keep their preferences.

``notify`` is what other apps call; it is meant to run inside their business transaction:
the in-app row is part of that transaction and the e-mail is queued only after it commits,
so a rolled-back action notifies nobody.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from bizloom.platform.notifications import tasks
from bizloom.platform.notifications.kinds import get_kind
from bizloom.platform.notifications.models import Notification, NotificationPreference

log = logging.getLogger(__name__)


def record_url(obj: models.Model) -> str:
    """The detail page of ``obj``: ``get_absolute_url()`` when defined, else ``<app>:<model>_detail``; "" if none."""
    absolute = getattr(obj, "get_absolute_url", None)
    if callable(absolute):
        return str(absolute())
    meta = obj._meta
    try:
        return reverse(f"{meta.app_label}:{meta.model_name}_detail", args=[obj.pk])
    except NoReverseMatch:
        return ""


def get_preference(user: Any, kind: str) -> NotificationPreference:
    """``user``'s preference for ``kind``; an unsaved all-on default when they never chose."""
    found = NotificationPreference.objects.filter(user=user, kind=kind).first()
    return found or NotificationPreference(user=user, kind=kind, in_app=True, email=True)


def _recipient_language(recipient: Any) -> str:
    return str(getattr(recipient, "language", "") or settings.LANGUAGE_CODE)


@transaction.atomic
def notify(recipient: Any, *, kind: str, message: str | Promise, target: models.Model | None = None,
           actor: Any = None, url: str = "") -> Notification | None:
    """Tell ``recipient`` ``message`` (about ``target``) through the channels their preference for ``kind`` allows.

    The in-app notification is written in the current transaction; the e-mail (task
    ``send_notification_email``) is enqueued on commit. Lazy translations are rendered in the
    recipient's language. ``url`` defaults to the target's detail page. Inactive recipients
    get nothing. Returns the in-app notification, or None when the user turned that channel off.

    Raises ValueError for an undeclared ``kind``.
    """
    get_kind(kind)
    if recipient is None or not recipient.is_active:
        return None
    preference = get_preference(recipient, kind)
    with translation.override(_recipient_language(recipient)):
        text = str(message)
        link = url or (record_url(target) if target is not None else "")
        subject = _("[%(site)s] %(message)s") % {"site": settings.SITE_NAME, "message": text.splitlines()[0][:150]
                                                  if text else ""}
        body = text
        if link:
            base = str(getattr(settings, "BIZLOOM_SITE_URL", "")).rstrip("/")
            body = _("%(message)s\n\nOpen: %(link)s") % {"message": text, "link": f"{base}{link}"}
    notification = None
    if preference.in_app:
        notification = Notification.objects.create(
            recipient=recipient, kind=kind, message=text, actor=actor, url=link,
            target_type=ContentType.objects.get_for_model(target) if target is not None else None,
            target_id=str(target.pk) if target is not None else "",
            target_repr=str(target)[:200] if target is not None else "",
        )
    if preference.email and recipient.email:
        recipient_id = recipient.pk
        transaction.on_commit(
            lambda: tasks.send_notification_email.enqueue(recipient_id, subject, body), robust=True)
    return notification


def mark_read(notification: Notification, *, actor: Any) -> Notification:
    """Mark ``notification`` read (idempotent). Only its recipient may; ValueError otherwise."""
    if notification.recipient_id != actor.pk:
        raise ValueError("a notification is marked read only by its recipient")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(*, actor: Any) -> int:
    """Mark every unread notification of ``actor`` read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def set_preferences(user: Any, choices: dict[str, tuple[bool, bool]], *, actor: Any) -> None:
    """Store ``user``'s (in_app, email) choice per declared kind. Only the user themself may.

    Raises ValueError for an undeclared kind or another actor.
    """
    if actor.pk != user.pk:
        raise ValueError("preferences are changed only by their owner")
    for kind, (in_app, email) in choices.items():
        get_kind(kind)
        NotificationPreference.objects.update_or_create(user=user, kind=kind,
                                                        defaults={"in_app": in_app, "email": email})

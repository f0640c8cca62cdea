"""Background work of notifications: the e-mail copy, sent after the business transaction commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_notification_email(recipient_id: int, subject: str, body: str) -> bool:
    """E-mail ``subject``/``body`` to the user ``recipient_id`` through the configured backend (SMTP).

    Returns whether a message was handed to the mail server; a user who has since been
    deactivated or has no address is skipped. SMTP errors propagate so the task is marked failed.
    """
    user = get_user_model().objects.filter(pk=recipient_id, is_active=True).first()
    address = getattr(user, "email", "") if user is not None else ""
    if not address:
        log.info("notification email skipped: user=%s has no active address", recipient_id)
        return False
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address])
    message.encoding = "utf-8"
    return message.send(fail_silently=False) == 1

"""Reads of notifications: each user sees only their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bizloom.platform.notifications.models import Notification


def list_notifications(user: Any) -> QuerySet[Notification]:
    """``user``'s notifications, newest first, with the actor joined."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).select_related("actor")


def unread_count(user: Any) -> int:
    """How many of ``user``'s notifications are unread (the bell's number)."""
    return list_notifications(user).filter(read_at__isnull=True).count()


def get_notification(user: Any, pk: int) -> Notification:
    """One of ``user``'s notifications; Http404 for anyone else's."""
    return get_object_or_404(list_notifications(user), pk=pk)

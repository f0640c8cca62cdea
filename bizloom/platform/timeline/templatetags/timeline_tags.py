"""``{% timeline_actions object as tl %}``: the comment and upload URLs of a record's timeline panel."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse

from bizloom.platform.timeline.selectors import is_business_model

register = template.Library()


@register.simple_tag
def timeline_actions(obj: Any) -> dict[str, str] | None:
    """``{"comment_url", "upload_url", "panel_url"}`` for ``obj``, or None when it takes no comments."""
    if obj is None or not hasattr(obj, "_meta") or not is_business_model(type(obj)):
        return None
    args = [ContentType.objects.get_for_model(obj).pk, obj.pk]
    try:
        return {"comment_url": reverse("timeline:comment_create", args=args),
                "upload_url": reverse("timeline:attachment_create", args=args),
                "panel_url": reverse("timeline:panel", args=args)}
    except NoReverseMatch:
        return None

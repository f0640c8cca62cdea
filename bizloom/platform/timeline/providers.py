"""Timeline entries for comments and attachments, registered for every business record in ``ready()``."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from bizloom.platform.detail import TimelineEntry
from bizloom.platform.timeline import selectors
from bizloom.platform.timeline.uploads import human_size


def comment_entries(obj: Any, user: Any) -> list[TimelineEntry]:
    """One entry per comment on ``obj``: the author and the escaped text (the page adds line breaks)."""
    if not selectors.is_business_model(type(obj)):
        return []
    return [TimelineEntry(at=c.created_at, title=_("Comment"), body=c.body, actor=c.author, kind="comment")
            for c in selectors.list_comments(obj)]


def attachment_entries(obj: Any, user: Any) -> list[TimelineEntry]:
    """One entry per attachment of ``obj``, linking to the access-checked download."""
    if not selectors.is_business_model(type(obj)):
        return []
    entries = []
    for a in selectors.list_attachments(obj):
        try:
            url = reverse("timeline:attachment_download", args=[a.pk])
        except NoReverseMatch:  # URLs not mounted (yet): list the file without a link
            url = ""
        entries.append(TimelineEntry(at=a.uploaded_at, title=a.filename, body=human_size(a.size),
                                     actor=a.uploaded_by, kind="attachment", url=url))
    return entries

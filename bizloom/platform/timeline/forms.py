"""The two small forms of the timeline area: a comment and a file."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bizloom.platform.timeline.services import MAX_COMMENT_LENGTH


class CommentForm(forms.Form):
    """Plain text; ``@username`` mentions a colleague who may view the record."""

    body = forms.CharField(
        label=_("Comment"), max_length=MAX_COMMENT_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a comment… @name to mention")}))


class AttachmentForm(forms.Form):
    """One file; the service checks its size and type."""

    file = forms.FileField(label=_("File"), allow_empty_file=True)

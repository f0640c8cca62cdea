"""Timeline endpoints: post a comment, upload a file (both answer with the refreshed panel), download a file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bizloom.common.errors import ValidationFailed
from bizloom.platform.detail import timeline
from bizloom.platform.notifications.services import record_url
from bizloom.platform.timeline import selectors, services
from bizloom.platform.timeline.forms import AttachmentForm, CommentForm

PANEL_TEMPLATE = "timeline/_panel.html"


def _panel(request: HttpRequest, record: models.Model, **forms: Any) -> HttpResponse:
    context = {"object": record, "timeline": timeline.entries(record, request.user),
               "comment_form": forms.get("comment_form") or CommentForm(),
               "attachment_form": forms.get("attachment_form") or AttachmentForm()}
    return render(request, PANEL_TEMPLATE, context)


def _answer(request: HttpRequest, record: models.Model, form: Any, form_name: str) -> HttpResponse:
    """HTMX gets the panel (with the form's errors, if any); a plain POST goes back to the record."""
    if getattr(request, "htmx", False):
        return _panel(request, record, **({form_name: form} if form is not None and form.errors else {}))
    if form is not None and form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return HttpResponseRedirect(record_url(record) or "/")


@login_required
@require_GET
def panel(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The record's timeline panel (entries and forms); 404 unless the user may view the record."""
    record = selectors.get_record(request.user, content_type_id, object_id)
    return _panel(request, record)


@login_required
@require_POST
def comment_create(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """Post a comment on a record the user may view (404 otherwise); mentioned users are notified."""
    record = selectors.get_record(request.user, content_type_id, object_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(record, form.cleaned_data["body"], actor=request.user)
        except ValidationFailed as error:
            form.add_error("body", error.message)
    return _answer(request, record, form, "comment_form")


@login_required
@require_POST
def attachment_create(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """Upload a file to a record the user may view (404 otherwise); refused files leave nothing behind."""
    record = selectors.get_record(request.user, content_type_id, object_id)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_attachment(record, form.cleaned_data["file"], actor=request.user)
        except ValidationFailed as error:
            form.add_error("file", error.message)
    return _answer(request, record, form, "attachment_form")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987 ``filename*``)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The file, as a download, only for users who may view its record (404 for anyone else)."""
    attachment, _record = selectors.get_attachment(request.user, pk)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.mime_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response

"""Permission-scoped reads for comments and attachments: everything goes through the parent record."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from bizloom.platform import access
from bizloom.platform.timeline.models import Attachment, Comment


def is_business_model(model: type[models.Model]) -> bool:
    """Whether records of ``model`` may carry comments and attachments: models of the business
    apps (crm, sales, ...), not Django's or the platform's own bookkeeping."""
    try:
        config = apps.get_app_config(model._meta.app_label)
    except LookupError:
        return False
    return config.name.startswith("bizloom.") and not config.name.startswith(("bizloom.platform", "bizloom.common"))


def get_record(user: Any, content_type_id: int, object_id: str | int, action: str = "view") -> models.Model:
    """The business record (content type, id) if ``user`` may ``action`` it; Http404 otherwise.

    Missing, out-of-scope and non-business records are indistinguishable to the caller.
    """
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist:
        raise Http404 from None
    model = content_type.model_class()
    if model is None or not is_business_model(model):
        raise Http404
    queryset = access.restrict(model._default_manager.all(), user, action)
    try:
        return queryset.get(pk=object_id)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404 from None


def _for_record(queryset: QuerySet[Any], record: models.Model) -> QuerySet[Any]:
    content_type = ContentType.objects.get_for_model(record)
    return queryset.filter(content_type=content_type, object_id=str(record.pk))


def list_comments(record: models.Model) -> QuerySet[Comment]:
    """Comments on ``record`` (already loaded through an access-checked selector), newest first."""
    return _for_record(Comment.objects.select_related("author"), record)


def list_attachments(record: models.Model) -> QuerySet[Attachment]:
    """Attachments of ``record`` (already loaded through an access-checked selector), newest first."""
    return _for_record(Attachment.objects.select_related("uploaded_by"), record)


def get_attachment(user: Any, pk: int) -> tuple[Attachment, models.Model]:
    """An attachment and its record when ``user`` may view the record; Http404 otherwise."""
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None:
        raise Http404
    record = get_record(user, attachment.content_type_id, attachment.object_id)
    return attachment, record

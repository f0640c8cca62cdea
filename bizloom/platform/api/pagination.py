"""Page-number pagination: ``?page`` and ``?page_size`` (bounded by ``API_MAX_PAGE_SIZE``).

Answers are ``{count, page, page_size, results}``. A page past the end is empty, not an error.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from ninja import Field, Schema

T = TypeVar("T")


class PageParams(Schema):
    """Query parameters of every list operation."""

    page: int = Field(1, ge=1, le=1_000_000, description="1-based page number.")
    page_size: int = Field(settings.API_DEFAULT_PAGE_SIZE, ge=1, le=settings.API_MAX_PAGE_SIZE,
                           description=f"Rows per page, at most {settings.API_MAX_PAGE_SIZE}.")


class Page(Schema, Generic[T]):
    """One page of a list; subclass as ``class AccountPage(Page[AccountOut])`` for a clear OpenAPI name."""

    count: int
    page: int
    page_size: int
    results: list[T]


def paginate(queryset: QuerySet[Any], params: PageParams) -> dict[str, Any]:
    """Slice ``queryset`` (already ordered) to the requested page; the caller's schema renders rows."""
    count = queryset.count()
    start = (params.page - 1) * params.page_size
    rows = list(queryset[start:start + params.page_size]) if start < count else []
    return {"count": count, "page": params.page, "page_size": params.page_size, "results": rows}

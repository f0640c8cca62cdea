"""Typing and small helpers for HTMX requests (django-htmx sets ``request.htmx``)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest as seen after HtmxMiddleware: ``request.htmx`` is truthy for HTMX calls."""

    htmx: HtmxDetails


def is_htmx(request: HttpRequest) -> bool:
    """Whether the request came from HTMX (and wants a partial, not a full page)."""
    return bool(getattr(request, "htmx", False))

"""Reads of integration records, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bizloom.integration.models import ApiToken
from bizloom.platform.models import User


def list_api_tokens(user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (a token is never visible to anyone else)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def get_api_token(user: User, pk: int) -> ApiToken:
    """One of ``user``'s tokens, or Http404 (also for another user's token)."""
    return get_object_or_404(list_api_tokens(user), pk=pk)

"""Typing for requests inside views that require a signed-in user."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from bizloom.platform.models import User


def actor_of(request: HttpRequest) -> User:
    """The signed-in user acting in this request (views are behind login_required).

    Raises PermissionDenied for an anonymous request, so a view that forgot
    ``login_required`` fails closed instead of acting as nobody.
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user

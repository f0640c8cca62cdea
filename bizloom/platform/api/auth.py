"""API authentication: the browser session (with CSRF) or a personal bearer token.

Token storage lives in the ``integration`` app, above ``platform``; the API shell
(``bizloom/api.py``) passes its lookup function to :class:`BearerTokenAuth`, so this
module does not import upward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from bizloom.platform.api.problem import ApiProblem

TokenResolver = Callable[[str], Any]


class SessionAuth(APIKeyCookie):
    """Django's session; unsafe methods need the CSRF token (``X-CSRFToken`` header).

    Unlike ninja's own ``SessionAuth``, the CSRF check runs only once a session user is
    found, so an anonymous client gets 401 (not 403) and a bearer-token client is never
    asked for CSRF.
    """

    param_name = "sessionid"

    def __init__(self, csrf: bool = True) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=csrf)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise ApiProblem(403, _("CSRF check failed: send the X-CSRFToken header with session requests."),
                             code="csrf_failed")
        return user


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; ``resolver`` returns the token's user or None.

    A bearer token that does not resolve answers 401 at once: a client that sent explicit
    credentials must not silently fall back to a browser session cookie.
    """

    def __init__(self, resolver: TokenResolver) -> None:
        self.resolver = resolver
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        token = token.strip()
        user = self.resolver(token) if token and len(token) <= 200 else None
        if user is None:
            raise AuthenticationError()
        request.user = user  # so views, services and access checks see the token's owner
        return user

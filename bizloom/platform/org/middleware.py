""""View as" (issue #3): an administrator sees the application with another user's access.

The session stores the target's id (:data:`SESSION_KEY`). For every request of the
administrator, :class:`ViewAsMiddleware` makes the target ``request.user`` (marked with
``access.mark_viewing_as`` so access refuses every action but view and export), keeps the
administrator in ``request.real_user`` and ``request.viewing_as`` for the banner, and
refuses every unsafe request except "stop" and sign-out: read-only impersonation.

Install after ``AuthenticationMiddleware``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from bizloom.platform import access

log = logging.getLogger("bizloom.security")

SESSION_KEY = "bizloom_view_as"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _allowed_while_viewing(path: str) -> bool:
    allowed = set()
    for name in ("org:view_as_stop", "logout"):
        try:
            allowed.add(reverse(name))
        except NoReverseMatch:
            continue
    return path in allowed


class ViewAsMiddleware:
    """Swap ``request.user`` for the user an administrator is viewing as (read-only)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        target_id = session.get(SESSION_KEY) if session is not None else None
        if target_id:
            response = self._apply(request, int(target_id))
            if response is not None:
                return response
        return self.get_response(request)

    def _apply(self, request: HttpRequest, target_id: int) -> HttpResponse | None:
        from bizloom.platform.models import User
        from bizloom.platform.org.selectors import may_administer

        real = request.user
        target = User.objects.filter(pk=target_id, is_active=True).first()
        if (not may_administer(real) or target is None or target.pk == real.pk
                or (target.is_superuser and not real.is_superuser)):
            request.session.pop(SESSION_KEY, None)
            return None
        request.real_user = real  # type: ignore[attr-defined]
        request.viewing_as = target  # type: ignore[attr-defined]
        request.user = access.mark_viewing_as(target, real)
        if request.method in SAFE_METHODS or _allowed_while_viewing(request.path):
            return None
        log.info("denied user=%s (viewed as by %s) method=%s path=%s rule=view-as:read-only", target.pk, real.pk,
                 request.method, request.path)
        message = _("You are viewing as %(user)s: changes are not allowed. Stop viewing as to make changes.") % {
            "user": target}
        if request.path.startswith("/api/"):
            return JsonResponse({"type": "urn:bizloom:problem:permission_denied", "title": _("Permission denied"),
                                 "status": 403, "detail": message, "code": "permission_denied", "errors": {},
                                 "rule": "view-as:read-only"}, status=403, content_type="application/problem+json")
        return HttpResponseForbidden(message)

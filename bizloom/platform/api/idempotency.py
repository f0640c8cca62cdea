"""``Idempotency-Key`` for write calls: a retried POST/PUT/PATCH/DELETE has one effect.

A client that may retry (timeouts, lost connections) sends a unique key with the call::

    POST /api/v1/crm/accounts
    Idempotency-Key: 7c0e2f9a-…

The first call runs and its response is stored with the key **in the same transaction** as
the call's own changes; a retry with the same key and the same request gets that response
again (header ``Idempotent-Replayed: true``) without running anything. Two concurrent calls
with one key serialise on the key's unique row: the second waits and replays. Reusing a key
for a different request (method, path or body) is refused with 422. Server errors (5xx)
roll the call back and store nothing, so a retry runs again (a streamed response is not
stored either). Keys are scoped to the caller
(the signed-in user, or the bearer token) and kept for ``IDEMPOTENCY_RETENTION``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.platform.api.problem import problem_response

HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
IDEMPOTENCY_RETENTION = timedelta(hours=24)


class _RollBack(Exception):  # noqa: N818 - control flow, not an error
    """Carries a server-error response out of the atomic block so nothing is kept."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class _Concurrent(Exception):  # noqa: N818 - control flow, not an error
    """Another call with the same key holds (or just committed) the key's row."""


def _scope(request: HttpRequest) -> str | None:
    """Who is calling: the bearer token (hashed) or the session's user; None when anonymous."""
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(authorization.encode()).hexdigest()[:64]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), ""):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(stored: Any) -> HttpResponse:
    response = HttpResponse(bytes(stored.body), status=stored.status_code,
                            content_type=stored.content_type or None)
    response["Idempotent-Replayed"] = "true"
    return response


def _bad_key(key: str) -> HttpResponse | None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        return problem_response(400, detail=_("The Idempotency-Key header must be 1 to %(max)d printable ASCII "
                                              "characters.") % {"max": MAX_KEY_LENGTH})
    return None


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an API view so write calls carrying an ``Idempotency-Key`` take effect once."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None or request.method not in WRITE_METHODS:
            return view(request, *args, **kwargs)
        if (refusal := _bad_key(key)) is not None:
            return refusal
        scope = _scope(request)
        if scope is None:  # the view answers 401 itself; nothing to remember
            return view(request, *args, **kwargs)
        return _run_once(view, request, args, kwargs, scope=scope, key=key)

    return wrapper


def _run_once(view: Callable[..., Any], request: HttpRequest, args: Any, kwargs: Any, *, scope: str,
              key: str) -> HttpResponse:
    from bizloom.platform.models import IdempotentRequest

    fingerprint = _fingerprint(request)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                stored = IdempotentRequest.objects.filter(scope=scope, key=key).first()
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        return problem_response(422, detail=_(
                            "This Idempotency-Key was already used for a different request."))
                    return _replay(stored)
                # Inserted before the call runs: a concurrent call with the same key blocks on
                # the unique index here until this transaction ends, then finds the stored row.
                try:
                    with transaction.atomic():
                        record = IdempotentRequest.objects.create(scope=scope, key=key, fingerprint=fingerprint,
                                                                  status_code=0)
                except IntegrityError as clash:
                    raise _Concurrent from clash
                response = view(request, *args, **kwargs)
                if response.status_code >= 500:
                    raise _RollBack(response)
                if getattr(response, "streaming", False):  # no body to keep: a retry runs again
                    record.delete()
                    return response  # type: ignore[no-any-return]
                record.status_code = response.status_code
                record.content_type = response.get("Content-Type", "")
                record.body = response.content
                record.save(update_fields=["status_code", "content_type", "body"])
                return response  # type: ignore[no-any-return]
        except _RollBack as rolled_back:
            return rolled_back.response
        except _Concurrent:
            continue  # the concurrent call committed first: the next attempt replays it
    return problem_response(409, detail=_("Another request with this Idempotency-Key is still running. "
                                          "Retry later."))


def prune(now: Any = None) -> int:
    """Delete stored responses older than ``IDEMPOTENCY_RETENTION``; returns how many."""
    from bizloom.platform.models import IdempotentRequest

    cutoff = (now or timezone.now()) - IDEMPOTENCY_RETENTION
    deleted, _details = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted

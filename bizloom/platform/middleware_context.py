"""Who is acting through which channel: the request/job context the audit trail reads (issue #3).

A context variable holds the current channel (``web``, ``api``, ``import``, ``automation``,
``system``) and a request id. :class:`RequestContextMiddleware` sets it for every HTTP
request (``api`` under ``/api/``, else ``web``) with a fresh uuid4 request id, which it
also returns as the ``X-Request-ID`` response header. Jobs and imports wrap their work in
:func:`use_channel`::

    with use_channel(CHANNEL_IMPORT):
        services.create_account(row, actor=user)   # audit entries say "import"

Outside both, the channel is ``system`` and the request id is empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

CHANNEL_WEB = "web"
CHANNEL_API = "api"
CHANNEL_IMPORT = "import"
CHANNEL_AUTOMATION = "automation"
CHANNEL_SYSTEM = "system"
CHANNELS = frozenset({CHANNEL_WEB, CHANNEL_API, CHANNEL_IMPORT, CHANNEL_AUTOMATION, CHANNEL_SYSTEM})

REQUEST_ID_HEADER = "X-Request-ID"
API_PATH_PREFIX = "/api/"


@dataclass(frozen=True)
class ActionContext:
    """The channel an action came through and the id of the request or job that carried it."""

    channel: str = CHANNEL_SYSTEM
    request_id: str = ""


_current: ContextVar[ActionContext] = ContextVar("bizloom_action_context", default=ActionContext())  # noqa: B039


def current() -> ActionContext:
    """The context of the code running now (``system`` with no request id by default)."""
    return _current.get()


def current_channel() -> str:
    """The current channel name."""
    return _current.get().channel


def current_request_id() -> str:
    """The current request or job id, or ``""``."""
    return _current.get().request_id


def new_request_id() -> str:
    """A fresh random request id (uuid4, hex with dashes)."""
    return str(uuid.uuid4())


@contextmanager
def use_channel(channel: str, *, request_id: str | None = None) -> Iterator[ActionContext]:
    """Run the block with ``channel`` (and ``request_id``, default: keep the current one).

    Restores the previous context on exit, also on exceptions. Raises ValueError for an
    unknown channel name.
    """
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}; expected one of {sorted(CHANNELS)}")
    context = ActionContext(channel=channel,
                            request_id=current_request_id() if request_id is None else request_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class RequestContextMiddleware:
    """Set channel and request id for the request; add ``X-Request-ID`` to the response.

    Place it early in ``MIDDLEWARE`` (right after SecurityMiddleware) so every later
    middleware and view sees the context. The id is always generated here; a client's own
    ``X-Request-ID`` is not trusted, since it ends up in the audit trail.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = CHANNEL_API if request.path_info.startswith(API_PATH_PREFIX) else CHANNEL_WEB
        request_id = new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current.set(ActionContext(channel=channel, request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response

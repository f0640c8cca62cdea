"""One error format for the whole API: ``application/problem+json`` (RFC 9457).

Every error answer has ``type``, ``title``, ``status``, ``detail``, ``code`` and
``errors`` (field path → messages). :func:`install_problem_handlers` maps ninja's
validation and HTTP errors, domain errors, Http404, oversized and malformed bodies and
unexpected exceptions onto that shape, so clients only ever parse one thing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from bizloom.common.errors import DomainError

if TYPE_CHECKING:
    from ninja import NinjaAPI

log = logging.getLogger("bizloom.api")
security_log = logging.getLogger("bizloom.security")

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:bizloom:problem:"

# Short, status-level summaries (RFC 9457 "title"); the "detail" says what happened.
TITLES: dict[int, Any] = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Authentication required"),
    403: gettext_lazy("Permission denied"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request body too large"),
    415: gettext_lazy("Unsupported media type"),
    422: gettext_lazy("Invalid input"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Internal server error"),
}

CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "throttled",
    500: "server_error",
}

# Keys a problem document always has; DomainError context never overrides them.
_RESERVED = frozenset({"type", "title", "status", "detail", "code", "errors", "instance"})


class ApiProblem(Exception):
    """Raise from API code to answer with a problem document (status, stable code, field errors)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None,
                 errors: Mapping[str, Sequence[str]] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = str(detail)
        self.code = code or CODES.get(status, "error")
        self.errors = {key: [str(m) for m in messages] for key, messages in (errors or {}).items()}
        self.extensions = extensions


class UnsupportedMediaType(Exception):
    """The request body is not JSON (raised by the parser, answered with 415)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


def problem_response(status: int, *, detail: str | None = None, code: str | None = None,
                     errors: Mapping[str, Sequence[str]] | None = None, title: str | None = None,
                     headers: Mapping[str, str] | None = None, **extensions: Any) -> HttpResponse:
    """Build an ``application/problem+json`` answer; ``extensions`` become extra members."""
    code = code or CODES.get(status, "error")
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": str(title or TITLES.get(status, _("Error"))),
        "status": status,
        "detail": str(detail or title or TITLES.get(status, _("Error"))),
        "code": code,
        "errors": {key: [str(m) for m in messages] for key, messages in (errors or {}).items()},
    }
    for key, value in extensions.items():
        if key not in _RESERVED and _is_json_scalar(value):
            body[key] = value
    response = HttpResponse(json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False), status=status,
                            content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _is_json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def error_path(loc: Sequence[Any], *, body_param_names: frozenset[str] = frozenset()) -> str:
    """Turn a ninja/pydantic error location into the field path a client sent.

    ``("body", "payload", "owner")`` → ``owner``; ``("query", "page_size")`` → ``page_size``;
    ``("body", "payload", "lines", 0, "qty")`` → ``lines.0.qty``. A whole missing or
    non-object body is reported under ``body``.
    """
    parts = [str(part) for part in loc]
    if not parts:
        return "__all__"
    source, rest = parts[0], parts[1:]
    if source == "body":
        if len(rest) <= 1:
            return "body"
        rest = rest[1:]  # drop the operation's parameter name, which the client never sees
    elif source not in {"query", "path", "header", "cookie", "form", "file"}:
        rest = parts
    return ".".join(rest) if rest else source


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Group ninja's list of pydantic errors by field path."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        loc = error.get("loc", ())
        message = str(error.get("msg", _("Invalid value.")))
        if error.get("type") == "extra_forbidden":
            message = str(_("Unknown field."))
        elif error.get("type") == "missing":
            message = str(_("This field is required."))
        grouped.setdefault(error_path(loc), []).append(message)
    return grouped


# --- handlers -------------------------------------------------------------------------


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    fields = ", ".join(sorted(errors))
    return problem_response(422, detail=_("The request has invalid fields: %(fields)s.") % {"fields": fields},
                            errors=errors)


def _on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = exc.status if 400 <= exc.status < 500 else 409
    return problem_response(status, detail=exc.message, code=exc.code, errors=exc.fields, **exc.context)


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return problem_response(
            415, detail=_("Send the request body as application/json, not %(type)s.") % {"type": cause.content_type}
        )
    if isinstance(cause, RequestDataTooBig):
        return _on_too_big(request, cause)
    if exc.status_code == 400 and cause is not None:
        return problem_response(400, detail=_("The request body is not valid JSON."), code="malformed_json")
    if isinstance(exc, AuthenticationError):
        return _unauthenticated()
    if isinstance(exc, AuthorizationError):
        return problem_response(403, detail=_("You do not have permission to do this."))
    return problem_response(exc.status_code, detail=str(exc.message))


def _unauthenticated() -> HttpResponse:
    return problem_response(
        401, detail=_("Sign in, or send a valid personal API token as 'Authorization: Bearer <token>'."),
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _unauthenticated()


def _on_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(exc.status, detail=exc.detail, code=exc.code, errors=exc.errors, **exc.extensions)


def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(404, detail=_("No such record, or you may not see it."))


def _on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(413, detail=_("The request body is larger than the server accepts."))


def _on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    security_log.warning("suspicious API request path=%s error=%s", request.path, exc)
    return problem_response(400, detail=_("The request was refused."))


def _on_django_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return problem_response(403, detail=_("You do not have permission to do this."))


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error method=%s path=%s", request.method, request.path, exc_info=exc)
    return problem_response(500, detail=_("Something went wrong on our side. The error has been logged."))


def install_problem_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default exception handlers with problem+json ones."""
    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (ValidationError, _on_validation_error),
        (DomainError, _on_domain_error),
        (ApiProblem, _on_problem),
        (HttpError, _on_http_error),
        (AuthenticationError, _on_authentication_error),
        (Http404, _on_404),
        (RequestDataTooBig, _on_too_big),
        (SuspiciousOperation, _on_suspicious),
        (DjangoPermissionDenied, _on_django_permission_denied),
        (Exception, _on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)

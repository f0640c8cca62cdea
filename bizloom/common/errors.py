"""Domain errors: what services raise when a business rule refuses an action.

Every error carries a stable snake_case ``code`` that API clients can rely on, a
translated human message, and optional field errors. The API maps them to
``application/problem+json`` (409 for conflicts with the record's state, 422 for
invalid input); views show the message next to the form or as a flash message.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every business-rule refusal."""

    code: str = "domain_error"
    status: int = 409

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None,
                 **context: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.fields = fields or {}
        self.context = context


class ValidationFailed(DomainError):
    """Input that breaks a field rule; ``fields`` maps field names to messages."""

    code = "validation_failed"
    status = 422


class InvalidTransition(DomainError):
    """A status change that the record's workflow does not allow from its current status."""

    code = "invalid_transition"
    status = 409


class PermissionDeniedError(DomainError):
    """An action the actor's roles do not grant; ``rule`` names what decided it."""

    code = "permission_denied"
    status = 403


def forget_frames(error: BaseException) -> None:
    """Drop the tracebacks of ``error`` and of the errors it came from (``__cause__``, ``__context__``).

    For errors caught and kept (or dropped) in a loop over many records: a Django
    ``ValidationError`` refers to itself (its ``error_list``), so only the garbage collector frees
    it, and its traceback keeps every frame below it alive until then — during an import, the
    chunk of rows being read.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__

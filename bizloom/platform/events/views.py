"""The outbox page for operators: failed and pending deliveries, with a retry button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.platform.events import selectors, services
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.forms_kit import htmx_redirect, require_or_403


def _require_staff(request: HttpRequest) -> None:
    """The outbox page is the ``events.change_outboxmessage`` permission (administrators)."""
    require_or_403(request.user, OutboxMessage, "change")


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Failed and pending outbox messages with their last errors; staff and superusers only."""
    _require_staff(request)
    return render(request, "events/outbox.html", {
        "failed": selectors.list_failed_messages(),
        "pending": selectors.list_pending_messages(),
        "max_attempts": services.MAX_ATTEMPTS,
    })


@login_required
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry one message now (POST); back to the outbox page with a message."""
    _require_staff(request)
    message = get_object_or_404(OutboxMessage, pk=pk)
    try:
        services.retry_message(message, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Message %(id)s will be delivered again.") % {"id": message.pk})
    return htmx_redirect(request, reverse("events:outbox"))

"""Integration settings pages: personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bizloom.common.errors import DomainError
from bizloom.integration import selectors, services
from bizloom.integration.forms import ApiTokenForm


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's tokens and the form to create one; a new token's secret is shown once, in this answer."""
    form = ApiTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.create_api_token(request.user, name=form.cleaned_data["name"],  # type: ignore[arg-type]
                                               days=form.cleaned_data["days"], actor=request.user)  # type: ignore[arg-type]
        except DomainError as error:
            for field, field_errors in error.fields.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            form = ApiTokenForm()
    status = 422 if request.method == "POST" and issued is None else 200
    response = render(request, "integration/token_list.html", {
        "tokens": selectors.list_api_tokens(request.user),  # type: ignore[arg-type]
        "form": form,
        "issued": issued,
    }, status=status)
    # The secret must not linger in caches or the browser history.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's tokens (another user's token is a 404)."""
    token = selectors.get_api_token(request.user, pk)  # type: ignore[arg-type]
    services.revoke_api_token(token, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("integration:token_list")

"""Template context from the integration app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def user_menu(request: HttpRequest) -> dict[str, Any]:
    """Adds "API tokens" to the signed-in user's menu (``user_menu_items`` in base.html)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_menu_items": [{"url": reverse("integration:token_list"), "label": _("API tokens")}]}

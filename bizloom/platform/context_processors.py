from typing import Any

from django.conf import settings
from django.http import HttpRequest

from bizloom.platform import navigation as nav


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu sections the signed-in user may open, and the site name, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_sections": [], "user_menu_items": [], "site_name": settings.SITE_NAME}
    return {"nav_sections": nav.sections_for(user), "user_menu_items": nav.user_menu_for(user),
            "site_name": settings.SITE_NAME}

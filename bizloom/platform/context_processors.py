from typing import Any

from django.conf import settings
from django.http import HttpRequest

from bizloom.platform import navigation as nav


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu sections the signed-in user may open, and the site name, for the base layout."""
    user = getattr(request, "user", None)
    sections = nav.sections_for(user) if user is not None and user.is_authenticated else []
    return {"nav_sections": sections, "site_name": settings.SITE_NAME}

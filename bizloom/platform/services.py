"""Platform use cases that change data."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from bizloom.common.errors import ValidationFailed
from bizloom.platform.models import User


@transaction.atomic
def set_user_language(user: User, language: str) -> User:
    """Remember ``language`` as the user's interface language."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed("Unknown language.", fields={"language": ["Unknown language."]})
    user.language = language
    user.save(update_fields=["language"])
    return user

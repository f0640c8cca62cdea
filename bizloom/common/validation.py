"""Turn Django model validation into the domain's ValidationFailed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed


def full_clean(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run ``instance.full_clean()`` and raise ValidationFailed with per-field messages."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        fields = {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
        raise ValidationFailed(_("Please correct the errors below."), fields=fields) from error

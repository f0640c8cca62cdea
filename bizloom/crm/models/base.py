"""Shared model pieces of the CRM records."""

from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class TranslatedName(models.Model):
    """A name given in English and in Simplified and Traditional Chinese (stages, reasons).

    ``str()`` shows the name in the active language, falling back to any name given.
    """

    name = models.CharField(_("name (English)"), max_length=100, blank=True)
    name_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=100, blank=True)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        """The name in ``language`` (default: the active one), else the first name given."""
        language = (language or translation.get_language() or "en").lower()
        preferred = {"zh-hans": self.name_zh_hans, "zh-hant": self.name_zh_hant}.get(language, self.name)
        if not preferred and language.startswith("zh"):
            preferred = self.name_zh_hans or self.name_zh_hant
        return preferred or self.name or self.name_zh_hans or self.name_zh_hant

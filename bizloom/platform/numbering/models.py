"""Document numbering: one sequence per document type, one counter per reset period."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.platform.numbering import patterns


class NumberSequence(models.Model):
    """How numbers of ``doc_type`` look (``pattern``) and when the counter starts again (``reset_period``)."""

    class Reset(models.TextChoices):
        AUTO = "auto", _("From the pattern")
        NONE = patterns.NONE, _("Never")
        YEAR = patterns.YEAR, _("Every year")
        MONTH = patterns.MONTH, _("Every month")
        DAY = patterns.DAY, _("Every day")

    doc_type = models.CharField(_("document type"), max_length=100, unique=True,
                                help_text=_("The key code uses, e.g. sales.order."))
    name = models.CharField(_("name"), max_length=100, blank=True)
    pattern = models.CharField(_("pattern"), max_length=100,
                               help_text=_("Tokens: {yyyy} {yy} {mm} {dd} {seq} {seq:05}; anything else is literal."))
    reset_period = models.CharField(_("reset"), max_length=10, choices=Reset, default=Reset.AUTO)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        ordering = ["doc_type"]

    def __str__(self) -> str:
        return self.name or self.doc_type

    def clean(self) -> None:
        """Validate the pattern and that the reset period fits it."""
        try:
            patterns.effective_reset(patterns.parse(self.pattern), self.reset_period)
        except ValidationFailed as error:
            raise ValidationError(error.fields or error.message) from error


class NumberCounter(models.Model):
    """The next value of ``sequence`` in one period (``""`` when it never resets).

    Read and advanced only under a row lock inside the caller's transaction, so numbers are
    unique and, as long as the caller commits, gap-free.
    """

    sequence = models.ForeignKey(NumberSequence, on_delete=models.CASCADE, related_name="counters",
                                 verbose_name=_("sequence"))
    period_key = models.CharField(_("period"), max_length=10, blank=True)
    next_value = models.PositiveBigIntegerField(_("next value"), default=1)

    class Meta:
        verbose_name = _("number counter")
        verbose_name_plural = _("number counters")
        ordering = ["sequence", "period_key"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "period_key"], name="numbering_counter_one_per_period"),
            models.CheckConstraint(condition=models.Q(next_value__gte=1), name="numbering_counter_next_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}:{self.period_key or '-'}={self.next_value}"

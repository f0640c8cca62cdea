"""The sales pipeline: pipelines and their stages, opportunities with product lines, stage
history, loss reasons, competitors and sales targets."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.common.money import quantize
from bizloom.crm.models.accounts import Account, Contact
from bizloom.crm.models.base import TranslatedName
from bizloom.crm.models.leads import Source
from bizloom.platform.customfields.models import CustomFieldsMixin


class Pipeline(TranslatedName):
    """A sales process (e.g. new business, renewals) with its ordered stages."""

    is_default = models.BooleanField(_("default"), default=False,
                                     help_text=_("New opportunities go into the default pipeline."))
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "pk"]


class Stage(TranslatedName):
    """One step of a pipeline. ``kind`` says whether it is open, won or lost.

    ``required_fields`` lists opportunity field names (and ``cf_<key>`` custom fields, and
    ``lines`` for "at least one product line") that must be filled to enter the stage.
    """

    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages",
                                 verbose_name=_("pipeline"))
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(_("default probability (%)"), default=10,
                                                   validators=[MinValueValidator(0), MaxValueValidator(100)])
    required_fields = models.JSONField(_("fields required to enter"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "pk"]


class LossReason(TranslatedName):
    """Why an opportunity was lost (price, timing, competitor, ...)."""

    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")
        ordering = ["pk"]


class Competitor(models.Model):
    """A company we compete with for opportunities."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    website = models.URLField(_("website"), blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Opportunity(CustomFieldsMixin, models.Model):
    """A possible sale to an account, moving through the stages of its pipeline.

    ``amount`` follows the product lines when there are any (the services keep it so);
    ``probability`` starts from the stage's default and may be adjusted within open stages.
    ``closed_at`` is set when it enters a won or lost stage and cleared when it reopens.
    """

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="opportunities",
                                verbose_name=_("account"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="opportunities", null=True,
                                blank=True, verbose_name=_("contact"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_opportunities", verbose_name=_("owner"), null=True, blank=True)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities",
                                 verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities",
                              verbose_name=_("stage"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0,
                                                   validators=[MinValueValidator(0), MaxValueValidator(100)])
    amount = models.DecimalField(_("amount"), default=Decimal(0), max_digits=19, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=32, choices=Source, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True,
                                 help_text=_("What happens next, e.g. “Send the revised quote by Friday”."))
    competitors = models.ManyToManyField(Competitor, related_name="opportunities", blank=True,
                                         verbose_name=_("competitors"))
    loss_reason = models.ForeignKey(LossReason, on_delete=models.PROTECT, related_name="opportunities", null=True,
                                    blank=True, verbose_name=_("loss reason"))
    loss_note = models.TextField(_("loss note"), blank=True)
    description = models.TextField(_("description"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField(_("stage changed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at", "-pk"]
        permissions = [("export_opportunity", _("Can export opportunities")),
                       ("import_opportunity", _("Can import opportunities"))]
        indexes = [models.Index(fields=["name"], name="crm_opp_name_idx"),
                   models.Index(fields=["pipeline", "stage"], name="crm_opp_pipeline_stage_idx"),
                   models.Index(fields=["owner", "expected_close"], name="crm_opp_owner_close_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        """``amount × probability``, rounded half-up to the currency's minor unit (as the forecast does)."""
        return quantize(self.amount * self.probability / 100, self.currency)


class OpportunityLine(models.Model):
    """A product (free text until the catalog exists) the customer asks for, with quantity and price."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines",
                                    verbose_name=_("opportunity"))
    position = models.PositiveIntegerField(_("position"), default=0)
    product_name = models.CharField(_("product"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=19, decimal_places=4, default=Decimal(1),
                                   validators=[MinValueValidator(Decimal(0))])
    unit_price = models.DecimalField(_("unit price"), default=Decimal(0), validators=[MinValueValidator(Decimal(0))],
                                     max_digits=19, decimal_places=4)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0),
                                           validators=[MinValueValidator(Decimal(0)),
                                                       MaxValueValidator(Decimal(100))])
    delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        ordering = ["opportunity", "position", "pk"]

    def __str__(self) -> str:
        return self.product_name

    @property
    def total(self) -> Decimal:
        """``quantity × unit price × (1 − discount)``, rounded to cents."""
        gross = self.quantity * self.unit_price
        return (gross * (100 - self.discount_percent) / 100).quantize(Decimal("0.01"))


class StageHistory(models.Model):
    """One stay of an opportunity in a stage: when it entered and left, and who moved it."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_history",
                                    verbose_name=_("opportunity"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("stage"))
    entered_at = models.DateTimeField(_("entered at"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("moved in by"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    left_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                null=True, blank=True, verbose_name=_("moved out by"))
    amount = models.DecimalField(_("amount on entry"), max_digits=19, decimal_places=4)
    probability = models.PositiveSmallIntegerField(_("probability on entry (%)"))

    class Meta:
        verbose_name = _("stage history")
        verbose_name_plural = _("stage history")
        ordering = ["opportunity", "entered_at", "pk"]
        indexes = [models.Index(fields=["stage", "entered_at"], name="crm_stagehist_stage_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.stage}"


class SalesTarget(models.Model):
    """What ``user`` should win in a period (``period_start``..``period_end``, inclusive)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_targets",
                             verbose_name=_("salesperson"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    amount = models.DecimalField(_("target amount"), validators=[MinValueValidator(Decimal(0))], max_digits=19,
                                 decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["period_start", "user"]
        permissions = [("manage_targets", _("Can set sales targets"))]
        constraints = [models.UniqueConstraint(fields=["user", "period_start", "period_end"],
                                               name="crm_target_unique_period"),
                       models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                              name="crm_target_period_order")]

    def __str__(self) -> str:
        return f"{self.user} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"

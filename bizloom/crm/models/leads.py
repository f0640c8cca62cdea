"""Leads: people and companies not yet qualified into accounts, contacts and opportunities."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models.accounts import Account, Contact
from bizloom.platform.customfields.models import CustomFieldsMixin


class Source(models.TextChoices):
    """Where a lead or opportunity came from (shared by both)."""

    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    TRADE_SHOW = "trade_show", _("Trade show")
    COLD_CALL = "cold_call", _("Cold call")
    CAMPAIGN = "campaign", _("Campaign")
    PARTNER = "partner", _("Partner")
    ADVERTISING = "advertising", _("Advertising")
    EXISTING_CUSTOMER = "existing_customer", _("Existing customer")
    OTHER = "other", _("Other")


class Lead(CustomFieldsMixin, models.Model):
    """A person and company we might sell to; converted into account + contact + opportunity.

    ``status`` moves new → contacted → qualified, or to unqualified; conversion sets it to
    converted and fills the ``converted_*`` links (the services do, clients never).
    """

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        UNQUALIFIED = "unqualified", _("Unqualified")
        CONVERTED = "converted", _("Converted")

    # Status changes a person makes (``leads.services.change_lead_status``); conversion is its
    # own action (``convert_lead``) from any status in CONVERTIBLE_STATUSES, and is final.
    TRANSITIONS = {
        Status.NEW: frozenset({Status.CONTACTED, Status.QUALIFIED, Status.UNQUALIFIED}),
        Status.CONTACTED: frozenset({Status.NEW, Status.QUALIFIED, Status.UNQUALIFIED}),
        Status.QUALIFIED: frozenset({Status.CONTACTED, Status.UNQUALIFIED}),
        Status.UNQUALIFIED: frozenset({Status.NEW, Status.CONTACTED, Status.QUALIFIED}),
        Status.CONVERTED: frozenset(),
    }
    CONVERTIBLE_STATUSES = frozenset({Status.NEW, Status.CONTACTED, Status.QUALIFIED})
    EDITABLE_STATUSES = frozenset({Status.NEW, Status.CONTACTED, Status.QUALIFIED, Status.UNQUALIFIED})

    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    company_code = models.CharField(_("company tax id"), max_length=32, blank=True)
    industry = models.CharField(_("industry"), max_length=32, choices=Account.Industry, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    phone = models.CharField(_("office phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    website = models.URLField(_("website"), blank=True)
    source = models.CharField(_("source"), max_length=32, choices=Source, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.NEW)
    score = models.PositiveSmallIntegerField(_("score"), default=0,
                                             validators=[MinValueValidator(0), MaxValueValidator(100)])
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_leads",
                              verbose_name=_("owner"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    unqualified_reason = models.CharField(_("reason not qualified"), max_length=200, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True, editable=False)
    converted_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="converted_leads",
                                          null=True, blank=True, editable=False, verbose_name=_("converted account"))
    converted_contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="converted_leads",
                                          null=True, blank=True, editable=False, verbose_name=_("converted contact"))
    converted_opportunity = models.ForeignKey("crm.Opportunity", on_delete=models.PROTECT,
                                              related_name="converted_leads", null=True, blank=True, editable=False,
                                              verbose_name=_("converted opportunity"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        permissions = [("export_lead", _("Can export leads")), ("import_lead", _("Can import leads")),
                       ("convert_lead", _("Can convert leads"))]
        indexes = [models.Index(fields=["name"], name="crm_lead_name_idx"),
                   models.Index(fields=["status", "owner"], name="crm_lead_status_owner_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

"""Contracts signed with accounts, usually from a won opportunity."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models.accounts import Account, Contact
from bizloom.crm.models.pipeline import Opportunity
from bizloom.platform.customfields.models import CustomFieldsMixin


class Contract(CustomFieldsMixin, models.Model):
    """An agreement with an account: amount, term and status.

    ``number`` comes from the numbering sequence ``crm.contract``. Status moves draft →
    active → expired (the scheduler, after ``end_date``) or terminated (by a user, with a
    reason). A renewal reminder goes to the owner ``renewal_notice_days`` before the end.
    The signed document is an attachment on the contract's timeline, marked by
    ``signed_document``.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        TERMINATED = "terminated", _("Terminated")

    # Allowed status moves (``common.statemachine.check_transition``).
    TRANSITIONS = {
        Status.DRAFT: frozenset({Status.ACTIVE, Status.TERMINATED}),
        Status.ACTIVE: frozenset({Status.EXPIRED, Status.TERMINATED}),
        Status.EXPIRED: frozenset(),
        Status.TERMINATED: frozenset(),
    }
    # Statuses in which the contract's fields may still be edited.
    EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.ACTIVE})

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contracts",
                                verbose_name=_("account"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="contracts", null=True,
                                blank=True, verbose_name=_("signed by"))
    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="contracts", null=True,
                                    blank=True, verbose_name=_("opportunity"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_contracts",
                              verbose_name=_("owner"), null=True, blank=True)
    customer_reference = models.CharField(_("customer's contract no."), max_length=64, blank=True,
                                          help_text=_("The number the customer gives this contract."))
    amount = models.DecimalField(_("amount"), default=Decimal(0), validators=[MinValueValidator(Decimal(0))],
                                 max_digits=19, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    payment_terms = models.CharField(_("payment terms"), max_length=200, blank=True,
                                     help_text=_("E.g. 30% in advance, 70% within 30 days of acceptance."))
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.DRAFT)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    renewal_notice_days = models.PositiveIntegerField(_("renewal reminder (days before end)"), default=30)
    renewal_reminded_at = models.DateTimeField(_("renewal reminder sent at"), null=True, blank=True, editable=False)
    signed_document = models.ForeignKey("timeline.Attachment", on_delete=models.SET_NULL, related_name="+",
                                        null=True, blank=True, verbose_name=_("signed document"))
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True, editable=False)
    termination_reason = models.TextField(_("termination reason"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-pk"]
        permissions = [("export_contract", _("Can export contracts")),
                       ("import_contract", _("Can import contracts")),
                       ("activate_contract", _("Can activate contracts")),
                       ("terminate_contract", _("Can terminate contracts"))]
        constraints = [models.CheckConstraint(
            condition=models.Q(end_date__gte=models.F("start_date")), name="crm_contract_dates_order",
            violation_error_message=_("The end date may not be before the start date."))]
        indexes = [models.Index(fields=["status", "end_date"], name="crm_contract_status_end_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

"""Accounts and contacts: the parties every other module refers to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bizloom.crm.duplicates import company_key
from bizloom.platform.customfields.models import CustomFieldsMixin


class Tag(models.Model):
    """A free label on accounts (``Account.tags``); names are unique ignoring case."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Account(CustomFieldsMixin, models.Model):
    """A company we sell to or buy from (customer and/or supplier flags); has custom fields."""

    class Industry(models.TextChoices):
        MANUFACTURING = "manufacturing", _("Manufacturing")
        WHOLESALE = "wholesale", _("Wholesale and retail")
        SOFTWARE = "software", _("Software and IT")
        CONSTRUCTION = "construction", _("Construction")
        LOGISTICS = "logistics", _("Logistics")
        HEALTHCARE = "healthcare", _("Healthcare")
        EDUCATION = "education", _("Education")
        FINANCE = "finance", _("Finance")
        OTHER = "other", _("Other")

    class Size(models.TextChoices):
        MICRO = "micro", _("1–9 employees")
        SMALL = "small", _("10–49 employees")
        MEDIUM = "medium", _("50–199 employees")
        LARGE = "large", _("200–999 employees")
        ENTERPRISE = "enterprise", _("1,000+ employees")

    class Tier(models.TextChoices):
        A = "a", _("A (key account)")
        B = "b", _("B")
        C = "c", _("C")

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("tax id"), max_length=32, blank=True,
                            help_text=_("Unified social credit code or foreign tax id."))
    industry = models.CharField(_("industry"), max_length=32, choices=Industry, blank=True)
    size = models.CharField(_("company size"), max_length=16, choices=Size, blank=True)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier, default=Tier.C)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    annual_revenue = models.DecimalField(_("annual revenue"), max_digits=19, decimal_places=4, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_customer = models.BooleanField(_("customer"), default=True)
    is_supplier = models.BooleanField(_("supplier"), default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_accounts",
                              verbose_name=_("owner"), null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, related_name="children", null=True, blank=True,
                               verbose_name=_("parent account"))
    billing_address = models.TextField(_("billing address"), blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    tags = models.ManyToManyField(Tag, related_name="accounts", blank=True, verbose_name=_("tags"))
    account_plan = models.TextField(_("account plan"), blank=True,
                                    help_text=_("Goals, strategy and next steps for a key account."))
    notes = models.TextField(_("notes"), blank=True)
    name_key = models.CharField(_("name matching key"), max_length=200, blank=True, editable=False,
                                db_index=True, help_text=_("The name as the duplicate rules compare it."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Derived from the name on every save: not a change anyone made.
    audit_ignore = frozenset({"name_key"})

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "pk"]
        permissions = [("export_account", _("Can export accounts")), ("import_account", _("Can import accounts"))]
        indexes = [models.Index(fields=["name"], name="crm_account_name_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``name_key`` (``duplicates.company_key`` of the name) so a new account's
        look-alikes are found by an indexed query rather than by folding every name."""
        self.name_key = company_key(self.name)[:200]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)


class Contact(CustomFieldsMixin, models.Model):
    """A person at an account (issue #4); has custom fields.

    ``account`` is the primary account; ``accounts`` links further ones (the primary is not
    repeated there). Phones are stored in E.164 and emails lower-cased: the services normalise
    them at entry. ``consent_*_at`` say when a consent was last given (None while it is off);
    the services set them, clients never do.
    """

    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contacts", null=True, blank=True,
                                verbose_name=_("account"), help_text=_("The primary account."))
    accounts = models.ManyToManyField(Account, related_name="linked_contacts", blank=True,
                                      verbose_name=_("other accounts"))
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    phone = models.CharField(_("office phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    consent_email = models.BooleanField(_("email consent"), default=False)
    consent_email_at = models.DateTimeField(_("email consent given at"), null=True, blank=True, editable=False)
    consent_sms = models.BooleanField(_("SMS consent"), default=False)
    consent_sms_at = models.DateTimeField(_("SMS consent given at"), null=True, blank=True, editable=False)
    is_key_contact = models.BooleanField(_("key contact"), default=False,
                                         help_text=_("A decision maker or influencer in the account plan."))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_contacts",
                              verbose_name=_("owner"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name", "pk"]
        permissions = [("export_contact", _("Can export contacts")), ("import_contact", _("Can import contacts"))]
        # Email and phones are how the duplicate rules find a contact's look-alikes.
        indexes = [models.Index(fields=["name"], name="crm_contact_name_idx"),
                   models.Index(fields=["email"], name="crm_contact_email_idx"),
                   models.Index(fields=["mobile"], name="crm_contact_mobile_idx"),
                   models.Index(fields=["phone"], name="crm_contact_phone_idx")]

    def __str__(self) -> str:
        return self.name

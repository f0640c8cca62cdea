"""Demo data of the duplicate queue: a few deliberate duplicate accounts (same tax id) and contacts
(typed another way, as happens when two reps enter the same customer), then a scan, so the
"Possible duplicates" page is not empty."""

from __future__ import annotations

from django.db.models import Count

from bizloom.crm import services as crm_services
from bizloom.crm.merging import queue
from bizloom.crm.models import Account, Contact
from bizloom.platform import demo

demo.grant("manager", "crm.view_duplicatepair", "crm.add_duplicatepair", "crm.change_duplicatepair")
demo.grant("sales", "crm.view_duplicatepair")

DUPLICATE_ACCOUNTS = 3
DUPLICATE_CONTACTS = 2


@demo.builder("crm.duplicates", order=70)
def build_duplicates(ctx: demo.DemoContext) -> None:
    """Give a few accounts the tax id of another (the same company entered twice under its old and
    new name) and re-enter a few contacts (mobile written with +86 and spaces, email in capitals),
    then scan for duplicates. No account is added, so the account book keeps its size."""
    actor = ctx.users["admin"]
    accounts = list(Account.objects.filter(code__startswith="91").order_by("pk"))
    chosen = ctx.rng.sample(accounts, min(2 * DUPLICATE_ACCOUNTS, len(accounts) - len(accounts) % 2))
    for original, renamed in zip(chosen[::2], chosen[1::2], strict=True):
        crm_services.update_account(renamed, {"code": original.code}, actor=actor)
    contacts = list(Contact.objects.exclude(mobile="").exclude(email="").filter(account__isnull=False)
                    .annotate(siblings=Count("account__contacts")).filter(siblings__lt=3).order_by("pk"))
    for contact in ctx.rng.sample(contacts, min(DUPLICATE_CONTACTS, len(contacts))):
        national = contact.mobile.removeprefix("+86")
        crm_services.create_contact({
            "name": contact.name, "position": contact.position, "account": contact.account,
            "email": contact.email.upper(), "mobile": f"+86 {national[:3]} {national[3:7]} {national[7:]}",
            "owner": contact.owner or actor}, actor=actor, allow_duplicate=True)
    found = queue.scan_duplicates()
    ctx.created("possible duplicates", sum(found.values()))

"""Reactions of the duplicate queue to records being created.

Subscribed **async** (through the outbox, after commit): matching a new account by company name
compares it with every account (names are folded in Python, their keys are not stored), which
must not slow down or ever refuse creating the account; a lost or failed delivery is retried by
the outbox and anything still missed is found by the nightly scan.
"""

from __future__ import annotations

from bizloom.crm.events import AccountCreated, ContactCreated
from bizloom.crm.merging import jobs
from bizloom.platform.events import subscribe


def account_created(event: AccountCreated) -> None:
    """Queue the new account's likely duplicates."""
    jobs.on_record_created("account", event.account_id)


def contact_created(event: ContactCreated) -> None:
    """Queue the new contact's likely duplicates."""
    jobs.on_record_created("contact", event.contact_id)


def register() -> None:
    """Subscribe the handlers (called from ``registry.register``)."""
    subscribe(AccountCreated, account_created, mode="async", name="crm.merging.account_created")
    subscribe(ContactCreated, contact_created, mode="async", name="crm.merging.contact_created")

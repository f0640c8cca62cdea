"""Reactions of the duplicate queue to records being created.

Subscribed **async** (through the outbox, after commit): looking up and comparing a new record's
look-alikes must not slow down or ever refuse creating it; a lost or failed delivery is retried by
the outbox and anything still missed is found by the nightly scan.

Each subscription also has a batch handler: after an import the worker delivers up to
``events.services.BATCH_SIZE`` new records' messages in one call, which looks their candidates
up together (``queue.scan_records``) and stores what the one-record handler would for each.
"""

from __future__ import annotations

from bizloom.crm.events import AccountCreated, ContactCreated
from bizloom.crm.merging import jobs
from bizloom.platform.events import subscribe


def account_created(event: AccountCreated) -> None:
    """Queue the new account's likely duplicates."""
    jobs.on_record_created("account", event.account_id)


def accounts_created(events: list[AccountCreated]) -> None:
    """Queue the likely duplicates of several new accounts (as ``account_created`` for each)."""
    jobs.on_records_created("account", [event.account_id for event in events])


def contact_created(event: ContactCreated) -> None:
    """Queue the new contact's likely duplicates."""
    jobs.on_record_created("contact", event.contact_id)


def contacts_created(events: list[ContactCreated]) -> None:
    """Queue the likely duplicates of several new contacts (as ``contact_created`` for each)."""
    jobs.on_records_created("contact", [event.contact_id for event in events])


def register() -> None:
    """Subscribe the handlers (called from ``registry.register``)."""
    subscribe(AccountCreated, account_created, mode="async", name="crm.merging.account_created",
              batch=accounts_created)
    subscribe(ContactCreated, contact_created, mode="async", name="crm.merging.contact_created",
              batch=contacts_created)

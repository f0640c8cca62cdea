"""The contracts' daily jobs: expire contracts past their end date, send renewal reminders."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from bizloom.platform import scheduler


@scheduler.periodic(every=timedelta(days=1), name="crm.expire_contracts")
@task()
def expire_contracts() -> int:
    """Move active contracts whose end date has passed to expired; returns how many."""
    from bizloom.crm.contracts import services

    return services.expire_contracts()


@scheduler.periodic(every=timedelta(days=1), name="crm.contract_renewal_reminders")
@task()
def send_contract_renewal_reminders() -> int:
    """Remind owners of active contracts that reach their renewal date (once each); returns how many."""
    from bizloom.crm.contracts import services

    return services.send_renewal_reminders()

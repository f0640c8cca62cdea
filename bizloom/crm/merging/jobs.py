"""Background work of the duplicate queue: the nightly scan and the check of new records.

Registered with the scheduler from ``registry.register`` (job ``crm.scan_duplicates``, daily).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django_tasks import task

from bizloom.crm.merging import queue
from bizloom.crm.merging.services import MERGEABLE

SCAN_EVERY = timedelta(days=1)


@task()
def scan_duplicates() -> dict[str, int]:
    """Scan accounts, contacts and leads for new candidate pairs; returns how many were added."""
    return queue.scan_duplicates()


def on_record_created(kind: str, pk: int) -> int:
    """Store the candidate pairs of a just-created record (``kind``: account, contact, lead)."""
    return queue.scan_record(MERGEABLE[kind], pk)


def on_records_created(kind: str, pks: Sequence[int]) -> int:
    """:func:`on_record_created` for each of ``pks`` in turn, with a few queries for all of them."""
    return queue.scan_records(MERGEABLE[kind], pks)

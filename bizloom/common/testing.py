"""Support for tests that need real concurrency: several threads, each on its own database connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def run_together(count: int, work: Callable[[int], T], *, timeout: float = 60) -> tuple[list[T | None],
                                                                                       list[BaseException]]:
    """Call ``work(0)`` … ``work(count - 1)`` on ``count`` threads released at the same moment (a barrier).

    Each thread has its own database connections (Django's are per thread), closed when it ends,
    so the calls race as separate processes would. Returns each call's result by index (None
    where it raised) and what the calls raised, for the test to assert on.
    """
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,), name=f"race-{index}") for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * 2)
    return results, errors

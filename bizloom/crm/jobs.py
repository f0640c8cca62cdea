"""The CRM's periodic jobs: each area declares its own in ``bizloom/crm/<area>/jobs.py``
(with ``@scheduler.periodic``); this module, which the scheduler imports, imports them."""

from __future__ import annotations

import importlib
import importlib.util

AREAS = ("pipeline", "forecast", "leads", "merging", "activities", "contracts")

for _area in AREAS:
    _name = f"bizloom.crm.{_area}.jobs"
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name)

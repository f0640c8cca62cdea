"""REST API of this area, mounted under /api/v1/crm/ by ``bizloom.crm.api``."""

from ninja import Router

router = Router(tags=["crm"])

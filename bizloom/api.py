"""The REST API: one NinjaAPI at /api/v1/; each app mounts its router here.

Authentication is a personal bearer token (``integration.ApiToken``) or the browser
session with CSRF; operations opt out with ``auth=None`` (health). Every error is
``application/problem+json`` (see ``bizloom.platform.api.problem``).

A new app adds ``router = Router(tags=["<app>"])`` in ``<app>/api.py`` and one line
below: ``api.add_router("/<app>/", "bizloom.<app>.api.router")``.
"""

from bizloom.integration.services import authenticate_token
from bizloom.platform.api.auth import BearerTokenAuth, SessionAuth
from bizloom.platform.api.core import BizloomAPI

api = BizloomAPI(
    title="Bizloom API",
    version="1",
    description="CRM and ERP in one system. Authenticate with `Authorization: Bearer <token>` "
                "(create tokens under Settings → API tokens) or the browser session with CSRF. "
                "Errors are application/problem+json (RFC 9457).",
    urls_namespace="api",
    # Bearer first: a request carrying a token never needs the session's CSRF check.
    auth=[BearerTokenAuth(authenticate_token), SessionAuth(csrf=True)],
)

api.add_router("/", "bizloom.platform.api.system.router")
api.add_router("/crm/", "bizloom.crm.api.router")
api.add_router("/integration/", "bizloom.integration.imports.api.router")

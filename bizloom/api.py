"""The REST API: one NinjaAPI at /api/v1/, each app mounts its router here."""

from ninja import NinjaAPI

api = NinjaAPI(title="Bizloom API", version="1", urls_namespace="api")

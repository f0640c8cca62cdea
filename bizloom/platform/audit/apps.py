from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

TRIGGER_MIGRATION = "0002_append_only_triggers"


def ensure_triggers(using: str = "default", **kwargs: Any) -> None:
    """Re-install the append-only triggers after every migrate (and flush).

    SQLite rebuilds a table to alter it, which drops its triggers; installing them is
    idempotent, so doing it after each migrate keeps them in place whatever a later
    migration does to the table.
    """
    from django.db.migrations.recorder import MigrationRecorder

    from bizloom.platform.audit import triggers

    connection = connections[using]
    if (triggers.TABLE in connection.introspection.table_names()
            and ("audit", TRIGGER_MIGRATION) in MigrationRecorder(connection).applied_migrations()):
        triggers.install(connection)


class AuditConfig(AppConfig):
    name = "bizloom.platform.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from bizloom.platform.audit.timeline import audit_timeline
        from bizloom.platform.detail import timeline

        timeline.register(audit_timeline)
        post_migrate.connect(ensure_triggers, sender=self, dispatch_uid="audit.ensure_triggers")

"""Audit entries lose the index of their record type alone: ``audit_entry_object_idx`` (record type,
record id) serves look-ups by type too, and every import wrote one index entry more per record.

Only the index is dropped (SeparateDatabaseAndState): an ``AlterField`` would make SQLite rebuild the
table, and the rebuilt table would lose the append-only triggers of migration 0002.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "audit_auditentry_content_type_id_3fc095fb"


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_append_only_triggers"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  f'CREATE INDEX "{INDEX}" ON "audit_auditentry" ("content_type_id")'),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="content_type",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="contenttypes.contenttype",
                                            verbose_name="record type"),
                ),
            ],
        ),
    ]

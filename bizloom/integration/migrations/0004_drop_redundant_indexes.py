"""Per-row import results lose the index of their batch alone: the unique (batch, number) constraint's
index serves look-ups by batch too, and every import wrote one index entry more per row.

Only the index is dropped (SeparateDatabaseAndState): an ``AlterField`` would make SQLite copy the table.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "integration_importbatchrow_batch_id_d94364fd"


class Migration(migrations.Migration):

    dependencies = [
        ("integration", "0003_importbatch_pruned_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  f'CREATE INDEX "{INDEX}" ON "integration_importbatchrow" ("batch_id")'),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="importbatchrow",
                    name="batch",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="rows", to="integration.importbatch",
                                            verbose_name="batch"),
                ),
            ],
        ),
    ]

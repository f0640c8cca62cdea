# Reserved for later changes to this area's models (kept linear so areas never conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_pipeline")]

    operations: list[migrations.operations.base.Operation] = []

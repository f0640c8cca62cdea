"""Refuse UPDATE and DELETE of audit entries in the database itself (issue #3)."""

from django.db import migrations


def install(apps, schema_editor):
    from bizloom.platform.audit import triggers

    triggers.install(schema_editor.connection)


def remove(apps, schema_editor):
    from bizloom.platform.audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove, elidable=False)]

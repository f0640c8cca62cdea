"""The pipeline area (issue #4): ``Opportunity.next_step``, and the default pipeline with its
stages and the common loss reasons, so that a fresh installation can sell at once."""

from typing import Any

from django.db import migrations, models

# The same lists seed a database emptied later (``ensure_defaults``, after every migrate/flush).
from bizloom.crm.pipeline.defaults import DEFAULT_LOSS_REASONS, DEFAULT_STAGES


def create_default_pipeline(apps: Any, schema_editor: Any) -> None:
    """New business / 新业务 / 新業務 with six stages, and the common loss reasons (only on an
    empty installation: nothing is created when pipelines or loss reasons exist)."""
    Pipeline = apps.get_model("crm", "Pipeline")
    Stage = apps.get_model("crm", "Stage")
    LossReason = apps.get_model("crm", "LossReason")
    db = schema_editor.connection.alias
    if not Pipeline.objects.using(db).exists():
        pipeline = Pipeline.objects.using(db).create(name="New business", name_zh_hans="新业务",
                                                     name_zh_hant="新業務", is_default=True, position=0)
        Stage.objects.using(db).bulk_create([
            Stage(pipeline=pipeline, name=en, name_zh_hans=hans, name_zh_hant=hant, kind=kind, probability=p,
                  position=(i + 1) * 10)
            for i, (en, hans, hant, kind, p) in enumerate(DEFAULT_STAGES)])
    if not LossReason.objects.using(db).exists():
        LossReason.objects.using(db).bulk_create([
            LossReason(name=en, name_zh_hans=hans, name_zh_hant=hant) for en, hans, hant in DEFAULT_LOSS_REASONS])


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_pipeline_leads_activities_contracts")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="opportunity",
            name="next_step",
            field=models.CharField(blank=True, help_text="What happens next, e.g. “Send the revised quote by Friday”.",
                                   max_length=200, verbose_name="next step"),
        ),
        migrations.RunPython(create_default_pipeline, migrations.RunPython.noop),
    ]

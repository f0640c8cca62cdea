# Accounts and contracts (issue #4): the customer's contract number, payment terms, the
# activate/terminate permissions of contracts and a readable message for the date-order
# constraint. Written by hand (the chain 0006→0009 is linear).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_activities")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterModelOptions(
            name="contract",
            options={
                "ordering": ["-start_date", "-pk"],
                "permissions": [
                    ("export_contract", "Can export contracts"),
                    ("import_contract", "Can import contracts"),
                    ("activate_contract", "Can activate contracts"),
                    ("terminate_contract", "Can terminate contracts"),
                ],
                "verbose_name": "contract",
                "verbose_name_plural": "contracts",
            },
        ),
        migrations.AddField(
            model_name="contract",
            name="customer_reference",
            field=models.CharField(blank=True, help_text="The number the customer gives this contract.",
                                   max_length=64, verbose_name="customer's contract no."),
        ),
        migrations.AddField(
            model_name="contract",
            name="payment_terms",
            field=models.CharField(blank=True, help_text="E.g. 30% in advance, 70% within 30 days of acceptance.",
                                   max_length=200, verbose_name="payment terms"),
        ),
        migrations.AlterConstraint(
            model_name="contract",
            name="crm_contract_dates_order",
            constraint=models.CheckConstraint(condition=models.Q(("end_date__gte", models.F("start_date"))),
                                              name="crm_contract_dates_order",
                                              violation_error_message="The end date may not be before the start date."),
        ),
    ]

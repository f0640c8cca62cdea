"""Transactional tests that write audit entries can still be cleaned up (pytest plugin)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry

# The platform layer may not import crm statically (import-linter); any business model will do.
Account = apps.get_model("crm", "Account")

PLUGIN = "bizloom.platform.audit.pytest_plugin"


@pytest.fixture
def needs_plugin(request):
    if not request.config.pluginmanager.has_plugin(PLUGIN):
        pytest.skip(f"run with -p {PLUGIN}")


@pytest.mark.django_db(transaction=True)
def test_transactional_test_writes_an_entry(needs_plugin):
    # when
    account = Account.objects.create(name="Acme")
    audit.record_change(account, actor=None, action="create", before=None, after={"name": "Acme"})
    # then
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_next_test_starts_empty_and_triggers_are_back(needs_plugin):
    # given
    account = Account.objects.create(name="Acme")
    entry = audit.record_change(account, actor=None, action="create", before=None, after={"name": "Acme"})
    # when
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    # then
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [entry.pk]

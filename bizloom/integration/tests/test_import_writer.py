"""The import's background writer (issue #5): rows written on a second thread, exactly as if in line.

Each test checks what a user of the engine relies on: a group's rows are there once it is
settled, keys handed out ahead never collide with rows written meanwhile, a failed group leaves
nothing behind and the import falls back to creating its rows one by one, callbacks see the
rows, and no query of the engine's thread reads a half-written group.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from bizloom.crm.models import Contact
from bizloom.integration.imports import declarations
from bizloom.integration.imports.writer import BackgroundWriter
from bizloom.integration.tests.test_import_declarations import (
    CONTACT_HEADER,
    CONTACT_ROWS,
    accounts,  # noqa: F401 - fixture
    csv_bytes,
    importer,  # noqa: F401 - fixture
    outcomes,
    run,
    upload,
)
from bizloom.platform.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("writer", "writer@example.com", "pw")


def contacts(owner: User, count: int, prefix: str = "客户") -> list[Contact]:
    return [Contact(name=f"{prefix}{i}", email=f"{prefix.lower()}{i}@example.com", owner=owner) for i in range(count)]


def test_a_settled_group_is_written_with_the_keys_it_handed_out(owner):
    # given
    with transaction.atomic(), BackgroundWriter(Contact) as writer:
        group = writer.group()
        new = contacts(owner, 500)
        # when
        group.insert(Contact, new)
        writer.submit(group)
        error = writer.settle()
        # then
        assert error is None
        assert {c.pk: c.name for c in new} == dict(Contact.objects.values_list("pk", "name"))
        assert [c.pk for c in new] == sorted(c.pk for c in new)


def test_queries_of_the_engine_thread_wait_for_the_group_in_flight(owner):
    # given: a large group handed to the writer
    with transaction.atomic(), BackgroundWriter(Contact) as writer:
        group = writer.group()
        group.insert(Contact, contacts(owner, 3000))
        writer.submit(group)
        # when: the engine's thread counts at once, before settling
        counted = Contact.objects.count()
        # then: it saw the whole group, never part of it
        assert counted == 3000
        assert writer.settle() is None


def test_rows_written_meanwhile_get_keys_outside_the_reserved_block(owner):
    # given: keys handed out for a group that is not written yet
    with transaction.atomic(), BackgroundWriter(Contact) as writer:
        group = writer.group()
        new = contacts(owner, 50)
        group.insert(Contact, new)
        # when: the ORM writes a contact before the group goes to the writer
        other = Contact.objects.create(name="插队的", owner=owner)
        writer.submit(group)
        # then: no collision, everything is there
        assert writer.settle() is None
        assert other.pk not in {c.pk for c in new}
        assert Contact.objects.count() == 51


def test_a_failed_group_leaves_none_of_its_rows_and_the_transaction_goes_on(owner):
    # given: a group whose second statement breaks a NOT NULL rule
    with transaction.atomic(), BackgroundWriter(Contact) as writer:
        group = writer.group()
        group.insert(Contact, contacts(owner, 20))
        broken = contacts(owner, 1, "坏")
        broken[0].name = None
        group.insert(Contact, broken)
        # when
        writer.submit(group)
        error = writer.settle()
        # then: nothing of it was written, and the connection still works in the same transaction
        assert isinstance(error, DatabaseError)
        assert Contact.objects.count() == 0
        Contact.objects.create(name="之后的", owner=owner)
        assert Contact.objects.count() == 1


def test_callbacks_see_the_rows_and_a_failing_callback_undoes_the_group(owner):
    seen: list[int] = []
    with transaction.atomic(), BackgroundWriter(Contact) as writer:
        # given: a group whose callback counts the rows
        group = writer.group()
        group.insert(Contact, contacts(owner, 10))
        group.after_write(lambda: seen.append(Contact.objects.count()))
        writer.submit(group)
        # when / then
        assert writer.settle() is None
        assert seen == [10]
        # given: a second group whose callback refuses
        group = writer.group()
        group.insert(Contact, contacts(owner, 5, "后"))

        def refuse() -> None:
            raise DatabaseError("a synchronous handler refused")

        group.after_write(refuse)
        writer.submit(group)
        # when / then: the second group is undone, the first stays
        assert isinstance(writer.settle(), DatabaseError)
        assert Contact.objects.count() == 10


def test_an_import_whose_writes_fail_on_the_writer_creates_its_rows_one_by_one(importer, accounts, monkeypatch):  # noqa: F811
    # given: bulk_save queues rows the database refuses (a contact without a name), so the group fails on the writer
    spec = declarations.get_declaration("crm.contact")

    def failing_later(records: list[Contact], actor: Any, writes: Any) -> None:
        assert spec.bulk_save is not None
        spec.bulk_save(records, actor, writes)
        writes.insert(Contact, [Contact(name=None, owner=actor)])

    monkeypatch.setitem(declarations._REGISTRY, "crm.contact", dataclasses.replace(spec, bulk_save=failing_later))
    # when
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS[:2]), "crm.contact"), importer,
                dry_run=False)
    # then: each row was created through the service instead, once
    assert outcomes(batch) == {2: ("create", []), 3: ("create", [])}
    assert sorted(Contact.objects.values_list("name", flat=True)) == sorted(["张伟", "李娜"])
    assert {o.object_id for o in batch.rows.all()} == {str(pk) for pk in Contact.objects.values_list("pk", flat=True)}


def test_a_large_import_refreshes_the_postgresql_statistics_of_what_it_filled(importer, accounts, monkeypatch):  # noqa: F811
    # given: an import big enough to be "large" (the threshold lowered for the test)
    from django.db import connection

    from bizloom.integration.imports import services

    if connection.vendor != "postgresql":
        pytest.skip("SQLite's planner keeps no statistics that go stale this way")
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 2)
    # when
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS[:2]), "crm.contact"), importer,
                dry_run=False)
    # then: the planner's row count of the contact table is the real one (ANALYZE ran)
    assert batch.created_count == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'crm_contact'")
        assert cursor.fetchone()[0] == Contact.objects.count()


def test_the_real_run_replaces_the_dry_runs_results_and_a_failed_replacement_fails_the_run(importer, accounts,  # noqa: F811
                                                                                          monkeypatch):
    from bizloom.integration.imports import engine
    from bizloom.integration.models import ImportBatch, ImportBatchRow

    # given: a dry run's results
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS[:2]), "crm.contact"), importer, dry_run=True)
    assert ImportBatchRow.objects.filter(batch=batch).count() == 2
    # when: the real run, whose first writes on the writer fail (a result row without its number)
    real_process = engine.Engine.process

    def failing_first(self: Any, rows: Any, **kwargs: Any) -> Any:
        assert kwargs["first"] is not None  # the real run deletes the old results on the writer
        assert kwargs["results"] is not None  # and stores its own there
        kwargs["first"] = lambda writes: writes.insert_values(
            ImportBatchRow, ("batch", "number", "outcome", "object_id", "label", "note", "errors"),
            [(batch.pk, None, "create", "", "", "", [])])
        return real_process(self, rows, **kwargs)

    monkeypatch.setattr(engine.Engine, "process", failing_first)
    failed = run(batch, importer, dry_run=False)
    # then: nothing of the run remains, the dry run's results are kept, and the batch says it failed
    assert failed.status == ImportBatch.Status.FAILED
    assert not Contact.objects.exists()
    assert ImportBatchRow.objects.filter(batch=batch).count() == 2
    # and without the failure the real run's results replace the dry run's, once per row
    monkeypatch.undo()
    batch.refresh_from_db()
    done = run(batch, importer, dry_run=False)
    assert done.status == ImportBatch.Status.DONE
    created = dict(Contact.objects.values_list("name", "pk"))
    assert sorted(ImportBatchRow.objects.filter(batch=batch).values_list("number", "outcome", "object_id")) == [
        (2, "create", str(created["张伟"])), (3, "create", str(created["李娜"]))]


def test_results_stored_with_a_group_that_fails_are_stored_again(importer, accounts, monkeypatch):  # noqa: F811
    # given: one row per chunk (each group also stores the results of the chunk before), and the
    # second group fails on the writer
    from bizloom.integration.imports import engine
    from bizloom.integration.models import ImportBatchRow

    monkeypatch.setenv(engine.CHUNK_ENV, "1")
    spec = declarations.get_declaration("crm.contact")
    calls: list[int] = []

    def second_fails(records: list[Any], actor: Any, writes: Any) -> None:
        assert spec.bulk_save is not None
        spec.bulk_save(records, actor, writes)
        calls.append(len(records))
        if len(calls) == 2:
            writes.insert(Contact, [Contact(name=None, owner=actor)])

    monkeypatch.setitem(declarations._REGISTRY, "crm.contact", dataclasses.replace(spec, bulk_save=second_fails))
    # when
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, [CONTACT_ROWS[0], CONTACT_ROWS[1], CONTACT_ROWS[5]]),
                       "crm.contact"), importer, dry_run=False)
    # then: every row's result is stored once, with the record it created (row 4 duplicates row 2's phone)
    created = dict(Contact.objects.values_list("name", "pk"))
    assert sorted(ImportBatchRow.objects.filter(batch=batch).values_list("number", "outcome", "object_id")) == [
        (2, "create", str(created["张伟"])), (3, "create", str(created["李娜"])),
        (4, "duplicate", str(created["张伟"]))]
    assert len(calls) == 2

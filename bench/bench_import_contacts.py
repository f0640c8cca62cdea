"""Import speed (issue #5: 100,000 contacts against 100,000 existing ones, ≥ 20,000 rows/s).

The real import path, as the worker runs it: a CSV file (UTF-8) of new contacts uploaded as a
batch, mapped automatically from its Chinese headers, then a dry run and the real run of the
whole file — reading, mapping, building values (account by name among 2,000 readable
accounts, owner), the contact services' normalisation and validation, duplicate matching by
email and phone against the existing contacts and the rows above, bulk insert with audit
entries and events, and the per-row results. The importer holds a role (scope "all"), so
access rules are applied as for any user.

The file mixes what real files hold: ~2% duplicates of existing contacts (same email or a
phone written another way), ~1% duplicates inside the file, ~1% invalid e-mail addresses,
~0.5% unknown accounts. One JSON line per run (``import_contacts_dry_run``,
``import_contacts_real_run``) with rows/s and the outcome counts.

The import's ContactCreated events reach their async handlers (the duplicate queue's
per-contact scan, issue #4) through the outbox, which the worker delivers after the import
commits, as separate ``deliver_outbox`` tasks. The benchmark uses the immediate task backend,
which would run those deliveries inside the timed call; it collects them instead (what the
database backend does: one queued task per outbox row, which carries up to 100 events) and
measures them apart, on a sample, in a third line (``import_contacts_outbox_delivery``: ms per
event, projected seconds).
``cpu_seconds`` is this process's CPU time for the run (the database server's is not in it): on
a machine shared with other work it shows what the wall-clock figure lost to waiting.
``phases`` are the seconds of the run's phases, as the worker logs them (the duplicate index, the
rows, the commit or rollback, the dry run's results, ``ANALYZE``). ``reference_seconds`` is this
machine's time for a fixed piece of Python work that does not change with the code
(``harness.reference_seconds``): the same code runs at different speeds on different machines of
the same kind, and figures from two machines compare by it.

Environment: ``BENCH_ROWS`` (default 100000) rows in the file and existing contacts;
``BENCH_IMPORT_MODE=rowwise`` runs the same file through ``create_contact`` row by row
(each in a savepoint) instead of the bulk path — what the engine did before the fast path.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import random
import tempfile
import time

from harness import reference_seconds, report, setup_django

ROWS = int(os.environ.get("BENCH_ROWS") or 100_000)
ACCOUNTS = 2_000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲"
POSITIONS = ["采购经理", "总经理", "财务总监", "销售代表", "技术总监", "行政主管", "Purchasing Manager", ""]


def main() -> None:
    database = setup_django()
    from django.conf import settings
    from django.contrib.auth.models import Group, Permission

    from bizloom.crm.models import Account, Contact
    from bizloom.integration.imports import declarations, services
    from bizloom.integration.models import ImportBatch
    from bizloom.platform.models import User

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bizloom-bench-import-")
    rng = random.Random(5)
    role = Group.objects.create(name="importer")
    role.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=[
        "view_contact", "add_contact", "change_contact", "delete_contact", "import_contact", "view_account"]))
    user = User.objects.create_user("bench", "bench@example.com", "bench-password")
    user.groups.add(role)
    user = User.objects.get(pk=user.pk)

    accounts = Account.objects.bulk_create(
        [Account(name=f"{rng.choice(['华东', '华南', '远航', '云启', '星辰', '月光'])}{i:05d}贸易有限公司", owner=user)
         for i in range(ACCOUNTS)], batch_size=2000)
    account_names = [a.name for a in accounts]

    def person(i: int) -> str:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else "")

    # Existing contacts, stored as the services store them (E.164 phones, lower-case emails).
    existing = [Contact(name=person(i), email=f"old{i}@example.com", mobile=f"+86139{i:08d}", owner=user,
                        account_id=accounts[i % ACCOUNTS].pk) for i in range(ROWS)]
    Contact.objects.bulk_create(existing, batch_size=5000)

    header = ["姓名", "客户", "职位", "手机", "邮箱", "备注"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for i in range(ROWS):
        roll = rng.random()
        mobile, email = f"138 {i // 10000:04d} {i % 10000:04d}", f"New.User{i}@Example.com"
        account = rng.choice(account_names) if i % 2 else ""
        if roll < 0.01:                       # same email as an existing contact
            email = f"OLD{rng.randrange(ROWS)}@example.com"
        elif roll < 0.02:                     # same mobile as an existing contact, written another way
            mobile = f"+86 139 {rng.randrange(ROWS):08d}"
        elif roll < 0.03 and i > 10:          # the same person as a row above
            email = f"new.user{i - 7}@example.com"
        elif roll < 0.04:
            email = f"user{i}@@example"      # invalid
        elif roll < 0.045:
            account = "没有这家公司"          # unknown account
        writer.writerow([person(i), account, rng.choice(POSITIONS), mobile, email, f"第{i}行"])
    content = buffer.getvalue().encode("utf-8")

    mode = os.environ.get("BENCH_IMPORT_MODE", "bulk")
    if mode == "rowwise":
        spec = declarations.get_declaration("crm.contact")
        declarations.register(dataclasses.replace(spec, prepare=None, bulk_save=None))

    # Outbox deliveries the import enqueues after commit: collected, delivered apart (see the docstring).
    from bizloom.platform.events import base as events_base

    deferred: list[int] = []
    events_base.enqueue_delivery = lambda message_ids=None: deferred.extend(message_ids or ())  # type: ignore[assignment]

    machine = reference_seconds()
    phases: list[dict[str, float]] = []  # each run's phases, from the worker's log line

    class Phases(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if hasattr(record, "import_phases"):
                phases.append(record.import_phases)

    logging.getLogger("bizloom.imports").addHandler(Phases(logging.INFO))
    logging.getLogger("bizloom.imports").setLevel(logging.INFO)
    batch = services.upload_batch(iter([content]), filename="contacts.csv", declaration="crm.contact", actor=user)
    assert batch.mapping == {"姓名": "name", "客户": "account", "职位": "position", "手机": "mobile", "邮箱": "email",
                             "备注": "notes"}, batch.mapping
    for dry_run in (True, False):
        started, cpu = time.perf_counter(), time.process_time()
        services.start_run(batch, dry_run=dry_run, actor=user)  # immediate task backend: runs on commit, here
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        batch = ImportBatch.objects.get(pk=batch.pk)
        assert batch.status == ("dry_run_done" if dry_run else "done"), batch.error
        report(workload=f"import_contacts_{'dry' if dry_run else 'real'}_run", mode=mode, rows=batch.rows_total,
               existing=ROWS, database=database, seconds=round(elapsed, 2),
               rows_per_second=round(batch.rows_total / elapsed), cpu_seconds=round(cpu, 2),
               created=batch.created_count, duplicates=batch.skipped_count, errors=batch.error_count,
               reference_seconds=machine, phases=phases[-1] if phases else None)
    assert Contact.objects.count() == ROWS + batch.created_count
    from django.db.models import Sum

    from bizloom.platform.events import services as outbox
    from bizloom.platform.events.models import OutboxMessage

    # Each outbox row carries up to BATCH_SIZE events (publish_many): the sample is rows enough for
    # about BENCH_OUTBOX_SAMPLE events, each row delivered by its own task as the worker does.

    wanted = int(os.environ.get("BENCH_OUTBOX_SAMPLE") or 1000)
    sample = deferred[:max(1, wanted // outbox.BATCH_SIZE)]
    events = OutboxMessage.objects.filter(pk__in=deferred).aggregate(n=Sum("event_count"))["n"] or 0
    started = time.perf_counter()
    delivered = sum(outbox.deliver_due([pk]) for pk in sample)
    elapsed = time.perf_counter() - started
    per_event = elapsed / max(1, delivered)
    report(workload="import_contacts_outbox_delivery", rows=batch.rows_total, database=database, messages=len(deferred),
           events=events, sample_messages=len(sample), delivered_events=delivered,
           ms_per_event=round(per_event * 1000, 2), projected_seconds=round(per_event * events, 1))

if __name__ == "__main__":
    main()

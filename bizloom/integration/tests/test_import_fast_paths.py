"""The import's fast paths (issue #5) give exactly what the slow paths they skip give.

Each test runs the fast path and the general code on the same generated input: model
validation (``clean_fields`` vs ``Model.full_clean``), width folding, the audit entry of a new
record, the outbox payload, database value conversion and duplicate matching of a row given
as several sets of fields.
"""

from __future__ import annotations

import datetime as dt
import string
import warnings
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bizloom.crm.duplicates import RULE_ORDER, DuplicateIndex, person_key
from bizloom.crm.events import ContactCreated
from bizloom.crm.imports import CONTACT_FIELDS, _contact_variants, clean_fields, clean_values, new_contact
from bizloom.crm.models import Account, Contact
from bizloom.crm.normalize import _fold_width, fold_width
from bizloom.integration.imports import bulk
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events import publish_many
from bizloom.platform.events.base import _payload
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.models import User

HAN = "张王李赵伟芳娜敏华為技術贸易有限公司"
MARKS = "！（），：；？"
TEXT = st.text(alphabet=st.sampled_from([*string.printable, *HAN, *MARKS, "\u3000", "\uff21", "\uff11", "\u200b",
                                         "\x00", "\u00e9", "\u0301", "\uf900"]), max_size=40)
LONG_TEXT = st.one_of(TEXT, st.integers(95, 260).map(lambda n: "字" * n))
EMAILS = st.one_of(st.emails(), TEXT, st.sampled_from(["a@b.co", "A@B.CO", "x@@y", "new.user1@example.com",
                                                       "名字@例子.中国", "a" * 250 + "@b.cn"]))
SLOW_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def contact_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "name": LONG_TEXT, "position": LONG_TEXT, "department": LONG_TEXT, "mobile": TEXT, "phone": TEXT,
        "email": EMAILS, "wechat_id": LONG_TEXT, "notes": TEXT,
        "birthday": st.one_of(st.none(), st.dates(), st.sampled_from(["2024-03-05", "2024-13-01", ""]),
                              st.datetimes(timezones=st.just(dt.UTC))),
        "consent_email": st.one_of(st.booleans(), st.sampled_from([None, "", "1", "x"])),
        "consent_sms": st.booleans(),
        "consent_email_at": st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))),
        "custom_data": st.one_of(st.just({}), st.dictionaries(st.sampled_from(["a", "b"]), st.integers())),
    })


def full_clean_errors(contact: Contact, exclude: list[str]) -> dict[str, list[str]]:
    """What Django's own ``full_clean`` (fields only) reports, as ``{field: [messages]}``."""
    try:
        contact.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as failure:
        return failure.message_dict
    return {}


def state(contact: Contact) -> dict[str, Any]:
    return {key: value for key, value in contact.__dict__.items() if key != "_state"}


@SLOW_SETTINGS
@given(contact_values(), st.sampled_from([[], ["owner", "account"], ["name"]]))
@example({"name": "", "position": "", "department": "", "mobile": "", "phone": "", "email": "", "wechat_id": "",
          "notes": "", "birthday": None, "consent_email": False, "consent_sms": False, "consent_email_at": None,
          "custom_data": {}}, ["owner", "account"])
def test_clean_fields_reports_and_converts_what_full_clean_does(values, exclude):
    # given: two contacts with the same values
    fast, slow = Contact(**values), Contact(**values)
    # when
    fast_errors = clean_fields(fast, exclude)
    slow_errors = full_clean_errors(slow, exclude)
    # then: the same messages in the same order, and the same cleaned values
    assert fast_errors == slow_errors
    assert state(fast) == state(slow)


@SLOW_SETTINGS
@given(contact_values(), st.sampled_from([[], ["owner", "account"], ["name"]]),
       st.sets(st.sampled_from(["name", "email", "mobile", "birthday", "consent_email", "custom_data"])))
def test_clean_values_reports_and_converts_what_full_clean_does(values, exclude, changed):
    # given: a new contact's column values with some fields set, and the same contact as an instance
    slow = Contact(**{k: v for k, v in values.items() if k in changed})
    columns = {f.attname: getattr(slow, f.attname) for f in Contact._meta.concrete_fields}
    # when
    errors = clean_values(Contact, columns, exclude, changed)
    slow_errors = full_clean_errors(slow, exclude)
    # then: the same messages, and the values full_clean converted converted the same way
    assert errors == slow_errors
    assert columns == {f.attname: getattr(slow, f.attname) for f in Contact._meta.concrete_fields}


@given(st.one_of(TEXT, st.text(max_size=30), st.text(alphabet=HAN, max_size=12),
                 st.text(alphabet=string.ascii_letters + " ", max_size=20)))
@example(" Acme ")
@example("Acme  Ltd")
@example("华为")
@example("華為 技術")
@example("a\tb")
@example("\uf900")
def test_fold_width_fast_paths_equal_the_general_fold(text):
    assert fold_width(text) == (_fold_width(text) if text else "")


PEOPLE = {"owner": User(pk=7, username="li.na", first_name="娜", last_name="李"),
          "account": Account(pk=11, name="星辰贸易有限公司")}


@SLOW_SETTINGS
@given(contact_values(), st.sampled_from([(), ("owner",), ("owner", "account")]), st.integers(1, 10**6))
def test_creation_changes_equal_the_diff_of_a_snapshot(values, references, pk):
    # given: a contact as the importer writes it (custom data valid, references set)
    values = {**values, "custom_data": {"cf": values["name"]} if values["name"] else {}}
    contact = Contact(pk=pk, **values, **{name: PEOPLE[name] for name in references})
    # when / then
    expected = audit.diff(None, {**audit.snapshot(contact), "accounts": []})
    assert audit.creation_changes(contact) == expected
    assert audit.creation_changes(contact, {}) == expected


@given(st.one_of(st.none(), st.integers(-2**70, 2**70)), st.one_of(st.none(), st.integers(0, 2**40)),
       st.integers(1, 10**9), st.integers(1, 10**9))
def test_flat_event_payload_equals_the_json_round_trip(account_id, owner_id, contact_id, actor_id):
    event = ContactCreated(contact_id=contact_id, account_id=account_id, owner_id=owner_id, actor_id=actor_id)
    assert _payload(event, ("contact_id", "account_id", "owner_id", "actor_id")) == event.payload()


@pytest.mark.django_db
def test_publish_many_writes_through_insert_values_the_rows_bulk_create_writes(django_capture_on_commit_callbacks):
    # given: more events than one outbox row carries (the duplicate queue subscribes to ContactCreated)
    from bizloom.platform.events.services import BATCH_SIZE

    events = [ContactCreated(contact_id=i, account_id=None, owner_id=3, actor_id=3) for i in range(BATCH_SIZE + 2)]
    fields = ("event_name", "payload", "event_count", "handler", "status", "attempts", "last_error", "delivered_at")
    with django_capture_on_commit_callbacks() as created:
        publish_many(events)
    through_orm = list(OutboxMessage.objects.order_by("pk").values(*fields))
    OutboxMessage.objects.all().delete()
    # when
    with django_capture_on_commit_callbacks() as inserted:
        ids = publish_many(events, insert_values=bulk.insert_values)
    # then: the same rows (the events' fields in order, BATCH_SIZE to a row), their keys returned in order
    assert list(OutboxMessage.objects.order_by("pk").values(*fields)) == through_orm
    assert [row["event_count"] for row in through_orm if row["handler"] == "crm.merging.contact_created"] == [
        BATCH_SIZE, 2]
    assert ids == list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))
    assert len(inserted) == len(created) == len(ids)


ZONES = [dt.UTC, ZoneInfo("Asia/Shanghai"), dt.timezone(dt.timedelta(hours=-5))]
AWARE = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                     timezones=st.sampled_from(ZONES))


@given(st.one_of(st.none(), AWARE))
def test_bulk_datetime_conversion_equals_get_db_prep_save(value):
    field = OutboxMessage._meta.get_field("next_attempt_at")
    convert = bulk._value_converter(field, connection)
    assert convert is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no naive-datetime warning is skipped either
        assert convert(value) == field.get_db_prep_save(value, connection)


# Text PostgreSQL's jsonb can hold (it refuses \u0000, which the ORM's save cannot store either).
JSON_TEXT = st.sampled_from([*string.printable, *HAN, "\u3000", "\"", "\\", "\u2028"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=JSON_TEXT, max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(alphabet=JSON_TEXT, max_size=3), children, max_size=3),
    max_leaves=8)


OTHER_JSON_VALUES = [{"n": 1}, [1, "二"], "text", 0] * 15  # enough rows for PostgreSQL's bulk statement


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JSON_VALUES.filter(lambda v: v is not None))  # the payload column is NOT NULL
def test_bulk_insert_stores_json_values_as_save_does(value):
    # given: a JSON value (dicts and lists travel inside the statement's document, others as their text)
    now = dt.datetime.now(dt.UTC)
    saved = OutboxMessage.objects.create(event_name="t", payload=value, handler="h")
    names = ("event_name", "payload", "handler", "status", "attempts", "next_attempt_at", "last_error", "created_at",
             "event_count")
    # when: alone (every column the same in every row: parameters) and among many (inside the document)
    [alone] = bulk.insert_values(OutboxMessage, names, [("t", value, "h", "pending", 0, now, "", now, 1)],
                                 returning=True)
    among = bulk.insert_values(OutboxMessage, names, [("t", other, "h", "pending", 0, now, "", now, 1)
                                                      for other in [value, *OTHER_JSON_VALUES]], returning=True)
    # then: what is read back is what the ORM's own save stored
    stored = OutboxMessage.objects.get(pk=saved.pk).payload
    assert OutboxMessage.objects.get(pk=alone).payload == stored
    assert OutboxMessage.objects.get(pk=among[0]).payload == stored


@pytest.mark.django_db
def test_bulk_insert_stores_every_kind_of_value_as_save_does():
    # given: accounts with decimals, dates, booleans, JSON, Chinese text, quotes and empty values
    from decimal import Decimal

    owner = User.objects.create_user("kinds", "kinds@example.com", "pw")
    values = [dict(name='华为"技术"\\有限公司', annual_revenue=Decimal("1234567.89"), is_customer=True,
                   custom_data={"n": 1.5, "d": "2024-03-05", "l": [1, "二"]}, notes="第一行\n第二行"),
              dict(name="Acme", annual_revenue=None, is_customer=False, custom_data={}, notes=""),
              dict(name="零", annual_revenue=Decimal("0.00"), is_customer=False, custom_data={"x": None}, notes="=1+1")]
    saved = [Account.objects.create(owner=owner, **kw) for kw in values]
    # when: together (values that differ travel in the statement's document) and one by one (a value
    # that is the same in every row of a statement is a parameter of its own)
    bulked = [Account(owner=owner, **kw) for kw in values]
    bulk.insert(Account, bulked)
    alone = [Account(owner=owner, **kw) for kw in values]
    for account in alone:
        bulk.insert(Account, [account])
    many = [Account(owner=owner, **kw) for kw in values * 20]  # PostgreSQL's bulk statement (not a few INSERTs)
    bulk.insert(Account, many)
    # then: every concrete field reads back the same, except the key, the times of writing and the
    # name key that Account.save() derives (nothing calls save() on a bulk insert, as with bulk_create)
    names = [f.attname for f in Account._meta.concrete_fields
             if f.attname not in ("id", "created_at", "updated_at", "name_key")]

    def stored(pk: int) -> dict[str, Any]:
        return dict(Account.objects.filter(pk=pk).values(*names).get())

    for one, other, single in zip(saved, bulked, alone, strict=True):
        assert stored(other.pk) == stored(one.pk)
        assert stored(single.pk) == stored(one.pk)
    for index, account in enumerate(many):
        assert stored(account.pk) == stored(saved[index % len(saved)].pk)


def old_variant_matching(index: DuplicateIndex[Any], record_id: Any, variants: list[dict[str, Any]]) -> list[Any]:
    """The engine's matching of a row with several sets of fields, before ``match_and_add_variants``."""
    found: dict[Any, Any] = {}
    for variant in variants:
        for match in index.matches(variant):
            known = found.get(match.record_id)
            if known is None or RULE_ORDER.index(match.rule) < RULE_ORDER.index(known.rule):
                found[match.record_id] = match
    for variant in variants:
        index.add(record_id, variant)
    return sorted(found.values(), key=lambda match: RULE_ORDER.index(match.rule))


SMALL = st.fixed_dictionaries({
    "email": st.sampled_from(["", "a@x.cn", "A@X.cn", "b@x.cn", "bad@@x"]),
    "mobile": st.sampled_from(["", "13812345678", "+86 138 1234 5678", "13912345678", "010-12345678"]),
    "phone": st.sampled_from(["", "13812345678", "01012345678", "13912345678"]),
    "name": st.sampled_from(["张三", "張三", "李四"]),
})


@given(st.lists(SMALL, max_size=8), st.lists(SMALL, min_size=1, max_size=12))
def test_match_and_add_variants_equals_matching_each_variant_then_adding(existing, rows):
    # given: the same existing records in two indexes
    records = [(pk, variant) for pk, fields in enumerate(existing) for variant in _contact_variants(fields)]
    old = DuplicateIndex(records, field_names=CONTACT_FIELDS, name_key=person_key)
    new = DuplicateIndex(records, field_names=CONTACT_FIELDS, name_key=person_key)
    # when / then: row after row, the same matches
    for number, row in enumerate(rows, start=2):
        variants = _contact_variants(row)
        assert new.match_and_add_variants(("row", number), variants) == old_variant_matching(
            old, ("row", number), list(variants))
    assert len(new) == len(old)


STORED_CONTACTS = [  # as people type them: the services store them normalised
    {"name": "王芳", "email": " Wang.Fang@XingChen.cn ", "mobile": "139 0000 1111", "phone": "021-6234 5678"},
    {"name": "李娜", "email": "li.na@acme.cn", "mobile": "+86 139-0000-1111", "phone": ""},
    {"name": "张伟", "email": "", "mobile": "", "phone": "13900001111"},
    {"name": "Ann", "email": "ann@example.com", "mobile": "+44 20 7946 0958", "phone": "+1 (415) 555-0100 ext. 12"},
    {"name": "赵敏", "email": "WANG.FANG@xingchen.cn", "mobile": "", "phone": "(021) 62345678"},
]
ROWS_TO_MATCH = [
    {"email": "wang.fang@xingchen.cn", "mobile": "", "phone": ""},
    {"email": "", "mobile": "13900001111", "phone": ""},
    {"email": "", "mobile": "", "phone": "+86 21 6234 5678"},
    {"email": "", "mobile": "+442079460958", "phone": "+1 415 555 0100;ext=12"},
    {"email": "ANN@example.com", "mobile": "+14155550100", "phone": "139 0000 1111"},
    {"email": "nobody@example.com", "mobile": "13800000000", "phone": ""},
]


@pytest.mark.django_db
def test_stored_contact_keys_match_as_the_keys_of_the_stored_values():
    """The importer adds existing contacts by their stored email and phones (``duplicate_keys``); that
    matches every row as computing the keys of those values again did (``duplicate_records``)."""
    from bizloom.crm import services as crm_services
    from bizloom.crm.imports import _readable_contact_keys
    from bizloom.integration.tests.test_import_declarations import make_user

    # given: contacts saved through the service, and an index of each kind
    user = make_user("mei", "view_contact", "add_contact")
    for values in STORED_CONTACTS:
        crm_services.create_contact(values, actor=user, allow_duplicate=True)
    stored = list(Contact.objects.order_by("pk").values("pk", "email", "mobile", "phone"))
    assert stored[0]["mobile"] == "+8613900001111"  # stored in key form
    computed = DuplicateIndex([(row["pk"], variant) for row in stored for variant in _contact_variants(row)],
                              field_names=CONTACT_FIELDS, name_key=person_key)
    as_stored: DuplicateIndex[Any] = DuplicateIndex(field_names=CONTACT_FIELDS, name_key=person_key)
    as_stored.add_keys((pk, keys) for pk, _label, keys in _readable_contact_keys(user))
    # when / then: the same matches, row after row
    assert len(as_stored) == len(STORED_CONTACTS)
    for number, row in enumerate(ROWS_TO_MATCH, start=2):
        variants = _contact_variants(row)
        expected = computed.match_and_add_variants(("row", number), variants)
        assert as_stored.match_and_add_variants(("row", number), variants) == expected
        assert expected or number == 7  # every row but the last matches someone


def stored_alike(column: list[Any]) -> bool:
    """What ``bulk._same_in_every_row`` answers, written out value by value (its docstring's rules)."""
    first = column[0]
    if type(first) is str or first is None:
        return all(value == first and type(value) is type(first) for value in column)
    if type(first) in (int, float, bool):
        return all(type(value) is type(first) and value == first for value in column)
    if type(first) in (dict, list) and not first:
        return all(type(value) is type(first) and not value for value in column)
    return all(value is first for value in column)


SHARED_TIME, SHARED_DICT = dt.datetime(2026, 11, 27, tzinfo=dt.UTC), {"a": 1}
STORED_VALUES = st.sampled_from([0, 1, 1.0, True, False, 0.0, "", "1", "a", None, {}, [], SHARED_TIME, SHARED_DICT,
                                 dt.datetime(2026, 11, 27, tzinfo=dt.UTC), Decimal("1.0"), Decimal("1.00")])


@given(STORED_VALUES, st.integers(1, 5), st.lists(STORED_VALUES, max_size=3), st.randoms())
def test_a_column_is_sent_once_only_when_every_value_is_stored_alike(first, repeat, others, random):
    # given: a column of one value repeated, perhaps with others among it
    column = [first] * repeat + others
    random.shuffle(column)
    # when / then
    assert bulk._same_in_every_row(tuple(column)) == stored_alike(column)


def test_new_contact_is_contact():
    # given / when
    fast, slow = new_contact(), Contact()
    # then: the same attributes and state, and no default shared between instances
    assert state(fast) == state(slow)
    assert (fast._state.adding, fast._state.db, fast._state.fields_cache) == (True, None, {})
    assert fast.custom_data is not new_contact().custom_data
    assert fast.custom_data is not slow.custom_data


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 120])  # a few rows (pipelined INSERTs on PostgreSQL) and many (COPY)
def test_bulk_insert_sets_the_keys_of_what_it_writes(count):
    # given
    owner = User.objects.create_user("bulk", "bulk@example.com", "pw")
    contacts = [Contact(name=f"联系人{i}", email=f"c{i}@example.com", owner=owner,
                        custom_data={"n": i} if i % 2 else {}) for i in range(count)]
    now = dt.datetime.now(dt.UTC)
    # when
    bulk.insert(Contact, contacts)
    content_type = ContentType.objects.get_for_model(Contact).pk
    ids = bulk.insert_values(AuditEntry, ("content_type", "object_id", "object_repr", "action", "channel",
                                          "request_id", "at", "changes"),
                             [(content_type, str(c.pk), c.name, "create", "import", "", now, {"name": [None, c.name]})
                              for c in contacts], returning=True)
    # then: each instance has the key of its own row, and the rows hold the values
    stored = {c.pk: (c.name, c.email, c.owner_id, c.custom_data) for c in Contact.objects.all()}
    assert stored == {c.pk: (c.name, c.email, owner.pk, c.custom_data) for c in contacts}
    entries = {e.pk: (e.object_id, e.changes) for e in AuditEntry.objects.filter(pk__in=ids)}
    assert [entries[pk] for pk in ids] == [(str(c.pk), {"name": [None, c.name]}) for c in contacts]
    # and the table's own key sequence moved past them
    assert Contact.objects.create(name="后来的", owner=owner).pk > max(c.pk for c in contacts)


def test_the_engine_restores_the_garbage_collector_threshold():
    # given
    import gc

    from bizloom.integration.imports import engine

    before = gc.get_threshold()
    during: list[int] = []

    def failing_run() -> None:
        with engine.fewer_collections():
            during.extend(gc.get_threshold())
            raise RuntimeError

    # when: a run that fails half-way
    with pytest.raises(RuntimeError):
        failing_run()
    # then
    assert during[0] >= engine.GC_THRESHOLD
    assert during[2] >= engine.GC_OLDEST_THRESHOLD  # no full collection while rows are processed
    assert gc.get_threshold() == before


@pytest.mark.django_db
def test_the_large_sqlite_cache_lasts_for_the_block_only():
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return int(cursor.fetchone()[0])

    before = cache_size()
    with bulk.large_cache():
        assert cache_size() == -bulk.CACHE_KIB
    assert cache_size() == before


PLAIN_FIELDS = ("name", "position", "department", "notes", "consent_email")  # no conversion on either database


@pytest.mark.django_db
@given(st.lists(st.lists(st.sampled_from(["a", "b", "", None, True, False, 1, 1.0, "字"]), min_size=5, max_size=5),
                min_size=1, max_size=8))
def test_a_statement_sends_each_row_s_varying_values_and_each_constant_once(rows):
    # given: rows whose columns vary, or hold one value, or agree only at the ends
    fields = [Contact._meta.get_field(name) for name in PLAIN_FIELDS]
    rows = [tuple(row) for row in rows]
    # when
    columns = list(bulk._columns(connection, fields, rows))
    varying = [(column.position, column.values) for column in columns if not column.constant]
    document = bulk._document_rows(rows, varying)
    # then: a constant column is one every row stores alike; the document holds the others, row by row
    for column in columns:
        assert column.constant == stored_alike([row[column.position] for row in rows])
    assert document == [tuple(row[index] for index, _values in varying) for row in rows]

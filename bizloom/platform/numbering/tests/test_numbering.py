"""Document numbers: pattern tokens, validation, period resets, rollbacks and concurrency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from bizloom.common.errors import ValidationFailed
from bizloom.common.testing import run_together
from bizloom.platform.numbering import patterns, services
from bizloom.platform.numbering.models import NumberCounter, NumberSequence

DAY = dt.date(2025, 3, 7)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("SO-{yyyy}-{seq:05}", "SO-2025-00042"),
    ("PO{yy}{mm}{dd}-{seq:03}", "PO250307-042"),
    ("INV/{yyyy}/{mm}/{seq}", "INV/2025/03/42"),
    ("{seq:02}", "42"),
    ("发票-{yyyy}年{mm}月-{seq:04}", "发票-2025年03月-0042"),
    ("{{X}}-{seq:01}", "{X}-42"),
], ids=["year_case", "compact_day_case", "unpadded_case", "narrow_pad_case", "chinese_literal_case",
        "escaped_brace_case"])
def test_pattern_tokens(pattern, expected):
    # when / then
    assert patterns.parse(pattern).render(DAY, 42) == expected


def test_counter_wider_than_padding_is_not_truncated():
    # when / then
    assert patterns.parse("A{seq:03}").render(DAY, 12345) == "A12345"


@pytest.mark.parametrize(("pattern", "code", "message"), [
    ("SO-{yyyy}-{num}", "pattern_unknown_token",
     "Unknown token “{num}”. Use {yyyy}, {yy}, {mm}, {dd}, {seq} or {seq:0N} (N from 1 to 12)."),
    ("SO-{YYYY}-{seq}", "pattern_unknown_token",
     "Unknown token “{YYYY}”. Use {yyyy}, {yy}, {mm}, {dd}, {seq} or {seq:0N} (N from 1 to 12)."),
    ("SO-{seq:5}", "pattern_unknown_token",
     "Unknown token “{seq:5}”. Use {yyyy}, {yy}, {mm}, {dd}, {seq} or {seq:0N} (N from 1 to 12)."),
    ("SO-{yyyy}", "pattern_seq_count", "The pattern must contain the counter {seq} (or {seq:0N}) exactly once."),
    ("{seq}-{seq}", "pattern_seq_count", "The pattern must contain the counter {seq} (or {seq:0N}) exactly once."),
    ("SO-{seq", "pattern_unmatched_brace",
     "Unmatched “{” in the pattern; write it twice for a literal brace."),
    ("", "pattern_empty", "Enter a pattern, for example SO-{yyyy}-{seq:05}."),
], ids=["unknown_case", "upper_case", "bad_padding_case", "no_seq_case", "two_seq_case", "brace_case", "empty_case"])
def test_invalid_patterns_are_explained(pattern, code, message):
    # when
    with pytest.raises(ValidationFailed) as invalid:
        patterns.parse(pattern)
    # then
    assert (invalid.value.code, invalid.value.message) == (code, message)
    assert invalid.value.fields == {"pattern": [message]}


@pytest.mark.parametrize(("pattern", "reset", "expected"), [
    ("A{seq}", "auto", "none"),
    ("A{yyyy}{seq}", "auto", "year"),
    ("A{yy}{mm}{seq}", "auto", "month"),
    ("A{yyyy}{mm}{dd}{seq}", "auto", "day"),
    ("A{yyyy}{mm}{dd}{seq}", "year", "year"),
    ("A{yyyy}{seq}", "none", "none"),
    ("A{mm}{seq}", "auto", "none"),
], ids=["none_case", "year_case", "month_case", "day_case", "explicit_coarser_case", "explicit_none_case",
        "month_without_year_case"])
def test_reset_period_derived_from_pattern_or_explicit(pattern, reset, expected):
    # when / then
    assert patterns.effective_reset(patterns.parse(pattern), reset) == expected


def test_reset_finer_than_the_pattern_is_refused():
    # when
    with pytest.raises(ValidationFailed) as invalid:
        patterns.effective_reset(patterns.parse("SO-{seq}"), "year")
    # then
    assert invalid.value.code == "reset_finer_than_pattern"
    assert invalid.value.message == "Resetting every year would repeat numbers: the pattern must show the year."


@pytest.mark.django_db
def test_numbers_count_up_within_a_period_and_restart_in_the_next():
    # given
    services.define_sequence("sales.order", "SO-{yyyy}-{seq:05}")
    # when
    numbers = [services.next_number("sales.order", on_date=d) for d in
               (dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2025, 6, 1))]
    # then
    assert numbers == ["SO-2025-00001", "SO-2025-00002", "SO-2026-00001", "SO-2025-00003"]
    assert dict(NumberCounter.objects.values_list("period_key", "next_value")) == {"2025": 4, "2026": 2}


@pytest.mark.django_db
def test_monthly_and_never_resetting_sequences():
    # given
    services.define_sequence("monthly", "M{yy}{mm}-{seq:03}")
    services.define_sequence("forever", "F{yyyy}-{seq}", reset_period="none")
    # when
    monthly = [services.next_number("monthly", on_date=d) for d in (dt.date(2025, 1, 31), dt.date(2025, 2, 1))]
    forever = [services.next_number("forever", on_date=d) for d in (dt.date(2025, 12, 31), dt.date(2026, 1, 1))]
    # then
    assert monthly == ["M2501-001", "M2502-001"]
    assert forever == ["F2025-1", "F2026-2"]


@pytest.mark.django_db
def test_rolled_back_transaction_does_not_consume_the_number():
    # given
    services.define_sequence("sales.order", "SO-{seq:04}")
    assert services.next_number("sales.order") == "SO-0001"
    # when
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        assert services.next_number("sales.order") == "SO-0002"
        raise RuntimeError("order could not be saved")
    # then
    assert services.next_number("sales.order") == "SO-0002"


@pytest.mark.django_db
def test_new_period_counter_rolled_back_is_created_again():
    # given
    services.define_sequence("daily", "D{yyyy}{mm}{dd}-{seq}")
    # when
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        services.next_number("daily", on_date=DAY)
        raise RuntimeError("rolled back")
    # then
    assert not NumberCounter.objects.exists()
    assert services.next_number("daily", on_date=DAY) == "D20250307-1"


@pytest.mark.django_db
def test_unknown_document_type_is_refused_or_defined_from_default():
    # when
    with pytest.raises(services.SequenceNotFound) as missing:
        services.next_number("no.such")
    first = services.next_number("sales.quote", on_date=DAY, default_pattern="QT-{yyyy}-{seq:04}")
    # then
    assert missing.value.message == "No number sequence is defined for “no.such”."
    assert first == "QT-2025-0001"
    assert NumberSequence.objects.get().doc_type == "sales.quote"


@pytest.mark.django_db
def test_define_sequence_keeps_existing_pattern():
    # given
    services.define_sequence("sales.order", "SO-{seq}")
    # when
    sequence = services.define_sequence("sales.order", "OTHER-{seq}")
    # then
    assert sequence.pattern == "SO-{seq}"
    assert NumberSequence.objects.count() == 1


def test_define_sequence_validates_pattern(db):
    # when / then
    with pytest.raises(ValidationFailed):
        services.define_sequence("bad", "X-{foo}")
    assert not NumberSequence.objects.exists()


def race(threads: int, doc_type: str, on_date: dt.date) -> tuple[list[str], list[BaseException]]:
    """``threads`` threads, each in its own connection and transaction, take one number at the same moment."""
    def take(_thread: int) -> str:
        with transaction.atomic():
            return services.next_number(doc_type, on_date=on_date)

    numbers, errors = run_together(threads, take, timeout=120)
    return [number for number in numbers if number is not None], errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_transactions_get_fifty_consecutive_numbers_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so only PostgreSQL proves the row lock "
                    "(run with DATABASE_URL=postgres://...)")
    # given: a brand-new period, so the threads also race to create its counter row
    services.define_sequence("sales.order", "SO-{yyyy}-{seq:05}")
    # when
    numbers, errors = race(50, "sales.order", DAY)
    # then
    assert errors == []
    assert sorted(numbers) == [f"SO-2025-{n:05d}" for n in range(1, 51)]
    assert NumberCounter.objects.get().next_value == 51


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_get_distinct_consecutive_numbers(settings):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads cannot share an in-memory SQLite test database; set BIZLOOM_TEST_SQLITE to a file")
    # given
    services.define_sequence("sales.order", "SO-{yyyy}-{seq:05}")
    # when
    numbers, errors = race(8, "sales.order", DAY)
    # then
    assert errors == []
    assert sorted(numbers) == [f"SO-2025-{n:05d}" for n in range(1, 9)]

"""Custom field values on accounts: coercion per type, errors, required/default, references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bizloom.common.errors import ValidationFailed
from bizloom.crm import services
from bizloom.crm.models import Account
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.services import validate_custom_values
from bizloom.platform.customfields.tests import fixtures
from bizloom.platform.customfields.tests.fixtures import SOURCE_CHOICES, role_user

admin = fixtures.admin
define = fixtures.define
source = fixtures.source

TYPE_CASES = [
    ("text", "  Shenzhen office ", "Shenzhen office"),
    ("long_text", "line one\nline two", "line one\nline two"),
    ("integer", "42", 42),
    ("integer", "1,000", 1000),
    ("integer", 7, 7),
    ("integer", "3.00", 3),
    ("decimal", "12.50", "12.5"),
    ("decimal", Decimal("0.10"), "0.1"),
    ("decimal", 3, "3"),
    ("decimal", "-1250000.125", "-1250000.125"),
    ("date", "2025-01-31", "2025-01-31"),
    ("date", dt.date(2025, 2, 1), "2025-02-01"),
    ("datetime", "2025-01-31T08:30", "2025-01-31T00:30:00+00:00"),  # Asia/Shanghai → UTC
    ("datetime", "2025-01-31T08:30:00+00:00", "2025-01-31T08:30:00+00:00"),
    ("boolean", "yes", True),
    ("boolean", "0", False),
    ("boolean", False, False),
    ("choice", "web", "web"),
    ("multi_choice", "fair,web", ["web", "fair"]),
    ("multi_choice", ["fair"], ["fair"]),
    ("email", "Info@Example.COM", "Info@example.com"),
    ("phone", "+86 755-1234 5678", "+86 755-1234 5678"),
    ("url", "example.com/about", "https://example.com/about"),
]


@pytest.mark.parametrize(("kind", "raw", "stored"), TYPE_CASES,
                         ids=[f"{kind}_{i}_case" for i, (kind, _r, _s) in enumerate(TYPE_CASES)])
def test_values_are_coerced_to_their_stored_form(define, kind, raw, stored):
    # given
    extra = {"choices": SOURCE_CHOICES} if kind in ("choice", "multi_choice") else {}
    define("value", kind, **extra)
    # when
    result = validate_custom_values(Account, {"value": raw})
    # then
    assert result == {"value": stored}


ERROR_CASES = [
    ("text", "x" * 256, "At most 255 characters (it has 256)."),
    ("integer", "1.5", "Enter a whole number."),
    ("integer", "twelve", "Enter a whole number."),
    ("integer", True, "Enter a whole number."),
    ("decimal", "abc", "Enter a number."),
    ("decimal", "NaN", "Enter a number."),
    ("decimal", "0.00000000001", "At most 10 decimal places."),
    ("date", "2025-02-30", "Enter a date (YYYY-MM-DD)."),
    ("datetime", "yesterday", "Enter a date and time (YYYY-MM-DDTHH:MM)."),
    ("boolean", "maybe", "Enter yes or no (true/false)."),
    ("choice", "tv", "“tv” is not one of the choices: web, fair."),
    ("multi_choice", ["web", "tv"], "“tv” is not one of the choices: web, fair."),
    ("multi_choice", 5, "Give a list of choices."),
    ("email", "not-an-email", "Enter a valid email address."),
    ("phone", "call me", "Enter a phone number: digits, spaces, “+”, “-” and brackets."),
    ("url", "not a url", "Enter a valid web address."),
    ("reference", "abc", "Give the id of a record."),
    ("reference", 999999, "No account with id 999999."),
]


@pytest.mark.parametrize(("kind", "raw", "message"), ERROR_CASES,
                         ids=[f"{kind}_{i}_case" for i, (kind, _r, _m) in enumerate(ERROR_CASES)])
def test_values_that_do_not_fit_are_refused_with_a_field_error(define, kind, raw, message):
    # given
    extra = {"choices": SOURCE_CHOICES} if kind in ("choice", "multi_choice") else {}
    if kind == "reference":
        extra = {"target_content_type": "crm.account"}
    define("value", kind, **extra)
    # when
    with pytest.raises(ValidationFailed) as error:
        validate_custom_values(Account, {"value": raw})
    # then
    assert error.value.fields == {"cf_value": [message]}


def test_unknown_keys_are_refused(source):
    # when
    with pytest.raises(ValidationFailed) as error:
        validate_custom_values(Account, {"source": "web", "colour": "red"})
    # then
    assert error.value.fields == {"cf_colour": ["Unknown custom field."]}


def test_cf_prefix_is_accepted_and_empty_values_clear(source, admin):
    # given
    account = services.create_account({"name": "Acme", "custom_fields": {"source": "web"}}, actor=admin)
    # when
    result = validate_custom_values(Account, {"cf_source": ""}, instance=account, partial=True)
    # then
    assert result == {}


def test_required_field_missing_is_refused_and_nothing_is_created(define, admin):
    # given
    define("contract_no", "text", is_required=True)
    # when
    with pytest.raises(ValidationFailed) as error:
        services.create_account({"name": "Acme"}, actor=admin)
    # then
    assert error.value.fields == {"cf_contract_no": ["This field is required."]}
    assert Account.objects.count() == 0


def test_default_fills_a_new_record_and_satisfies_required(define, admin):
    # given
    define("region", "choice", is_required=True, default="south",
           choices=[{"value": "north", "label_en": "North"}, {"value": "south", "label_en": "South"}])
    define("priority", "integer", default="3")
    # when
    account = services.create_account({"name": "Acme"}, actor=admin)
    # then
    assert Account.objects.get(pk=account.pk).custom_data == {"region": "south", "priority": 3}


def test_update_changes_only_the_given_keys(define, admin):
    # given
    define("priority", "integer")
    define("note", "text")
    account = services.create_account({"name": "Acme", "custom_fields": {"priority": 1, "note": "keep"}},
                                      actor=admin)
    # when
    services.update_account(account, {"custom_fields": {"priority": "2"}}, actor=admin)
    # then
    assert Account.objects.get(pk=account.pk).custom_data == {"priority": 2, "note": "keep"}


def test_reference_to_a_visible_record_is_stored_as_its_id(define, admin):
    # given
    define("parent", "reference", target_content_type="crm.account")
    parent = services.create_account({"name": "Parent Group"}, actor=admin)
    # when
    child = services.create_account({"name": "Child", "custom_fields": {"parent": str(parent.pk)}}, actor=admin)
    # then
    assert Account.objects.get(pk=child.pk).custom_data == {"parent": parent.pk}


def test_reference_outside_the_writers_read_scope_is_refused(define, admin):
    # given: a rep who sees only their own accounts, and someone else's account
    define("parent", "reference", target_content_type="crm.account")
    rep = role_user("rep", "view_account", "add_account", scope="own")
    hidden = services.create_account({"name": "Not yours"}, actor=admin)
    # when
    with pytest.raises(ValidationFailed) as error:
        services.create_account({"name": "Mine", "custom_fields": {"parent": hidden.pk}}, actor=rep)
    # then
    assert error.value.fields == {"cf_parent": ["You may not refer to this account."]}
    assert list(Account.objects.values_list("name", flat=True)) == ["Not yours"]


def test_refused_update_changes_nothing_and_audits_nothing(source, admin):
    # given
    account = services.create_account({"name": "Acme", "custom_fields": {"source": "web"}}, actor=admin)
    entries = AuditEntry.objects.count()
    # when
    with pytest.raises(ValidationFailed):
        services.update_account(account, {"name": "Renamed", "custom_fields": {"source": "tv"}}, actor=admin)
    # then
    account.refresh_from_db()
    assert (account.name, account.custom_data) == ("Acme", {"source": "web"})
    assert AuditEntry.objects.count() == entries


def test_audit_entry_records_the_custom_field_old_and_new_value(source, admin):
    # given
    account = services.create_account({"name": "Acme", "custom_fields": {"source": "web"}}, actor=admin)
    # when
    services.update_account(account, {"custom_fields": {"source": "fair"}}, actor=admin)
    # then
    created, updated = AuditEntry.objects.filter(content_type__model="account", object_id=str(account.pk)).order_by(
        "pk")
    assert created.changes["cf_source"] == [None, "web"]
    assert updated.changes == {"cf_source": ["web", "fair"]}

"""Changing custom field definitions never loses values silently; the settings pages."""

from __future__ import annotations

import pytest

from bizloom.common.errors import ValidationFailed
from bizloom.crm import services
from bizloom.crm.models import Account
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields import services as cf
from bizloom.platform.customfields.models import CustomField
from bizloom.platform.customfields.services import CustomFieldInUse
from bizloom.platform.customfields.tests import fixtures
from bizloom.platform.customfields.tests.fixtures import SOURCE_CHOICES, role_user

admin = fixtures.admin
define = fixtures.define
source = fixtures.source



def account_audit(account: Account) -> list[dict]:
    return [e.changes for e in AuditEntry.objects.filter(content_type__model="account",
                                                         object_id=str(account.pk)).order_by("pk")]


def data_of(*accounts: Account) -> list[dict]:
    return [Account.objects.get(pk=a.pk).custom_data for a in accounts]


# --- definitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "errors"), [
    ({"key": "Bad Key"}, ["key"]),
    ({"key": "contains"}, ["key"]),
    ({"key": "ok", "label_en": ""}, ["label_en"]),
    ({"key": "ok", "type": "choice"}, ["choices"]),
    ({"key": "ok", "type": "reference"}, ["target_content_type"]),
    ({"key": "ok", "type": "integer", "default": "many"}, ["default"]),
    ({"key": "ok", "type": "choice", "choices": [{"value": "a b"}]}, ["choices"]),
], ids=["key_syntax_case", "reserved_key_case", "no_label_case", "no_choices_case", "no_target_case",
        "bad_default_case", "bad_choice_value_case"])
def test_invalid_definitions_are_refused(admin, data, errors):
    # when
    with pytest.raises(ValidationFailed) as error:
        cf.create_custom_field({"content_type": "crm.account", "label_en": "Label", **data}, actor=admin)
    # then
    assert sorted(error.value.fields) == errors
    assert CustomField.objects.count() == 0


def test_key_is_unique_per_model_and_immutable(source, admin):
    # when
    with pytest.raises(ValidationFailed) as duplicate:
        cf.create_custom_field({"content_type": Account, "key": "source", "label_en": "Again"}, actor=admin)
    with pytest.raises(ValidationFailed) as renamed:
        cf.update_custom_field(source, {"key": "origin"}, actor=admin)
    # then
    assert duplicate.value.fields == {"key": ["This model already has a custom field with the key “source”."]}
    assert renamed.value.fields == {"key": ["The key and model of a custom field cannot be changed."]}
    assert list(CustomField.objects.values_list("key", flat=True)) == ["source"]


def test_label_follows_the_active_language_and_falls_back_to_english(define):
    # given
    from django.utils import translation

    field = define("region", "text", label_en="Region", label_zh_hans="区域")
    # when / then
    with translation.override("zh-hans"):
        assert field.label == "区域"
    with translation.override("zh-hant"):
        assert field.label == "Region"
    with translation.override("en"):
        assert field.label == "Region"


# --- type changes --------------------------------------------------------------------------------


def test_integer_to_decimal_migrates_every_value_and_audits_it(define, admin):
    # given
    field = define("score", "integer")
    a = services.create_account({"name": "A", "custom_fields": {"score": 9}}, actor=admin)
    b = services.create_account({"name": "B", "custom_fields": {"score": 10}}, actor=admin)
    c = services.create_account({"name": "C"}, actor=admin)
    # when
    cf.update_custom_field(field, {"type": "decimal"}, actor=admin)
    # then
    assert data_of(a, b, c) == [{"score": "9"}, {"score": "10"}, {}]
    assert account_audit(a)[-1] == {"cf_score": [9, "9"]}
    assert CustomField.objects.get(pk=field.pk).type == "decimal"


def test_text_to_long_text_and_choice_to_multiple_choice_migrate(define, source, admin):
    # given
    note = define("note", "text")
    a = services.create_account({"name": "A", "custom_fields": {"note": "hello", "source": "web"}}, actor=admin)
    # when
    cf.update_custom_field(note, {"type": "long_text"}, actor=admin)
    cf.update_custom_field(source, {"type": "multi_choice"}, actor=admin)
    # then
    assert data_of(a) == [{"note": "hello", "source": ["web"]}]


def test_type_change_that_would_not_convert_is_refused_with_the_count(define, admin):
    # given
    field = define("code_no", "text")
    a = services.create_account({"name": "A", "custom_fields": {"code_no": "42"}}, actor=admin)
    b = services.create_account({"name": "B", "custom_fields": {"code_no": "N/A"}}, actor=admin)
    c = services.create_account({"name": "C", "custom_fields": {"code_no": "unknown"}}, actor=admin)
    # when
    with pytest.raises(CustomFieldInUse) as error:
        cf.update_custom_field(field, {"type": "integer"}, actor=admin)
    # then
    assert error.value.message == "2 stored values cannot be converted to Integer; change or clear them first."
    assert error.value.fields == {"type": [error.value.message]}
    assert CustomField.objects.get(pk=field.pk).type == "text"
    assert data_of(a, b, c) == [{"code_no": "42"}, {"code_no": "N/A"}, {"code_no": "unknown"}]


def test_removing_a_choice_in_use_is_refused_with_the_count(source, admin):
    # given
    services.create_account({"name": "A", "custom_fields": {"source": "fair"}}, actor=admin)
    services.create_account({"name": "B", "custom_fields": {"source": "fair"}}, actor=admin)
    # when
    with pytest.raises(CustomFieldInUse) as refused:
        cf.update_custom_field(source, {"choices": SOURCE_CHOICES[:1]}, actor=admin)
    cf.update_custom_field(source, {"choices": SOURCE_CHOICES[1:]}, actor=admin)  # "web" is unused
    # then
    assert refused.value.message == "These choices are still used by records and cannot be removed: “fair” (2)."
    assert CustomField.objects.get(pk=source.pk).choice_values == ["fair"]


# --- deactivation and deletion ----------------------------------------------------------------


def test_deactivating_keeps_values_and_hides_the_field(source, admin):
    # given
    a = services.create_account({"name": "A", "custom_fields": {"source": "web"}}, actor=admin)
    # when
    cf.set_custom_field_active(source, False, actor=admin)
    services.update_account(a, {"name": "A2", "custom_fields": {}}, actor=admin)
    # then
    assert data_of(a) == [{"source": "web"}]
    from bizloom.crm.forms import AccountForm

    assert "cf_source" not in AccountForm().fields


def test_deleting_a_field_with_values_is_refused_with_the_count(source, admin):
    # given
    a = services.create_account({"name": "A", "custom_fields": {"source": "web"}}, actor=admin)
    entries = AuditEntry.objects.count()
    # when
    with pytest.raises(CustomFieldInUse) as error:
        cf.delete_custom_field(source, actor=admin)
    # then
    assert error.value.message == (
        "1 record has a value for “Customer source”. Deactivate the field to hide it and keep the value, "
        "or delete it together with the value.")
    assert error.value.context["count"] == 1
    assert CustomField.objects.filter(pk=source.pk).exists()
    assert data_of(a) == [{"source": "web"}]
    assert AuditEntry.objects.count() == entries


def test_purge_removes_the_values_and_audits_each_record(source, admin):
    # given
    a = services.create_account({"name": "A", "custom_fields": {"source": "web"}}, actor=admin)
    b = services.create_account({"name": "B"}, actor=admin)
    # when
    purged = cf.delete_custom_field(source, actor=admin, purge=True)
    # then
    assert purged == 1
    assert not CustomField.objects.exists()
    assert data_of(a, b) == [{}, {}]
    assert account_audit(a)[-1] == {"cf_source": ["web", None]}
    assert len(account_audit(b)) == 1  # only its creation


# --- settings pages ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def test_settings_pages_need_the_change_customfield_permission(client, db):
    # given
    user = role_user("rep", "view_account")
    client.force_login(user)
    # when / then
    assert client.get("/settings/custom-fields/").status_code == 403
    assert client.post("/settings/custom-fields/new/", {"content_type": "crm.account", "key": "x"}).status_code == 403
    assert not CustomField.objects.exists()


def test_administrator_creates_a_choice_field_in_the_settings(admin_client):
    # when
    response = admin_client.post("/settings/custom-fields/new/", {
        "content_type": "crm.account", "key": "customer_source", "type": "choice", "label_zh_hans": "客户来源",
        "choices": "web | Website | 官网\nfair | Trade fair | 展会", "order": "0", "is_active": "on"})
    # then
    assert response.status_code == 302, response.content.decode()[-3000:]
    field = CustomField.objects.get()
    assert (field.key, field.label_zh_hans, field.choices) == ("customer_source", "客户来源", [
        {"value": "web", "label_en": "Website", "label_zh_hans": "官网", "label_zh_hant": ""},
        {"value": "fair", "label_en": "Trade fair", "label_zh_hans": "展会", "label_zh_hant": ""}])
    listing = admin_client.get("/settings/custom-fields/?model=crm.account").content.decode()
    assert "cf_customer_source" in listing


def test_refused_type_change_is_shown_on_the_form(admin_client, define, admin):
    # given
    field = define("code_no", "text")
    services.create_account({"name": "A", "custom_fields": {"code_no": "N/A"}}, actor=admin)
    # when
    response = admin_client.post(f"/settings/custom-fields/{field.pk}/", {
        "type": "integer", "label_en": "Code no", "order": "0", "is_active": "on"})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["type"] == [
        "1 stored value cannot be converted to Integer; change or clear it first."]
    assert CustomField.objects.get(pk=field.pk).type == "text"


def test_delete_page_explains_the_refusal_and_purges_only_when_asked(admin_client, source, admin):
    # given
    a = services.create_account({"name": "A", "custom_fields": {"source": "web"}}, actor=admin)
    url = f"/settings/custom-fields/{source.pk}/delete/"
    # when
    refused = admin_client.post(url, {})
    purged = admin_client.post(url, {"purge": "1"})
    # then
    assert "1 record has a value for “Customer source”." in refused.content.decode()
    assert purged.status_code == 302
    assert not CustomField.objects.exists()
    assert data_of(a) == [{}]


def test_toggle_deactivates_and_reactivates(admin_client, source):
    # when
    admin_client.post(f"/settings/custom-fields/{source.pk}/toggle/")
    inactive = CustomField.objects.get(pk=source.pk).is_active
    admin_client.post(f"/settings/custom-fields/{source.pk}/toggle/")
    # then
    assert (inactive, CustomField.objects.get(pk=source.pk).is_active) == (False, True)

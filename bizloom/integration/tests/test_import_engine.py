"""Import engine (issue #5) on CRM accounts: dry run, real run, upsert, duplicates, access, undo, error file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import ProtectedError

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.models import Account
from bizloom.integration.imports import selectors, services
from bizloom.integration.models import ExternalId, ImportBatch, ImportBatchRow, ImportMappingTemplate
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.models import RoleFieldRule, RoleScope, User

IMPORT_PERMS = ("view_account", "add_account", "change_account", "delete_account", "import_account")
HEADER = ["客户名称", "税号", "行业", "级别", "电话", "邮箱", "负责人", "城市"]
ROWS = [
    ["星辰贸易有限公司", "TAX-001", "软件和信息技术", "A（重点客户）", "138 1234 5678", "Info@XingChen.cn", "mei",
     "上海"],
    ["月光科技有限公司", "TAX-002", "制造业", "b", "12345", "", "", "苏州"],              # bad phone
    ["阳光物流有限公司", "TAX-003", "Logistics", "C", "", "not-an-email", "", "广州"],   # bad email
    ["华为技术有限公司", "", "", "", "", "", "", "深圳"],                                   # duplicate of the DB
    ["旧客户有限公司", "TAX-900", "", "", "", "", "", "北京"],                               # update (natural key)
    ["稳定客户有限公司", "TAX-901", "", "", "", "", "", "天津"],                             # unchanged
    ["星辰贸易", "", "", "", "", "info@xingchen.cn", "", ""],                               # duplicate of row 2
    ["幽灵公司", "TAX-004", "", "", "", "", "ghost", ""],                                  # unknown owner
]


def csv_bytes(header: list[str], rows: Iterable[list[str]], encoding: str = "gbk") -> bytes:
    """A CSV file in ``encoding`` (GBK by default, as Chinese Excel saves it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def make_importer(username: str = "mei", *codenames: str, scope: str | None = None,
                  field_rules: dict[str, str] | None = None) -> User:
    """A user whose one role grants ``codenames`` (default: view/add/change/delete/import accounts)."""
    codenames = codenames or IMPORT_PERMS
    role = Group.objects.create(name=f"role-{username}")
    role.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    content_type = ContentType.objects.get_for_model(Account)
    if scope is not None:
        for codename in codenames:
            RoleScope.objects.create(role=role, content_type=content_type, action=codename.split("_")[0],
                                     scope=scope)
    for field_name, mode in (field_rules or {}).items():
        RoleFieldRule.objects.create(role=role, content_type=content_type, field_name=field_name, mode=mode)
    user = User.objects.create_user(username=username, password="pw-secret-123", email=f"{username}@example.com")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads of these tests go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def importer(db) -> User:
    return make_importer()


@pytest.fixture
def existing(importer) -> dict[str, Account]:
    """Accounts already in the database: one the file duplicates, one it updates, one it leaves unchanged."""
    return {
        "huawei": crm_services.create_account({"name": "华为技术有限公司", "code": "914403001922038216"},
                                              actor=importer),
        "old": crm_services.create_account({"name": "旧客户有限公司", "code": "TAX-900", "city": "上海"},
                                           actor=importer),
        "stable": crm_services.create_account({"name": "稳定客户有限公司", "code": "TAX-901", "city": "天津"},
                                               actor=importer),
    }


def upload(user: User, content: bytes, *, filename: str = "客户.csv", **kwargs: Any) -> ImportBatch:
    """Upload ``content`` as an account import of ``user``."""
    return services.upload_batch(iter([content]), filename=filename, declaration="crm.account", actor=user, **kwargs)


def run(batch: ImportBatch, user: User, *, dry_run: bool) -> ImportBatch:
    """Queue and execute a run in this process (what the worker does)."""
    services.start_run(batch, dry_run=dry_run, actor=user)
    return services.execute_batch(batch.pk, dry_run=dry_run)


def outcomes(batch: ImportBatch) -> dict[int, tuple[str, list[tuple[str | None, str]]]]:
    """Row number → (outcome, [(column, message)])."""
    return {row.number: (row.outcome, [(e["column"], e["message"]) for e in row.errors])
            for row in selectors.list_rows(batch)}


def account_names() -> set[str]:
    return set(Account.objects.values_list("name", flat=True))


# --- dry run and real run ------------------------------------------------------------------


def test_gbk_upload_detects_encoding_and_maps_chinese_headers(importer):
    # when
    batch = upload(importer, csv_bytes(HEADER, ROWS))
    # then
    assert batch.detected_encoding in ("gb18030", "gbk")
    assert batch.headers == HEADER
    assert batch.mapping == {"客户名称": "name", "税号": "code", "行业": "industry", "级别": "tier", "电话": "phone",
                             "邮箱": "email", "负责人": "owner", "城市": "city"}
    assert batch.status == ImportBatch.Status.UPLOADED
    assert len(batch.sha256) == 64
    assert services.batch_path(batch).read_bytes() == csv_bytes(HEADER, ROWS)


def test_dry_run_reports_exact_outcomes_and_writes_nothing(importer, existing):
    # given
    batch = upload(importer, csv_bytes(HEADER, ROWS))
    before_names, before_audit = account_names(), AuditEntry.objects.count()
    # when
    batch = run(batch, importer, dry_run=True)
    # then
    assert batch.status == ImportBatch.Status.DRY_RUN_DONE
    result = outcomes(batch)
    assert result[2] == ("create", [])
    assert result[3][0] == "error"
    assert result[3][1][0][0] == "电话"
    assert "not a valid phone number" in result[3][1][0][1]
    assert result[4][0] == "error"
    assert result[4][1][0][0] == "邮箱"
    assert result[5][0] == "duplicate"
    assert "华为技术有限公司" in ImportBatchRow.objects.get(batch=batch, number=5).note
    assert result[6] == ("update", [])
    assert result[7] == ("unchanged", [])
    assert result[8][0] == "duplicate"
    assert "row 2" in ImportBatchRow.objects.get(batch=batch, number=8).note
    assert result[9][0] == "error"
    assert result[9][1][0][0] == "负责人"
    assert (batch.created_count, batch.updated_count, batch.unchanged_count, batch.skipped_count,
            batch.error_count) == (1, 1, 1, 2, 3)
    assert (batch.rows_done, batch.rows_total) == (8, 8)
    assert account_names() == before_names
    assert Account.objects.get(code="TAX-900").city == "上海"
    assert AuditEntry.objects.count() == before_audit


def test_real_run_creates_and_updates_exactly(importer, existing):
    # given
    batch = upload(importer, csv_bytes(HEADER, ROWS))
    # when
    batch = run(batch, importer, dry_run=True)
    batch = run(batch, importer, dry_run=False)
    # then
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.created_count, batch.updated_count, batch.unchanged_count, batch.skipped_count,
            batch.error_count) == (1, 1, 1, 2, 3)
    created = Account.objects.get(code="TAX-001")
    assert (created.name, created.industry, created.tier, created.phone, created.email, created.owner,
            created.city) == ("星辰贸易有限公司", "software", "a", "+8613812345678", "info@xingchen.cn", importer,
                              "上海")
    assert Account.objects.get(code="TAX-900").city == "北京"
    assert account_names() == {"华为技术有限公司", "旧客户有限公司", "稳定客户有限公司", "星辰贸易有限公司"}
    entry = AuditEntry.objects.filter(object_id=str(created.pk), action=AuditEntry.Action.CREATE).get()
    assert entry.channel == "import"


def test_api_style_nothing_written_for_user_without_import_permission(db, existing):
    # given: may add and change accounts, but not import them
    user = make_importer("clerk", "view_account", "add_account", "change_account")
    batch = ImportBatch.objects.create(user=user, declaration="crm.account", filename="x.csv", sha256="0" * 64,
                                       file_path="imports/none", headers=HEADER, mapping={"客户名称": "name"})
    # when
    with pytest.raises(DomainError):
        services.undo_batch(batch, actor=user)
    # then: the selectors hide batches of a declaration the user may not import
    assert not selectors.list_batches(user).exists()


# --- upsert --------------------------------------------------------------------------------


def test_upsert_by_external_id_then_by_natural_key(importer):
    # given
    header = ["Name", "External id", "Tax id", "City"]
    first = upload(importer, csv_bytes(header, [["Acme", "OLD-1", "", "Paris"]], "utf-8"), options={"source": "oldcrm"})
    assert first.mapping["External id"] == "__external_id__"
    run(first, importer, dry_run=False)
    acme = Account.objects.get(name="Acme")
    assert ExternalId.objects.get(source="oldcrm", value="OLD-1").object_id == str(acme.pk)
    # when: the same old id with another name and city updates the same record
    second = upload(importer, csv_bytes(header, [["Acme SA", "OLD-1", "FR-1", "Lyon"]], "utf-8"),
                    options={"source": "oldcrm"})
    second = run(second, importer, dry_run=False)
    # then
    acme.refresh_from_db()
    assert (second.updated_count, second.created_count) == (1, 0)
    assert (acme.name, acme.city, acme.code) == ("Acme SA", "Lyon", "FR-1")
    # when: a file without the old id but with the tax id updates it by natural key
    third = upload(importer, csv_bytes(["Name", "Tax id", "City"], [["Acme SA", "FR-1", "Nice"]], "utf-8"))
    third = run(third, importer, dry_run=False)
    acme.refresh_from_db()
    assert (third.updated_count, acme.city, Account.objects.count()) == (1, "Nice", 1)


@pytest.fixture
def accounts_by_name_and_city(monkeypatch):
    """Accounts known by their name and city together (a key of two fields), read in chunks of two rows."""
    import dataclasses

    from bizloom.integration.imports import declarations, engine

    declaration = dataclasses.replace(declarations.get_declaration("crm.account"), natural_keys=(("name", "city"),))
    monkeypatch.setitem(declarations._REGISTRY, "crm.account", declaration)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)


def test_upsert_by_a_key_of_two_fields(importer, accounts_by_name_and_city):
    # given: Acme in Paris and Acme without a city, and a file that names them and two new ones
    paris = crm_services.create_account({"name": "Acme", "city": "Paris"}, actor=importer)
    nowhere = crm_services.create_account({"name": "Acme"}, actor=importer)
    rows = [["Acme", "Paris", "paris note"],       # Acme in Paris
            ["Acme", "", "no city note"],          # Acme without a city
            ["Acme", "Lyon", "new"],               # no Acme in Lyon: created (a duplicate by name: created anyway)
            ["Acme", "Lyon", "changed"],           # the one created the row above, in the same chunk
            ["Beta", "Paris", "new"]]
    batch = upload(importer, csv_bytes(["Name", "City", "Notes"], rows, "utf-8"), options={"duplicates": "create"})
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    assert [outcome for outcome, _errors in outcomes(batch).values()] == ["update", "update", "create", "update",
                                                                         "create"]
    paris.refresh_from_db()
    nowhere.refresh_from_db()
    assert (paris.notes, nowhere.notes) == ("paris note", "no city note")
    assert list(Account.objects.filter(name="Acme", city="Lyon").values_list("notes", flat=True)) == ["changed"]
    assert Account.objects.count() == 4


def test_external_id_column_needs_a_source(importer):
    batch = upload(importer, csv_bytes(["Name", "External id"], [["Acme", "1"]], "utf-8"))
    with pytest.raises(ValidationFailed) as caught:
        services.start_run(batch, dry_run=True, actor=importer)
    assert "External id" in caught.value.fields


@pytest.mark.parametrize(("policy", "expected"), [
    ("skip_case", ("duplicate", 1, "上海")),
    ("update_case", ("update", 1, "深圳")),
    ("create_case", ("create", 2, "上海")),
])
def test_duplicate_policies(importer, policy, expected):
    # given: an account and a file row that matches it by email, without a natural key
    crm_services.create_account({"name": "Acme Trading", "email": "sales@acme.example", "city": "上海"},
                                actor=importer)
    content = csv_bytes(["Name", "Email", "City"], [["ACME Trading Co", "sales@acme.example", "深圳"]], "utf-8")
    batch = upload(importer, content, options={"duplicates": policy.removesuffix("_case")})
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    row = ImportBatchRow.objects.get(batch=batch, number=2)
    outcome, count, city = expected
    assert row.outcome == outcome
    assert Account.objects.count() == count
    assert Account.objects.order_by("pk").first().city == city  # type: ignore[union-attr]


# --- access --------------------------------------------------------------------------------


def test_owner_outside_the_importers_scope_is_a_row_error(db):
    # given: an importer who sees only their own accounts, and a colleague
    importer = make_importer("own", scope="own")
    User.objects.create_user(username="colleague", password="pw-secret-123")
    content = csv_bytes(["名称", "负责人"], [["甲公司", "colleague"], ["乙公司", "own"]])
    batch = upload(importer, content)
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    result = outcomes(batch)
    assert result[2][0] == "error"
    assert result[2][1] == [("负责人", "No user “colleague” that you may assign records to.")]
    assert result[3] == ("create", [])
    assert account_names() == {"乙公司"}


def test_readonly_or_hidden_field_in_the_mapping_is_refused(db):
    # given
    importer = make_importer("limited", field_rules={"annual_revenue": "readonly", "owner": "hidden"})
    content = csv_bytes(["名称", "年收入", "负责人"], [["甲公司", "100", "limited"]])
    batch = upload(importer, content)
    assert batch.mapping == {"名称": "name"}  # never proposed
    # when / then
    with pytest.raises(ValidationFailed) as caught:
        services.set_mapping(batch, {"名称": "name", "年收入": "annual_revenue", "负责人": "owner"}, actor=importer)
    assert set(caught.value.fields) == {"年收入", "负责人"}
    batch.refresh_from_db()
    assert batch.mapping == {"名称": "name"}
    assert not Account.objects.exists()


def test_readonly_field_in_a_stored_mapping_fails_the_run_before_writing(db):
    importer = make_importer("limited2", field_rules={"city": "readonly"})
    batch = upload(importer, csv_bytes(["名称", "城市"], [["甲公司", "北京"]]))
    ImportBatch.objects.filter(pk=batch.pk).update(mapping={"名称": "name", "城市": "city"})
    batch.refresh_from_db()
    with pytest.raises(ValidationFailed):
        services.start_run(batch, dry_run=False, actor=importer)
    assert not Account.objects.exists()


def test_update_of_a_record_outside_the_change_scope_is_a_row_error(db):
    # given: an account of someone else the importer may view but not change
    other = User.objects.create_user(username="other", password="pw-secret-123")
    crm_services.create_account({"name": "别人的客户", "code": "TAX-7"}, actor=other)
    importer = make_importer("viewall", *IMPORT_PERMS)
    RoleScope.objects.create(role=importer.groups.get(), content_type=ContentType.objects.get_for_model(Account),
                             action="change", scope="own")
    importer = User.objects.get(pk=importer.pk)
    batch = upload(importer, csv_bytes(["名称", "税号", "城市"], [["别人的客户", "TAX-7", "北京"]]))
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    assert outcomes(batch)[2] == ("error", [(None, "You may not change 别人的客户.")])
    assert Account.objects.get(code="TAX-7").city == ""


# --- same file, undo, error file ---------------------------------------------------------


def test_same_file_twice_needs_confirmation(importer):
    content = csv_bytes(HEADER, ROWS)
    first = upload(importer, content)
    with pytest.raises(ValidationFailed) as caught:
        upload(importer, content)
    assert caught.value.code == "same_file"
    assert caught.value.context["batch"] == first.pk
    assert ImportBatch.objects.count() == 1
    second = upload(importer, content, confirm_duplicate_file=True)
    assert second.sha256 == first.sha256


def test_undo_deletes_created_and_restores_updated(importer, existing):
    # given
    batch = run(upload(importer, csv_bytes(HEADER, ROWS)), importer, dry_run=False)
    assert Account.objects.filter(code="TAX-001").exists()
    # when
    batch = services.undo_batch(batch, actor=importer)
    # then
    assert batch.status == ImportBatch.Status.UNDONE
    assert account_names() == {"华为技术有限公司", "旧客户有限公司", "稳定客户有限公司"}
    assert Account.objects.get(code="TAX-900").city == "上海"
    deleted = AuditEntry.objects.filter(action=AuditEntry.Action.DELETE).get()
    assert deleted.channel == "import"
    with pytest.raises(DomainError):
        services.undo_batch(batch, actor=importer)


def test_undo_is_refused_while_a_record_is_referred_to(importer, existing, monkeypatch):
    # No model refers to Account yet (contacts come later), so the reference is simulated: the
    # delete raises ProtectedError as Django does for an on_delete=PROTECT foreign key.
    batch = run(upload(importer, csv_bytes(HEADER, ROWS)), importer, dry_run=False)
    created = Account.objects.get(code="TAX-001")
    original_delete = Account.delete

    def protected_delete(self, *args, **kwargs):
        if self.pk == created.pk:
            raise ProtectedError("referenced", {created})
        return original_delete(self, *args, **kwargs)

    monkeypatch.setattr(Account, "delete", protected_delete)
    # when
    with pytest.raises(DomainError) as caught:
        services.undo_batch(batch, actor=importer)
    # then: nothing undone, the message names the record
    assert "星辰贸易有限公司" in caught.value.message
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert Account.objects.get(code="TAX-900").city == "北京"
    assert Account.objects.filter(pk=created.pk).exists()


def test_error_file_round_trip(importer, existing):
    # given
    batch = run(upload(importer, csv_bytes(HEADER, ROWS)), importer, dry_run=False)
    header, rows = selectors.error_file_rows(batch)
    from bizloom.platform.exporting import iter_csv

    text = "".join(iter_csv(header, rows))
    # then: UTF-8 BOM, original cells and the error column, only the error rows
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed[0] == [*HEADER, "错误 / Errors"]
    assert [r[0] for r in parsed[1:]] == ["月光科技有限公司", "阳光物流有限公司", "幽灵公司"]
    assert parsed[1][-1].startswith("电话: ")
    # when: the user fixes the values and uploads the error file again
    fixed = [r for r in parsed[1:]]
    fixed[0][4] = "13987654321"
    fixed[1][5] = "hello@sun.example"
    fixed[2][6] = "mei"
    again = upload(importer, csv_bytes(parsed[0], fixed, "utf-8-sig"), filename="errors.csv")
    assert "错误 / Errors" not in again.mapping
    again = run(again, importer, dry_run=False)
    # then
    assert (again.created_count, again.error_count) == (3, 0)
    assert Account.objects.get(code="TAX-002").phone == "+8613987654321"


def test_mapping_template_is_saved_and_reused(importer):
    content = csv_bytes(["Firma", "Ort"], [["Acme GmbH", "Berlin"]], "utf-8")
    batch = upload(importer, content, options={"source": "sap"})
    services.set_mapping(batch, {"Firma": "name", "Ort": "city"}, actor=importer, save_template=True)
    assert ImportMappingTemplate.objects.get(declaration="crm.account", source="sap").mapping == {
        "Firma": "name", "Ort": "city"}
    again = upload(importer, content + b"\r\nBeta AG,Bonn", options={"source": "sap"})
    assert again.mapping == {"Firma": "name", "Ort": "city"}
    again = run(again, importer, dry_run=False)
    assert Account.objects.get(name="Beta AG").city == "Bonn"


def test_values_parsed_in_any_language(importer):
    header = ["Name", "Industry", "Tier", "Customer", "Supplier", "Annual revenue"]
    rows = [["Gamma", "軟件和信息技術", "B", "否", "是", "¥1,234.50"]]
    batch = run(upload(importer, csv_bytes(header, rows, "utf-8")), importer, dry_run=False)
    assert batch.error_count == 0, outcomes(batch)
    gamma = Account.objects.get(name="Gamma")
    assert (gamma.tier, gamma.is_customer, gamma.is_supplier, gamma.annual_revenue) == (
        "b", False, True, Decimal("1234.5"))


def test_unreadable_file_is_refused_with_its_code_and_not_kept(importer, media_root):
    with pytest.raises(ValidationFailed) as caught:
        upload(importer, b"PK\x03\x04broken", filename="accounts.xlsx")
    assert caught.value.code == "broken_zip"
    assert not ImportBatch.objects.exists()
    assert not list((media_root / "imports").glob("*"))


def test_upload_counts_the_rows_and_refuses_a_file_over_the_row_limit(importer, media_root):
    from bizloom.integration.importing import Limits

    rows = [[f"客户{i}", "", "", "", "", "", "", ""] for i in range(6)]
    # the count is known before any run (the progress bar's total; the runs do not read the file twice)
    assert upload(importer, csv_bytes(HEADER, rows)).rows_total == 6
    # a file over the limit is refused on upload, with its code, and not kept
    with pytest.raises(ValidationFailed) as caught:
        upload(importer, csv_bytes(HEADER, rows), limits=Limits(max_rows=5), confirm_duplicate_file=True)
    assert caught.value.code == "too_many_rows"
    assert ImportBatch.objects.count() == 1
    assert len(list((media_root / "imports").glob("*"))) == 1


def test_custom_fields_are_matched_validated_and_written(importer):
    # given: two custom fields of accounts, one of them a number
    from bizloom.platform.customfields import services as cf_services

    admin = User.objects.create_superuser("cfadmin", password="pw-secret-123", email="cf@example.com")
    cf_services.create_custom_field({"content_type": Account, "key": "source", "type": "text", "label_en": "Source",
                                     "label_zh_hans": "客户来源"}, actor=admin)
    cf_services.create_custom_field({"content_type": Account, "key": "staff", "type": "integer",
                                     "label_en": "Staff", "label_zh_hans": "员工人数"}, actor=admin)
    content = csv_bytes(["名称", "客户来源", "员工人数"], [["甲公司", "展会", "120"], ["乙公司", "官网", "很多"]])
    # when
    batch = upload(importer, content)
    assert batch.mapping == {"名称": "name", "客户来源": "cf_source", "员工人数": "cf_staff"}
    batch = run(batch, importer, dry_run=False)
    # then
    result = outcomes(batch)
    assert result[2] == ("create", [])
    assert result[3][0] == "error"
    assert [column for column, _message in result[3][1]] == ["员工人数"]
    assert Account.objects.get(name="甲公司").custom_data == {"source": "展会", "staff": 120}
    assert not Account.objects.filter(name="乙公司").exists()

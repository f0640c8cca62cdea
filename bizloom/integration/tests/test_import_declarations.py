"""Import declarations of contacts, users and departments (issue #5), and the engine's chunked fast path."""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
from collections.abc import Iterable
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.events import ContactCreated
from bizloom.crm.models import Account, Contact
from bizloom.integration.imports import declarations, selectors, services
from bizloom.integration.models import ExternalId, ImportBatch
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events.models import OutboxMessage
from bizloom.platform.models import Department, RoleScope, User
from bizloom.platform.org import services as org_services

CONTACT_PERMS = ("view_contact", "add_contact", "change_contact", "delete_contact", "import_contact",
                 "view_account")


def csv_bytes(header: list[str], rows: Iterable[list[str]], encoding: str = "gbk") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def make_user(username: str, *codenames: str, scope: str | None = None) -> User:
    role = Group.objects.create(name=f"role-{username}")
    role.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    if scope is not None:
        for codename in codenames:
            action, model = codename.split("_", 1)
            RoleScope.objects.create(role=role, content_type=ContentType.objects.get(app_label="crm", model=model),
                                     action=action, scope=scope)
    user = User.objects.create_user(username=username, password="pw-secret-123", email=f"{username}@example.com")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def importer(db) -> User:
    return make_user("mei", *CONTACT_PERMS)


def upload(user: User, content: bytes, declaration: str, **kwargs: Any) -> ImportBatch:
    return services.upload_batch(iter([content]), filename=kwargs.pop("filename", "data.csv"),
                                 declaration=declaration, actor=user, **kwargs)


def run(batch: ImportBatch, user: User, *, dry_run: bool) -> ImportBatch:
    services.start_run(batch, dry_run=dry_run, actor=user)
    return services.execute_batch(batch.pk, dry_run=dry_run)


def outcomes(batch: ImportBatch) -> dict[int, tuple[str, list[tuple[str | None, str]]]]:
    return {row.number: (row.outcome, [(e["column"], e["message"]) for e in row.errors])
            for row in selectors.list_rows(batch)}


# --- contacts ----------------------------------------------------------------------------------

CONTACT_HEADER = ["姓名", "客户", "职位", "手机", "办公电话", "邮箱", "生日", "同意邮件"]


@pytest.fixture
def accounts(importer) -> dict[str, Account]:
    return {
        "xc": crm_services.create_account({"name": "星辰贸易有限公司", "code": "91310000MA1FL8XQ30"}, actor=importer),
        "yg": crm_services.create_account({"name": "月光科技有限公司"}, actor=importer),
    }


@pytest.fixture
def known_contact(importer, accounts) -> Contact:
    return crm_services.create_contact({"name": "王芳", "email": "wang.fang@xingchen.cn", "mobile": "13900001111",
                                        "account": accounts["xc"]}, actor=importer)


CONTACT_ROWS = [
    ["张伟", "星辰贸易有限公司", "采购经理", "138 1234 5678", "", "Zhang.Wei@XingChen.cn", "1985/3/5", "是"],  # 2
    ["李娜", "91310000MA1FL8XQ30", "", "", "021-6234 5678", "", "", ""],         # 3 create, account by tax id
    ["王芳（重复）", "", "", "", "", "WANG.FANG@xingchen.cn", "", ""],              # 4 duplicate of the DB (email)
    ["刘洋", "月光科技", "", "", "", "not-an-email", "", ""],                        # 5 error: email
    ["陈静", "不存在的公司", "", "", "", "", "", ""],                                 # 6 error: unknown account
    ["赵磊", "", "", "", "13812345678", "", "", ""],                                # 7 duplicate of row 2 (phone)
    ["孙丽", "", "", "", "", "", "3月5日", "也许"],                                  # 8 two cell errors
]


def test_contact_headers_in_chinese_and_english_are_matched(importer):
    # when
    chinese = upload(importer, csv_bytes(CONTACT_HEADER, []), "crm.contact")
    english = upload(importer, csv_bytes(["Full Name", "Company", "Job Title", "Mobile", "Office Phone", "E-mail",
                                          "Birthday", "Email opt-in"], [], "utf-8"), "crm.contact")
    # then
    expected = ["name", "account", "position", "mobile", "phone", "email", "birthday", "consent_email"]
    assert [chinese.mapping[h] for h in chinese.headers] == expected
    assert [english.mapping[h] for h in english.headers] == expected


def test_contact_dry_run_outcomes(importer, known_contact, accounts):
    # given
    batch = upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS), "crm.contact")
    contacts_before = Contact.objects.count()
    # when
    batch = run(batch, importer, dry_run=True)
    # then
    result = outcomes(batch)
    assert result[2] == ("create", [])
    assert result[3] == ("create", [])
    assert result[4][0] == "duplicate"
    assert "王芳" in selectors.list_rows(batch).get(number=4).note
    assert result[5][0] == "error"
    assert result[5][1][0][0] == "邮箱"
    assert result[6] == ("error", [("客户", "No account “不存在的公司” that you may see.")])
    assert result[7][0] == "duplicate"
    assert "row 2" in selectors.list_rows(batch).get(number=7).note
    assert result[8][0] == "error"
    assert {column for column, _message in result[8][1]} == {"生日", "同意邮件"}
    assert (batch.created_count, batch.skipped_count, batch.error_count) == (2, 2, 3)
    assert Contact.objects.count() == contacts_before


def test_the_worker_logs_the_time_of_each_phase_of_a_run(importer, accounts, caplog):
    # given
    batch = upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS), "crm.contact")
    # when
    with caplog.at_level("INFO", logger="bizloom.imports"):
        run(batch, importer, dry_run=True)
        run(batch, importer, dry_run=False)
    # then: one line per run, naming its phases in order, with their seconds
    lines = [record for record in caplog.records if hasattr(record, "import_phases")]
    assert [list(line.import_phases) for line in lines] == [  # type: ignore[attr-defined]
        ["start", "index", "rows", "rollback", "results"], ["start", "index", "rows", "commit"]]
    assert f"import batch {batch.pk} (dry run, 7 rows): start " in lines[0].getMessage()
    assert all(seconds >= 0 for line in lines for seconds in line.import_phases.values())  # type: ignore[attr-defined]


def test_a_run_leaves_no_garbage_that_holds_its_rows(importer, known_contact, accounts):
    """Refused values (an invalid email, an unknown account, a bad date) must not leave reference
    cycles that hold the run's rows: the worker would keep every chunk until the collector ran."""
    # given
    batch = upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS), "crm.contact")
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        # when
        batch = run(batch, importer, dry_run=True)
        gc.collect()
        kinds = {type(garbage).__name__ for garbage in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    # then
    assert batch.error_count == 3
    assert not kinds & {"RawRow", "RowResult", "Engine", "frame"}


def test_contact_real_run_normalises_through_the_contact_rules(importer, known_contact, accounts):
    # given
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS), "crm.contact"), importer, dry_run=True)
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    assert batch.status == ImportBatch.Status.DONE
    zhang = Contact.objects.get(name="张伟")
    assert (zhang.account, zhang.position, zhang.mobile, zhang.email, str(zhang.birthday), zhang.consent_email,
            zhang.owner) == (accounts["xc"], "采购经理", "+8613812345678", "zhang.wei@xingchen.cn", "1985-03-05",
                             True, importer)
    assert zhang.consent_email_at is not None
    li = Contact.objects.get(name="李娜")
    assert (li.account, li.phone) == (accounts["xc"], "+862162345678")
    assert set(Contact.objects.values_list("name", flat=True)) == {"王芳", "张伟", "李娜"}
    entry = AuditEntry.objects.get(object_id=str(zhang.pk), action=AuditEntry.Action.CREATE,
                                   content_type=ContentType.objects.get_for_model(Contact))
    assert entry.channel == "import"
    assert entry.changes["email"] == [None, "zhang.wei@xingchen.cn"]


def test_contact_account_outside_the_importers_scope_is_not_found(db):
    # given: an account of somebody else, and an importer who sees only their own
    other = User.objects.create_user(username="other", password="pw-secret-123")
    hidden = crm_services.create_account({"name": "隐藏客户有限公司"}, actor=other)
    importer = make_user("own", *CONTACT_PERMS, scope="own")
    batch = upload(importer, csv_bytes(["姓名", "客户"], [["张伟", hidden.name]]), "crm.contact")
    # when
    batch = run(batch, importer, dry_run=True)
    # then
    assert outcomes(batch)[2] == ("error", [("客户", "No account “隐藏客户有限公司” that you may see.")])


def test_contact_account_by_external_id_of_the_source(importer, accounts):
    # given: the old system's id of an account, recorded when accounts were imported
    ExternalId.objects.create(content_type=ContentType.objects.get_for_model(Account), object_id=str(accounts["yg"].pk),
                              source="oldcrm", value="A-77")
    batch = upload(importer, csv_bytes(["姓名", "客户"], [["周杰", "A-77"]]), "crm.contact",
                   options={"source": "oldcrm"})
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    assert outcomes(batch)[2] == ("create", [])
    assert Contact.objects.get(name="周杰").account == accounts["yg"]


def test_contact_undo_deletes_what_the_batch_created(importer, accounts):
    # given
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS[:2]), "crm.contact"), importer, dry_run=False)
    assert Contact.objects.count() == 2
    # when
    services.undo_batch(batch, actor=importer)
    # then
    assert Contact.objects.count() == 0
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.UNDONE


@pytest.mark.parametrize("policy", ["skip", "update", "create"])
def test_fast_path_gives_the_same_outcomes_as_the_services_row_by_row(importer, known_contact, accounts, policy,
                                                                     monkeypatch):
    # given: the same file run through prepare/bulk_save, and through create_contact row by row
    rows = [*CONTACT_ROWS, ["张伟", "", "", "", "", "zhang.wei@xingchen.cn", "", ""]]  # 9: same person as row 2
    content = csv_bytes(CONTACT_HEADER, rows)
    fast = run(upload(importer, content, "crm.contact", options={"duplicates": policy}), importer, dry_run=True)
    slow_declaration = dataclasses.replace(declarations.get_declaration("crm.contact"), prepare=None, bulk_save=None)
    monkeypatch.setitem(declarations._REGISTRY, "crm.contact", slow_declaration)
    # when
    slow = run(upload(importer, content, "crm.contact", options={"duplicates": policy},
                      confirm_duplicate_file=True), importer, dry_run=True)
    # then
    def comparable(batch: ImportBatch) -> list[tuple[Any, ...]]:
        return [(r.number, r.outcome, r.label, r.note, r.errors) for r in selectors.list_rows(batch)]

    assert comparable(fast) == comparable(slow)


FULL_HEADER = ["姓名", "客户", "职位", "部门", "手机", "办公电话", "邮箱", "微信", "生日", "同意邮件", "同意短信",
               "备注"]
FULL_ROWS = [
    ["张伟", "星辰贸易有限公司", "采购经理", "", "138 1234 5678", "", "Zhang.Wei@XingChen.cn", "", "1985/3/5", "是", "",
     ""],
    ["  李　娜 ", "91310000MA1FL8XQ30", "ｃｅｏ", "财务部", "", "021-6234 5678", "", "ｗｘ＿lina", "", "否", "是",
     "第一行\n第二行"],
    ["Ｍａｒｙ Smith", "", "", "Sales", "+44 20 7946 0958", "13900002222", "MARY@EXAMPLE.COM", "", "2001年2月3日", "",
     "yes", "=1+1"],
]


def test_fast_path_writes_what_create_contact_writes(importer, accounts, django_capture_on_commit_callbacks):
    # given: rows that use every importable field (width folding, phones, consents, dates, quotes)
    content = csv_bytes(FULL_HEADER, FULL_ROWS)
    # when: the bulk path
    batch = run(upload(importer, content, "crm.contact"), importer, dry_run=False)
    assert batch.created_count == len(FULL_ROWS), outcomes(batch)
    imported = list(Contact.objects.order_by("pk"))
    # and the service row by row, through the engine (the same cells, the same file)
    slow_declaration = dataclasses.replace(declarations.get_declaration("crm.contact"), prepare=None, bulk_save=None)
    declarations._REGISTRY["crm.contact"], fast_declaration = slow_declaration, declarations._REGISTRY["crm.contact"]
    try:
        run(upload(importer, content, "crm.contact", confirm_duplicate_file=True,
                   options={"duplicates": "create"}), importer, dry_run=False)
    finally:
        declarations._REGISTRY["crm.contact"] = fast_declaration
    reference = list(Contact.objects.order_by("pk"))[len(FULL_ROWS):]
    # then: the same columns, the same audit entries and the same events
    ct = ContentType.objects.get_for_model(Contact)
    varying = {"id", "created_at", "updated_at", "consent_email_at", "consent_sms_at"}

    def stored(contact: Contact) -> dict[str, Any]:
        columns = {f.attname: getattr(contact, f.attname) for f in Contact._meta.concrete_fields}
        stamps = {name: columns[name] is not None for name in ("consent_email_at", "consent_sms_at")}
        return {**{k: v for k, v in columns.items() if k not in varying}, **stamps}

    def changes(contact: Contact) -> dict[str, Any]:
        entry = AuditEntry.objects.get(content_type=ct, object_id=str(contact.pk), action="create")
        assert (entry.object_repr, entry.actor_id, entry.channel) == (contact.name, importer.pk, "import")
        return {k: v for k, v in entry.changes.items() if k not in varying}

    published = [(m.handler, payload) for m in OutboxMessage.objects.filter(event_name=ContactCreated.name)
                 for payload in m.payloads()]

    def event(contact: Contact) -> list[tuple[str, dict[str, Any]]]:
        found = [(handler, {k: v for k, v in payload.items() if k != "contact_id"})
                 for handler, payload in published if payload["contact_id"] == contact.pk]
        assert found  # the duplicate queue subscribes to new contacts
        return sorted(found, key=str)

    for fast, slow in zip(imported, reference, strict=True):
        assert stored(fast) == stored(slow)
        assert changes(fast) == changes(slow)
        assert event(fast) == event(slow)
    assert stored(imported[1])["consent_sms_at"]
    assert imported[1].name == "李 娜"


def test_failed_bulk_insert_falls_back_to_the_service_row_by_row(importer, accounts, monkeypatch):
    # given: a bulk insert that fails
    spec = declarations.get_declaration("crm.contact")

    def broken(contacts: list[Contact], actor: Any, writes: Any) -> None:
        raise DatabaseError("disk I/O error")

    monkeypatch.setitem(declarations._REGISTRY, "crm.contact", dataclasses.replace(spec, bulk_save=broken))
    # when
    batch = run(upload(importer, csv_bytes(CONTACT_HEADER, CONTACT_ROWS[:2]), "crm.contact"), importer,
                dry_run=False)
    # then
    assert outcomes(batch) == {2: ("create", []), 3: ("create", [])}
    assert set(Contact.objects.values_list("name", flat=True)) == {"张伟", "李娜"}


def test_same_key_twice_in_one_chunk_updates_the_record_created_above(importer, accounts):
    # given: the old system lists one contact twice (same external id), the second time with a position
    rows = [["C-1", "高明", ""], ["C-2", "何静", ""], ["C-1", "高明", "总经理"]]
    batch = upload(importer, csv_bytes(["外部编号", "姓名", "职位"], rows), "crm.contact", options={"source": "old"})
    # when
    batch = run(batch, importer, dry_run=False)
    # then
    assert [o for o, _e in outcomes(batch).values()] == ["create", "create", "update"]
    assert Contact.objects.get(name="高明").position == "总经理"
    assert ExternalId.objects.filter(source="old").count() == 2


# --- users ---------------------------------------------------------------------------------------

USER_HEADER = ["用户名", "姓名", "邮箱", "部门", "角色", "密码"]


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_user(username="boss", password="pw-secret-123", is_staff=True)


@pytest.fixture
def org(admin) -> dict[str, Any]:
    sales = org_services.create_department("销售部", actor=admin)
    east = org_services.create_department("华东组", parent=sales, actor=admin)
    support = org_services.create_department("客服部", actor=admin)
    org_services.create_department("华东组", parent=support, actor=admin)
    return {"sales": sales, "east": east, "rep": Group.objects.create(name="销售代表"),
            "manager": Group.objects.create(name="经理")}


def test_user_import_sets_department_and_roles_never_a_password(admin, org):
    # given
    rows = [["zhangwei", "张伟", "Zhang.Wei@example.com", "销售部/华东组", "销售代表、经理", "secret123"],
            ["lina", "Li Na", "", "华东组", "", ""],             # ambiguous department
            ["wangfang", "王芳", "", "销售部", "不存在", ""]]      # unknown role
    batch = upload(admin, csv_bytes(USER_HEADER, rows), "platform.user")
    assert "密码" not in batch.mapping  # a password column is never proposed
    # when
    batch = run(batch, admin, dry_run=False)
    # then
    result = outcomes(batch)
    assert result[2] == ("create", [])
    assert result[3][0] == "error"
    assert result[3][1][0][0] == "部门"
    assert result[4] == ("error", [("角色", "No role “不存在”.")])
    user = User.objects.get(username="zhangwei")
    assert (user.last_name, user.first_name, str(user), user.email, user.department) == (
        "张", "伟", "张伟", "zhang.wei@example.com", org["east"])
    assert set(user.groups.values_list("name", flat=True)) == {"销售代表", "经理"}
    assert not user.has_usable_password()
    assert not user.is_superuser
    assert not user.is_staff


def test_user_import_refuses_a_mapped_password_or_superuser_column(admin):
    batch = upload(admin, csv_bytes(["username", "password", "is_superuser"], [["x", "y", "1"]]), "platform.user")
    # when
    with pytest.raises(ValidationFailed) as failure:
        services.set_mapping(batch, {"username": "username", "password": "password", "is_superuser": "is_superuser"},
                             actor=admin)
    # then
    assert set(failure.value.fields) == {"password", "is_superuser"}


def test_user_import_update_by_username_and_undo_restores_roles(admin, org):
    # given
    existing = User.objects.create_user(username="zhao", password="pw-secret-123", email="zhao@example.com")
    existing.groups.add(org["rep"])
    batch = run(upload(admin, csv_bytes(["用户名", "角色"], [["zhao", "经理"]]), "platform.user"), admin,
                dry_run=False)
    assert outcomes(batch)[2] == ("update", [])
    assert set(existing.groups.values_list("name", flat=True)) == {"经理"}
    # when
    services.undo_batch(batch, actor=admin)
    # then
    assert set(existing.groups.values_list("name", flat=True)) == {"销售代表"}
    assert existing.has_usable_password()


def test_user_and_department_imports_need_the_administrator(importer):
    # when / then
    assert not declarations.get_declaration("platform.user").may(importer, "import")
    departments = declarations.get_declaration("platform.department")
    with pytest.raises(PermissionDeniedError):
        departments.require(importer, "import")


def test_upload_page_does_not_offer_users_to_a_non_administrator(importer, client):
    # given
    client.force_login(importer)
    # when
    response = client.post("/imports/new/", {"declaration": "platform.user"})
    # then
    assert response.status_code == 422
    assert b'value="platform.user"' not in response.content
    assert b'value="crm.contact"' in response.content
    assert not ImportBatch.objects.exists()


# --- departments -------------------------------------------------------------------------------


def test_department_import_builds_the_tree_from_names(admin, org):
    # given: a parent created a few rows above, and one by path
    rows = [["研发部", "", "boss", "1"], ["平台组", "研发部", "", "2"], ["大客户组", "销售部/华东组", "", ""],
            ["孤儿组", "不存在的部门", "", ""], ["坏排序", "", "", "1.5"]]
    batch = upload(admin, csv_bytes(["部门名称", "上级部门", "负责人", "排序"], rows), "platform.department")
    assert batch.mapping == {"部门名称": "name", "上级部门": "parent", "负责人": "manager", "排序": "ordering"}
    # when
    batch = run(batch, admin, dry_run=False)
    # then
    result = outcomes(batch)
    assert [result[n][0] for n in (2, 3, 4, 5, 6)] == ["create", "create", "create", "error", "error"]
    assert result[5][1][0][0] == "上级部门"
    platform = Department.objects.get(name="平台组")
    assert platform.parent == Department.objects.get(name="研发部")
    assert platform.path.startswith(platform.parent.path)
    assert Department.objects.get(name="研发部").manager == admin
    assert Department.objects.get(name="大客户组").parent == org["east"]
    # and undo removes them, children first
    services.undo_batch(batch, actor=admin)
    assert not Department.objects.filter(name__in=["研发部", "平台组", "大客户组"]).exists()


DEPARTMENT_HEADER = ["部门名称", "上级部门", "负责人", "排序"]


def test_department_import_updates_a_department_known_by_its_name_under_its_parent(admin, org):
    # given: a file naming departments that exist (at the top level, and under two parents), one
    # that does not, and the same new name twice
    rows = [["销售部", "", "boss", "5"],             # top level: the existing 销售部
            ["华东组", "客服部", "boss", ""],        # the 华东组 under 客服部, not the one under 销售部
            ["华东组", "", "", ""],                  # no 华东组 at the top level: a new one
            ["研发部", "", "", "1"],
            ["研发部", "", "boss", "1"]]             # the 研发部 created two rows above
    before = Department.objects.count()
    # when
    batch = run(upload(admin, csv_bytes(DEPARTMENT_HEADER, rows), "platform.department"), admin, dry_run=False)
    # then
    result = outcomes(batch)
    assert [result[n][0] for n in (2, 3, 4, 5, 6)] == ["update", "update", "create", "create", "update"]
    assert Department.objects.count() == before + 2
    support_east = Department.objects.get(name="华东组", parent=Department.objects.get(name="客服部"))
    assert (support_east.manager, org["east"].manager) == (admin, None)
    assert Department.objects.get(pk=org["sales"].pk).ordering == 5
    assert Department.objects.get(name="研发部").manager == admin
    assert Department.objects.filter(name="华东组", parent=None).count() == 1
    # when: the same file again
    again = run(upload(admin, csv_bytes(DEPARTMENT_HEADER, rows), "platform.department",
                       confirm_duplicate_file=True), admin, dry_run=False)
    # then: nothing new, nothing changed
    assert [outcome for outcome, _errors in outcomes(again).values()] == ["unchanged"] * 5
    assert Department.objects.count() == before + 2
    # and undoing the first import restores the departments it changed and removes the ones it made
    services.undo_batch(again, actor=admin)
    services.undo_batch(batch, actor=admin)
    assert Department.objects.count() == before
    assert Department.objects.get(pk=org["sales"].pk).ordering == 0
    assert Department.objects.get(pk=support_east.pk).manager is None


def test_a_key_of_several_fields_matches_only_when_every_part_is_equal():
    from bizloom.integration.imports.engine import key_value

    parent = Department(pk=7, name="销售部")
    # a record as its pk, an empty text as none, and no key when no part is given
    assert key_value({"parent": parent, "name": "华东组"}, ("parent", "name")) == (7, "华东组")
    assert key_value({"name": "华东组"}, ("parent", "name")) == (None, "华东组")
    assert key_value({"parent": None, "name": ""}, ("parent", "name")) is None
    assert key_value({"code": ""}, ("code",)) is None
    assert key_value({"code": "A-1"}, ("code",)) == ("A-1",)


def test_fast_mobile_agrees_with_the_contact_services_normalisation():
    # given: mobiles over every prefix, written several ways, plus things that are not mobiles
    import random

    from bizloom.crm.normalize import fast_mobile, format_phone, parse_phone

    rng = random.Random(7)
    samples = []
    for prefix in range(100, 200):
        for _ in range(30):
            digits = f"{prefix}{rng.randrange(10**8):08d}"
            samples += [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86{digits}",
                        f"+86 {digits[:3]}-{digits[3:]}"]
    samples += ["1381234567", "138123456789", "+85291234567", "010-12345678", "１３８１２３４５６７８",
                "13812345678 转 12"]
    answered = 0
    # when / then
    for text in samples:
        fast = fast_mobile(text)
        if fast is None:
            continue
        answered += 1
        number = parse_phone(text, "CN", strict=True)  # libphonenumber's answer, which normalize_phone gave before
        assert number is not None, text
        assert fast == format_phone(number), text
    assert answered > len(samples) // 2

"""Import jobs through the REST API and the web pages (issue #5)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bizloom.crm.models import Account
from bizloom.integration.models import ImportBatch
from bizloom.integration.tests import test_import_engine as engine_tests
from bizloom.integration.tests.test_import_engine import HEADER, ROWS, csv_bytes, make_importer

# the engine tests' fixtures
importer, existing, media_root = engine_tests.importer, engine_tests.existing, engine_tests.media_root
API = "/api/v1/integration/imports"


@pytest.fixture
def client_of():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def _upload(client: Client, content: bytes, **extra: str):
    return client.post(API, {"file": SimpleUploadedFile("客户.csv", content, content_type="text/csv"),
                             "declaration": "crm.account", **extra})


def test_api_journey_upload_dry_run_run_errors_undo(importer, existing, client_of, django_capture_on_commit_callbacks):
    client = client_of(importer)
    # when: upload
    response = _upload(client, csv_bytes(HEADER, ROWS))
    # then
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["status"], job["detected_encoding"], job["mapping"]["税号"]) == ("uploaded", "gb18030", "code")
    # when: dry run (the immediate task backend runs it on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{API}/{job['id']}/dry-run")
    assert response.status_code == 202, response.content
    detail = client.get(f"{API}/{job['id']}", {"outcome": "error", "page_size": 2}).json()
    # then
    assert detail["status"] == "dry_run_done"
    assert detail["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "skipped": 2, "errors": 3}
    assert detail["progress"] == {"done": 8, "total": 8}
    assert detail["rows"]["count"] == 3
    assert [r["number"] for r in detail["rows"]["results"]] == [3, 4]
    assert detail["rows"]["results"][0]["errors"][0]["column"] == "电话"
    assert not Account.objects.filter(code="TAX-001").exists()
    # when: the real run
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{API}/{job['id']}/run").status_code == 202
    assert client.get(f"{API}/{job['id']}").json()["status"] == "done"
    assert Account.objects.filter(code="TAX-001").exists()
    # when: the error file
    response = client.get(f"{API}/{job['id']}/errors.csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][-1] == "错误 / Errors"
    assert len(rows) == 4
    # when: undo
    response = client.post(f"{API}/{job['id']}/undo")
    assert response.status_code == 200
    assert response.json()["status"] == "undone"
    assert not Account.objects.filter(code="TAX-001").exists()
    # and a second undo is a conflict
    response = client.post(f"{API}/{job['id']}/undo")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")


def test_api_without_import_permission_is_403_and_writes_nothing(db, client_of, media_root):
    user = make_importer("clerk", "view_account", "add_account", "change_account")
    response = _upload(client_of(user), csv_bytes(HEADER, ROWS))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ImportBatch.objects.exists()
    assert not (media_root / "imports").exists() or not list((media_root / "imports").iterdir())


def test_api_other_users_batch_is_404(importer, client_of):
    job = _upload(client_of(importer), csv_bytes(HEADER, ROWS)).json()
    other = make_importer("other")
    assert client_of(other).get(f"{API}/{job['id']}").status_code == 404
    assert client_of(other).post(f"{API}/{job['id']}/run").status_code == 404


def test_api_same_file_twice_warns_then_accepts_with_confirmation(importer, client_of):
    client = client_of(importer)
    first = _upload(client, csv_bytes(HEADER, ROWS)).json()
    response = _upload(client, csv_bytes(HEADER, ROWS))
    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["batch"]) == ("same_file", first["id"])
    response = _upload(client, csv_bytes(HEADER, ROWS), confirm_same_file="true")
    assert response.status_code == 201
    assert response.json()["same_file_batches"] == [first["id"]]


def test_api_mapping_with_readonly_field_is_422(db, client_of):
    user = make_importer("limited", field_rules={"city": "readonly"})
    client = client_of(user)
    job = _upload(client, csv_bytes(["名称", "城市"], [["甲", "北京"]])).json()
    assert job["mapping"] == {"名称": "name"}
    response = client.put(f"{API}/{job['id']}/mapping", json.dumps({"mapping": {"名称": "name", "城市": "city"}}),
                          content_type="application/json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["城市"]


@pytest.mark.parametrize(("label", "data"), [
    ("no_file_case", {"declaration": "crm.account"}),
    ("unknown_type_case", {"declaration": "nope.thing"}),
    ("bad_policy_case", {"declaration": "crm.account", "duplicates": "merge"}),
    ("binary_case", {"declaration": "crm.account", "file": b"\x00\x01\x02" * 1000}),
    ("renamed_csv_case", {"declaration": "crm.account", "file": b"a,b\n1,2\n", "filename": "x.xlsx"}),
    ("empty_case", {"declaration": "crm.account", "file": b""}),
])
def test_api_bad_uploads_are_problems_not_500(importer, client_of, label, data):
    data = dict(data)
    if "file" in data:
        data["file"] = SimpleUploadedFile(data.pop("filename", "x.csv"), data["file"])
    response = client_of(importer).post(API, data)
    assert 400 <= response.status_code < 500, (label, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/problem+json")
    assert not ImportBatch.objects.exists()


# --- web pages -------------------------------------------------------------------------------


def test_pages_upload_map_dry_run_run_undo(importer, existing, client_of, django_capture_on_commit_callbacks):
    client = client_of(importer)
    assert client.get("/imports/new/").status_code == 200
    response = client.post("/imports/new/", {
        "declaration": "crm.account", "file": SimpleUploadedFile("客户.csv", csv_bytes(HEADER, ROWS)),
        "encoding": "", "duplicates": "skip"})
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "gb18030" in page
    assert 'id="dry-run"' in page
    form = {f"col_{i}": batch.mapping.get(h, "") for i, h in enumerate(batch.headers)}
    form.update(duplicates="skip", source="")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{batch.pk}/dry-run/", form)
    assert response.status_code == 302
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert 'id="count-errors">3<' in page
    assert 'id="run-import"' in page
    assert client.get(f"/imports/{batch.pk}/status/").status_code == 200
    errors = client.get(f"/imports/{batch.pk}/errors.csv")
    assert b"".join(errors.streaming_content).decode().startswith("\ufeff客户名称")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{batch.pk}/run/", form)
    batch.refresh_from_db()
    assert batch.status == "done"
    assert client.post(f"/imports/{batch.pk}/undo/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == "undone"
    assert client.get("/imports/").status_code == 200


def test_pages_need_import_permission(db, client_of):
    user = make_importer("clerk", "view_account", "add_account")
    client = client_of(user)
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/new/").status_code == 403


def test_page_mapping_error_is_shown_on_the_column(db, client_of):
    user = make_importer("limited", field_rules={"city": "readonly"})
    client = client_of(user)
    client.post("/imports/new/", {"declaration": "crm.account", "duplicates": "skip",
                                  "file": SimpleUploadedFile("a.csv", csv_bytes(["名称", "外部编号"], [["甲", "1"]]))})
    batch = ImportBatch.objects.get()
    response = client.post(f"/imports/{batch.pk}/mapping/", {"col_0": "name", "col_1": "__external_id__",
                                                              "duplicates": "skip", "source": ""})
    assert response.status_code == 422
    assert "Name the system the external ids come from" in response.content.decode()

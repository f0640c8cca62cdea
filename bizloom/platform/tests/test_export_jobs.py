"""Large list exports run in the worker (issue #5): job, file, owner-only download, expiry.

Proven on the CRM account list (tests may use a higher app, see the import-linter contract).
Needs ``bizloom.platform.exportjobs`` installed and its URLs mounted at ``exports/``.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import quote

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from bizloom.crm import services as crm_services
from bizloom.platform import export_jobs
from bizloom.platform.exportjobs.models import ExportJob
from bizloom.platform.models import User
from bizloom.platform.notifications.models import Notification

EXPORTER_PERMS = ("view_account", "add_account", "export_account")
NAMES = ["华为技术有限公司", "=1+1 Formula Co", "Acme Trading Ltd", "阿里巴巴（中国）有限公司"]


def make_user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename=codename))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def exporter(db):
    return make_user("exporter", *EXPORTER_PERMS)


@pytest.fixture
def stranger(db):
    return make_user("stranger", *EXPORTER_PERMS)


@pytest.fixture
def accounts(exporter):
    return [crm_services.create_account({"name": name, "city": "深圳", "industry": "other", "tier": "b"},
                                        actor=exporter) for name in NAMES]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.BIZLOOM_EXPORT_INLINE_MAX_ROWS = 3
    return tmp_path


def export_files(media) -> list[str]:
    folder = media / "exports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def request_export(client, user, fmt, capture, **params):
    client.force_login(user)
    with capture(execute=True):
        return client.get(reverse("crm:account_export", args=[fmt]), {"cols": ["name", "city"], **params})


def test_small_export_stays_inline(client, exporter, accounts, media, django_capture_on_commit_callbacks):
    # when
    response = request_export(client, exporter, "csv", django_capture_on_commit_callbacks, q="华为")
    # then
    assert response.status_code == 200
    assert response.streaming
    assert ExportJob.objects.count() == 0
    assert export_files(media) == []


def test_big_export_becomes_a_job_the_owner_downloads(client, exporter, accounts, media,
                                                      django_capture_on_commit_callbacks):
    # given a Chinese-speaking user: the file is named with the list's Chinese title
    User.objects.filter(pk=exporter.pk).update(language="zh-hans")
    # when
    response = request_export(client, exporter, "xlsx", django_capture_on_commit_callbacks, sort="name")
    # then
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exportjobs:detail", args=[job.pk])
    assert (job.owner, job.list_key, job.format, job.status, job.row_count, job.error) == (
        exporter, "crm.account", "xlsx", "done", 4, "")
    assert job.params == {"cols": ["name", "city"]}  # name is the default sort
    assert job.file_path.startswith("exports/")
    assert job.file_path.endswith(".xlsx")
    assert export_files(media) == [job.file_path.removeprefix("exports/")]
    assert (media / job.file_path).stat().st_mode & 0o777 == 0o600
    assert job.expires_at > timezone.now() + timedelta(hours=23)
    note = Notification.objects.get(recipient=exporter)
    assert (note.kind, note.url) == ("exports.ready", reverse("exportjobs:detail", args=[job.pk]))
    assert job.filename in note.message

    # when the owner opens the status page and downloads
    page = client.get(reverse("exportjobs:detail", args=[job.pk]))
    download = client.get(reverse("exportjobs:download", args=[job.pk]))
    # then
    assert page.status_code == 200
    assert reverse("exportjobs:download", args=[job.pk]) in page.content.decode()
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert not job.filename.isascii()
    assert download["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(job.filename)}"
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    assert [r[1:] for r in rows[1:]] == [["深圳"]] * 4
    assert rows[0] == ["名称", "城市"]
    assert sorted(r[0] for r in rows[1:]) == sorted(["'=1+1 Formula Co", *NAMES[0:1], *NAMES[2:]])


def test_job_filename_is_the_list_title(exporter, accounts, media):
    # when
    with translation.override("en"):
        job = export_jobs.start_export(_account_list(), {}, "csv", actor=exporter)
    # then
    assert job.filename.startswith("Accounts-")
    assert job.filename.endswith(".csv")


def test_csv_job_writes_bom_and_the_filtered_rows(client, exporter, accounts, media, settings,
                                                  django_capture_on_commit_callbacks):
    # given
    settings.BIZLOOM_EXPORT_INLINE_MAX_ROWS = 1
    # when
    request_export(client, exporter, "csv", django_capture_on_commit_callbacks, q="有限公司", sort="name")
    job = ExportJob.objects.get()
    body = client.get(reverse("exportjobs:download", args=[job.pk]))
    # then
    content = b"".join(body.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig")))) == [
        ["Name", "City"], ["阿里巴巴（中国）有限公司", "深圳"], ["华为技术有限公司", "深圳"]]  # pinyin order
    assert job.row_count == 2
    assert body["Content-Type"] == "text/csv; charset=utf-8"


def test_another_user_gets_404(client, exporter, stranger, accounts, media, django_capture_on_commit_callbacks):
    # given
    request_export(client, exporter, "xlsx", django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    client.force_login(stranger)
    # when
    detail = client.get(reverse("exportjobs:detail", args=[job.pk]))
    download = client.get(reverse("exportjobs:download", args=[job.pk]))
    # then
    assert (detail.status_code, download.status_code) == (404, 404)


def test_anonymous_is_sent_to_login(client, exporter, accounts, media, django_capture_on_commit_callbacks):
    # given
    request_export(client, exporter, "xlsx", django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    client.logout()
    # when
    response = client.get(reverse("exportjobs:download", args=[job.pk]))
    # then
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_lost_export_permission_before_the_task_runs_fails_the_job(exporter, accounts, media,
                                                                    django_capture_on_commit_callbacks):
    # given a job queued while the user could export
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = export_jobs.start_export(_account_list(), {"cols": ["name"]}, "xlsx", actor=exporter)
    exporter.user_permissions.remove(Permission.objects.get(content_type__app_label="crm", codename="export_account"))
    # when the worker runs it
    for callback in callbacks:
        callback()
    # then
    job.refresh_from_db()
    assert (job.status, job.file_path, job.row_count) == ("failed", "", 0)
    assert job.error == "You no longer have permission to export these records."
    assert export_files(media) == []
    assert Notification.objects.get(recipient=exporter).kind == "exports.ready"


def test_failed_job_cannot_be_downloaded(client, exporter, accounts, media):
    # given
    job = ExportJob.objects.create(owner=exporter, list_key="crm.account", format="csv", filename="x.csv",
                                   status="failed", error="boom", expires_at=timezone.now() + timedelta(hours=1))
    client.force_login(exporter)
    # when
    response = client.get(reverse("exportjobs:download", args=[job.pk]))
    page = client.get(reverse("exportjobs:detail", args=[job.pk]))
    # then
    assert response.status_code == 404
    assert "The export failed." in page.content.decode()


def test_status_partial_polls_until_done(client, exporter, accounts, media):
    # given
    job = ExportJob.objects.create(owner=exporter, list_key="crm.account", format="csv", filename="x.csv",
                                   expires_at=timezone.now() + timedelta(hours=1))
    client.force_login(exporter)
    url = reverse("exportjobs:detail", args=[job.pk])
    # when
    queued = client.get(url, headers={"HX-Request": "true"}).content.decode()
    export_jobs.build_export(job.pk)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    # then
    assert 'hx-trigger="every 2s"' in queued
    assert "Your export is being prepared." in queued
    assert "<html" not in queued
    assert "hx-trigger" not in done
    assert reverse("exportjobs:download", args=[job.pk]) in done


def test_a_job_runs_once(exporter, accounts, media):
    # given
    job = export_jobs.start_export(_account_list(), {}, "csv", actor=exporter)
    first = export_jobs.build_export(job.pk)
    # when
    second = export_jobs.build_export(job.pk)
    # then
    assert (first.status, second.status, second.file_path) == ("done", "done", first.file_path)
    assert len(export_files(media)) == 1


def test_too_many_waiting_exports_are_refused(client, exporter, accounts, media, settings,
                                              django_capture_on_commit_callbacks):
    # given
    settings.BIZLOOM_EXPORT_MAX_ACTIVE_JOBS = 1
    ExportJob.objects.create(owner=exporter, list_key="crm.account", format="csv", filename="x.csv",
                             expires_at=timezone.now() + timedelta(hours=1))
    # when
    response = request_export(client, exporter, "csv", django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("crm:account_list"))
    assert ExportJob.objects.count() == 1


def test_expired_exports_are_pruned(exporter, accounts, media):
    # given
    old = export_jobs.build_export(export_jobs.start_export(_account_list(), {}, "csv", actor=exporter).pk)
    fresh = export_jobs.build_export(export_jobs.start_export(_account_list(), {}, "xlsx", actor=exporter).pk)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    # when
    deleted = export_jobs.prune_expired_exports()
    # then
    assert deleted == 1
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert export_files(media) == [fresh.file_path.removeprefix("exports/")]


def test_prune_is_a_registered_periodic_job():
    # given
    from bizloom.platform import scheduler

    # when
    names = [job.name for job in scheduler.load_jobs()]
    # then
    assert "exportjobs.prune_expired_exports" in names


def _account_list():
    from django.urls import get_resolver

    from bizloom.platform.listing.views import registered_lists

    get_resolver().url_patterns  # noqa: B018 - importing the URLconf registers every list
    return next(config for config in registered_lists() if config.key == "crm.account")


def test_export_rows_match_the_columns_export(exporter, accounts):
    # given
    config = _account_list()
    from bizloom.platform.listing import ListState

    state = ListState.from_params(config, {"cols": ["name,industry,tier,is_customer,owner,annual_revenue"]})
    # when
    header, queryset, rows = export_jobs.export_rows(config, exporter, state.to_params())
    # then
    expected = [[c.export(obj) for c in state.visible_columns] for obj in queryset]
    assert list(rows) == expected
    assert header == [str(c.label) for c in state.visible_columns]
    assert {row[1] for row in expected} == {"Other"}
    # and choice labels follow the language the export is built in
    from django.utils import translation

    with translation.override("zh-hans"):
        _header, _queryset, chinese = export_jobs.export_rows(config, exporter, state.to_params())
        assert {row[1] for row in chinese} == {"其他"}

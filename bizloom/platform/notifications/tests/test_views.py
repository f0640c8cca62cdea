"""The bell, the notifications page (mark read, mark all read, open) and the preferences page."""

from __future__ import annotations

from bizloom.platform.notifications import services
from bizloom.platform.notifications.models import Notification, NotificationPreference


def test_bell_shows_unread_count(login, viewer):
    # given
    for text in ("一", "二", "三"):
        services.notify(viewer, kind="mention", message=text)
    services.mark_read(Notification.objects.filter(message="一").get(), actor=viewer)
    # when
    response = login(viewer).get("/notifications/bell/", HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert 'data-unread="2"' in response.text
    assert response["Cache-Control"] == "no-store"


def test_bell_without_unread_shows_no_count(login, viewer):
    # when
    response = login(viewer).get("/notifications/bell/")
    # then
    assert "bell-count" not in response.text


def test_top_bar_polls_the_bell_every_minute(login, viewer):
    # when
    response = login(viewer).get("/notifications/")
    # then
    assert 'hx-get="/notifications/bell/"' in response.text
    assert "every 60s" in response.text


def test_bell_requires_sign_in(client):
    # when
    response = client.get("/notifications/bell/")
    # then
    assert response.status_code == 302


def test_list_shows_only_own_notifications(login, viewer, nobody):
    # given
    services.notify(viewer, kind="mention", message="给美的消息")
    services.notify(nobody, kind="mention", message="secret for nobody")
    # when
    response = login(viewer).get("/notifications/")
    # then
    assert "给美的消息" in response.text
    assert "secret for nobody" not in response.text


def test_list_escapes_message_text(login, viewer):
    # given
    services.notify(viewer, kind="mention", message="<script>alert(1)</script>")
    # when
    response = login(viewer).get("/notifications/")
    # then
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_mark_read(login, viewer):
    # given
    notification = services.notify(viewer, kind="mention", message="hello")
    # when
    response = login(viewer).post(f"/notifications/{notification.pk}/read/")
    # then
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_someone_elses_notification_is_404_and_changes_nothing(login, viewer, nobody):
    # given
    notification = services.notify(viewer, kind="mention", message="hello")
    # when
    response = login(nobody).post(f"/notifications/{notification.pk}/read/")
    # then
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_with_htmx_returns_refreshed_list(login, viewer):
    # given
    services.notify(viewer, kind="mention", message="one")
    services.notify(viewer, kind="mention", message="two")
    # when
    response = login(viewer).post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert 'id="notification-list"' in response.text
    assert "Mark all as read" not in response.text
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_open_marks_read_and_goes_to_the_record(login, viewer, account):
    # given
    notification = services.notify(viewer, kind="mention", message="hello", target=account)
    # when
    response = login(viewer).post(f"/notifications/{notification.pk}/open/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/crm/accounts/{account.pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_open_refuses_to_redirect_off_site(login, viewer):
    # given
    notification = services.notify(viewer, kind="mention", message="hello", url="https://evil.example/")
    # when
    response = login(viewer).post(f"/notifications/{notification.pk}/open/")
    # then
    assert response["Location"] == "/notifications/"


def test_preferences_page_saves_choices(login, viewer):
    # given
    client = login(viewer)
    assert 'name="mention__email"' in client.get("/notifications/preferences/").text
    # when
    response = client.post("/notifications/preferences/", {"mention__in_app": "on"})
    # then
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=viewer, kind="mention")
    assert (preference.in_app, preference.email) == (True, False)

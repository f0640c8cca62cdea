"""notify(): the in-app row, the e-mail after commit, preferences, rollbacks and inactive users."""

from __future__ import annotations

import pytest
from django.db import transaction

from bizloom.platform.notifications import services
from bizloom.platform.notifications.models import Notification, NotificationPreference


def test_notify_writes_in_app_row_about_the_record(viewer, author, account, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(viewer, kind="mention", message="李雷 提到了你", target=account, actor=author)
    # then
    stored = Notification.objects.get()
    assert stored == notification
    assert (stored.recipient, stored.kind, stored.message, stored.actor) == (viewer, "mention", "李雷 提到了你", author)
    assert stored.target_repr == "华为技术有限公司"
    assert stored.target_id == str(account.pk)
    assert stored.url == f"/crm/accounts/{account.pk}/"
    assert stored.read_at is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["mei@example.com"]
    assert "李雷 提到了你" in mailoutbox[0].subject
    assert f"/crm/accounts/{account.pk}/" in mailoutbox[0].body


def test_email_waits_for_commit(viewer, mailoutbox, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(viewer, kind="mention", message="hello")
    # then
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_rolled_back_action_notifies_nobody(viewer, mailoutbox, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):  # noqa: PT012
        with transaction.atomic():
            services.notify(viewer, kind="mention", message="hello")
            raise RuntimeError("business action failed")
    # then
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_email_preference_off_sends_no_email(viewer, mailoutbox, django_capture_on_commit_callbacks):
    # given
    NotificationPreference.objects.create(user=viewer, kind="mention", in_app=True, email=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(viewer, kind="mention", message="hello")
    # then
    assert Notification.objects.count() == 1
    assert mailoutbox == []


def test_in_app_preference_off_writes_no_row_but_emails(viewer, mailoutbox, django_capture_on_commit_callbacks):
    # given
    NotificationPreference.objects.create(user=viewer, kind="mention", in_app=False, email=True)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = services.notify(viewer, kind="mention", message="hello")
    # then
    assert result is None
    assert not Notification.objects.exists()
    assert len(mailoutbox) == 1


def test_user_without_address_gets_only_in_app(make_user, mailoutbox, django_capture_on_commit_callbacks):
    # given
    silent = make_user("silent", email="")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(silent, kind="mention", message="hello")
    # then
    assert Notification.objects.filter(recipient=silent).count() == 1
    assert mailoutbox == []


def test_inactive_user_gets_nothing(make_user, mailoutbox, django_capture_on_commit_callbacks):
    # given
    gone = make_user("gone", email="gone@example.com", is_active=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = services.notify(gone, kind="mention", message="hello")
    # then
    assert result is None
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_undeclared_kind_is_a_programming_error(viewer):
    # when / then
    with pytest.raises(ValueError, match="unknown notification kind"):
        services.notify(viewer, kind="no.such.kind", message="hello")
    assert not Notification.objects.exists()


def test_mark_all_read_touches_only_own_unread(viewer, nobody):
    # given
    services.notify(viewer, kind="mention", message="one")
    services.notify(viewer, kind="mention", message="two")
    services.notify(nobody, kind="mention", message="other's")
    # when
    changed = services.mark_all_read(actor=viewer)
    # then
    assert changed == 2
    assert not Notification.objects.filter(recipient=viewer, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=nobody).read_at is None


def test_preferences_default_on_and_are_stored_per_kind(viewer):
    # given
    default = services.get_preference(viewer, "mention")
    # when
    services.set_preferences(viewer, {"mention": (False, True)}, actor=viewer)
    # then
    assert (default.in_app, default.email) == (True, True)
    stored = services.get_preference(viewer, "mention")
    assert (stored.in_app, stored.email) == (False, True)


def test_nobody_changes_someone_elses_preferences(viewer, nobody):
    # when / then
    with pytest.raises(ValueError, match="owner"):
        services.set_preferences(viewer, {"mention": (False, False)}, actor=nobody)
    assert not NotificationPreference.objects.exists()

"""Comments on a record: access, escaping, @mentions and the timeline."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from bizloom.platform.notifications.models import Notification
from bizloom.platform.timeline import services
from bizloom.platform.timeline.models import Comment


def comment_url(record) -> str:
    return f"/timeline/{ContentType.objects.get_for_model(record).pk}/{record.pk}/comments/"


def test_viewer_posts_comment_and_gets_refreshed_timeline(login, author, account):
    # when
    response = login(author).post(comment_url(account), {"body": "第一行\n<b>第二行</b>"}, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    comment = Comment.objects.get()
    assert (comment.author, comment.body, comment.object_id) == (author, "第一行\n<b>第二行</b>", str(account.pk))
    assert 'id="timeline-panel"' in response.text
    assert "第一行<br>&lt;b&gt;第二行&lt;/b&gt;" in response.text
    assert "<b>第二行</b>" not in response.text


def test_plain_post_redirects_to_the_record(login, author, account):
    # when
    response = login(author).post(comment_url(account), {"body": "hello"})
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/crm/accounts/{account.pk}/"
    assert Comment.objects.count() == 1


def test_user_who_may_not_view_the_record_gets_404_and_nothing_is_written(login, nobody, account):
    # when
    response = login(nobody).post(comment_url(account), {"body": "@mei look"}, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 404
    assert not Comment.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("path", ["/timeline/999999/1/comments/", "comments-on-user"],
                         ids=["unknown_type_case", "platform_model_case"])
def test_non_business_records_take_no_comments(login, make_user, path):
    # given
    admin = make_user("root", is_staff=True)
    admin.is_superuser = True
    admin.save()
    if path == "comments-on-user":
        path = comment_url(admin)
    # when
    response = login(admin).post(path, {"body": "hi"})
    # then
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_missing_record_is_404(login, author, account):
    # when
    response = login(author).post(comment_url(account).replace(f"/{account.pk}/", "/987654/"), {"body": "hi"})
    # then
    assert response.status_code == 404


def test_empty_comment_shows_error_and_writes_nothing(login, author, account):
    # when
    response = login(author).post(comment_url(account), {"body": "   "}, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert not Comment.objects.exists()


def test_mention_notifies_users_who_may_view_the_record(login, author, viewer, nobody, make_user, account,
                                                        mailoutbox, django_capture_on_commit_callbacks):
    # given
    make_user("ghost", "view_account", email="ghost@example.com", is_active=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        login(author).post(comment_url(account), {"body": "@mei @nobody @ghost @unknown @li.lei 请看一下报价。"})
    # then
    comment = Comment.objects.get()
    assert list(comment.mentions.all()) == [author, viewer]
    notification = Notification.objects.get()
    assert notification.recipient == viewer
    assert notification.kind == "mention"
    assert notification.actor == author
    assert notification.url == f"/crm/accounts/{account.pk}/"
    assert notification.message == (
        "li.lei mentioned you on 华为技术有限公司: @mei @nobody @ghost @unknown @li.lei 请看一下报价。")
    assert [m.to for m in mailoutbox] == [["mei@example.com"]]


def test_mention_with_trailing_punctuation_and_email_addresses(author, viewer, account):
    # when
    comment = services.add_comment(account, "Ping @mei. Mail me at li@mei.example", actor=author)
    # then
    assert list(comment.mentions.all()) == [viewer]
    assert Notification.objects.filter(recipient=viewer).count() == 1


def test_mention_message_in_recipients_language(make_user, author, account):
    # given
    zh = make_user("zhang", "view_account", language="zh-hans")
    # when
    services.add_comment(account, "@zhang hi", actor=author)
    # then
    message = Notification.objects.get(recipient=zh).message
    assert message.startswith("li.lei ")
    assert "华为技术有限公司" in message


def test_comments_appear_on_detail_page_newest_first(login, author, make_user, account):
    # given
    services.add_comment(account, "older comment", actor=author)
    services.add_comment(account, "newer comment", actor=author)
    manager = make_user("boss", "view_account")
    # when
    response = login(manager).get(f"/crm/accounts/{account.pk}/")
    # then
    assert response.status_code == 200
    assert response.text.index("newer comment") < response.text.index("older comment")


def test_panel_view_lists_comments_and_forms(login, author, account):
    # given
    services.add_comment(account, "看这里", actor=author)
    ct = ContentType.objects.get_for_model(account).pk
    # when
    response = login(author).get(f"/timeline/{ct}/{account.pk}/")
    # then
    assert response.status_code == 200
    assert "看这里" in response.text
    assert f'hx-post="/timeline/{ct}/{account.pk}/comments/"' in response.text
    assert f'hx-post="/timeline/{ct}/{account.pk}/attachments/"' in response.text


def test_panel_view_is_404_without_access(login, nobody, account):
    # when
    response = login(nobody).get(f"/timeline/{ContentType.objects.get_for_model(account).pk}/{account.pk}/")
    # then
    assert response.status_code == 404

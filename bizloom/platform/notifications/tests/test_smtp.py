"""The e-mail copy travels through Django's SMTP backend to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from django.test import override_settings

from bizloom.platform.notifications import services

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is a dev dependency")


class Inbox:
    """aiosmtpd handler keeping every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                               EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
                               DEFAULT_FROM_EMAIL="bizloom@example.com"):
            yield inbox
    finally:
        controller.stop()


def test_notification_email_arrives_at_smtp_server_with_chinese_intact(
        smtp_server, viewer, author, account, django_capture_on_commit_callbacks):
    # given
    message = "李雷 在 华为技术有限公司 上提到了你：请确认报价单"
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(viewer, kind="mention", message=message, target=account, actor=author)
    # then
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["mei@example.com"]
    assert envelope.mail_from == "bizloom@example.com"
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["To"] == "mei@example.com"
    # Python re-reads a folded encoded-word header with a leading blank; mail clients show it stripped
    assert received["Subject"].strip() == f"[Bizloom] {message}"
    body = received.get_content()
    assert message in body
    assert f"/crm/accounts/{account.pk}/" in body


def test_no_email_reaches_the_server_when_the_user_opted_out(
        smtp_server, viewer, django_capture_on_commit_callbacks):
    # given
    services.set_preferences(viewer, {"mention": (True, False)}, actor=viewer)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(viewer, kind="mention", message="你好")
    # then
    assert smtp_server.envelopes == []

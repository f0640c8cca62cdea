"""Contract services: numbering, validation, references, status workflow, the daily job and the signed document."""

from __future__ import annotations

import email
from decimal import Decimal
from email import policy

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from bizloom.common.errors import InvalidTransition, ValidationFailed
from bizloom.crm import services as crm_services
from bizloom.crm.contracts import services
from bizloom.crm.models import Contract
from bizloom.crm.tests.contracts_fixtures import *  # noqa: F403
from bizloom.crm.tests.contracts_fixtures import contract_data, days, today
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.notifications import services as notifications
from bizloom.platform.notifications.models import Notification
from bizloom.platform.timeline import services as timeline_services
from bizloom.platform.timeline.models import Attachment

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# --- creation: numbering and validation -------------------------------------------------------


def test_numbers_are_consecutive_per_year(rep, customer):
    # when
    first = services.create_contract(contract_data(customer), actor=rep)
    second = services.create_contract(contract_data(customer, title="设备采购合同"), actor=rep)
    # then
    year = today().year
    assert first.number == f"HT-{year}-00001"
    assert second.number == f"HT-{year}-00002"
    assert first.status == Contract.Status.DRAFT
    assert first.owner == rep


def test_refused_creation_uses_no_number(rep, customer):
    # given: an invalid contract is refused
    with pytest.raises(ValidationFailed):
        services.create_contract(contract_data(customer, end_date=days(-60)), actor=rep)
    # when
    contract = services.create_contract(contract_data(customer), actor=rep)
    # then
    assert contract.number.endswith("-00001")


def test_end_before_start_is_refused_on_the_end_date(rep, customer):
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_contract(contract_data(customer, start_date=days(10), end_date=days(9)), actor=rep)
    # then
    assert list(refused.value.fields) == ["end_date"]
    assert not Contract.objects.exists()


def test_negative_amount_and_missing_dates_are_refused_together(rep, customer):
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_contract({"title": "x", "account": customer, "amount": Decimal("-1")}, actor=rep)
    # then
    assert {"amount", "start_date", "end_date"} <= set(refused.value.fields)


def test_currency_is_stored_upper_case(rep, customer):
    # when
    contract = services.create_contract(contract_data(customer, currency="usd"), actor=rep)
    # then
    assert contract.currency == "USD"


# --- references -------------------------------------------------------------------------------


def test_account_outside_the_actors_scope_is_refused(rep, other_rep):
    # given
    theirs = crm_services.create_account({"name": "深圳鼎信电子有限公司"}, actor=other_rep)
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_contract(contract_data(theirs), actor=rep)
    # then
    assert refused.value.code == "reference_not_visible"
    assert "account" in refused.value.fields


def test_contact_must_belong_to_the_account(rep, customer, signer):
    # given
    elsewhere = crm_services.create_account({"name": "宁波众汇贸易有限公司"}, actor=rep)
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_contract(contract_data(elsewhere, contact=signer), actor=rep)
    # then
    assert "韩梅梅" in refused.value.fields["contact"][0]


def test_linked_contact_of_the_account_is_accepted(rep, customer, signer):
    # given: the signer also works for a subsidiary
    subsidiary = crm_services.create_account({"name": "云启（上海）科技有限公司", "parent": customer}, actor=rep)
    crm_services.update_contact(signer, {"accounts": [subsidiary]}, actor=rep)
    # when
    contract = services.create_contract(contract_data(subsidiary, contact=signer), actor=rep)
    # then
    assert contract.contact == signer


def test_opportunity_must_belong_to_the_account(rep, customer, make_opportunity):
    # given
    elsewhere = crm_services.create_account({"name": "宁波众汇贸易有限公司"}, actor=rep)
    deal = make_opportunity(elsewhere, rep, "50000", kind="won")
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.create_contract(contract_data(customer, opportunity=deal), actor=rep)
    # then
    assert "opportunity" in refused.value.fields


# --- workflow -----------------------------------------------------------------------------------


def test_activation_needs_a_signing_date(rep, draft):
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.activate_contract(draft, actor=rep)
    # then
    assert refused.value.code == "signed_on_required"
    draft.refresh_from_db()
    assert draft.status == Contract.Status.DRAFT


def test_activation_with_signing_date_records_the_state_change(rep, draft, contract_events):
    # when
    contract = services.activate_contract(draft, signed_on=days(-1), actor=rep)
    # then
    assert contract.status == Contract.Status.ACTIVE
    assert contract.signed_on == days(-1)
    entry = AuditEntry.objects.for_object(contract).order_by("-pk").first()
    assert entry.action == AuditEntry.Action.STATE_CHANGE
    assert entry.changes["status"] == ["draft", "active"]
    assert contract_events.names() == ["crm.contract.activated"]


def test_activation_refuses_a_future_signing_date_and_an_ended_contract(rep, customer):
    # given
    ended = services.create_contract(contract_data(customer, start_date=days(-400), end_date=days(-35)), actor=rep)
    future = services.create_contract(contract_data(customer), actor=rep)
    # when / then
    with pytest.raises(ValidationFailed) as in_future:
        services.activate_contract(future, signed_on=days(3), actor=rep)
    with pytest.raises(ValidationFailed) as too_late:
        services.activate_contract(ended, signed_on=days(-400), actor=rep)
    assert in_future.value.code == "signed_on_in_future"
    assert too_late.value.code == "contract_already_ended"


def test_active_contract_cannot_be_activated_again(rep, draft):
    # given
    services.activate_contract(draft, signed_on=today(), actor=rep)
    # when / then
    with pytest.raises(InvalidTransition):
        services.activate_contract(draft, signed_on=today(), actor=rep)


@pytest.mark.parametrize("activate_first", [False, True], ids=["from_draft", "from_active"])
def test_termination_needs_a_reason_and_is_final(rep, draft, activate_first, contract_events):
    # given
    if activate_first:
        services.activate_contract(draft, signed_on=today(), actor=rep)
    # when: no reason
    with pytest.raises(ValidationFailed) as refused:
        services.terminate_contract(draft, "  ", actor=rep)
    # then
    assert "termination_reason" in refused.value.fields
    # when: with a reason
    contract = services.terminate_contract(draft, "客户业务调整，双方协商一致提前终止。", actor=rep)
    # then
    assert contract.status == Contract.Status.TERMINATED
    assert contract.terminated_at is not None
    assert contract_events.names()[-1] == "crm.contract.terminated"
    with pytest.raises(InvalidTransition):
        services.terminate_contract(contract, "again", actor=rep)
    with pytest.raises(services.ContractNotEditable):
        services.update_contract(contract, {"title": "changed"}, actor=rep)


def test_only_drafts_are_deleted(rep, customer, contract_events):
    # given
    keep = services.create_contract(contract_data(customer), actor=rep)
    services.activate_contract(keep, signed_on=today(), actor=rep)
    scrap = services.create_contract(contract_data(customer), actor=rep)
    # when
    with pytest.raises(services.ContractNotEditable):
        services.delete_contract(keep, actor=rep)
    services.delete_contract(scrap, actor=rep)
    # then
    assert list(Contract.objects.values_list("pk", flat=True)) == [keep.pk]
    assert contract_events.names()[-1] == "crm.contract.deleted"


def test_account_of_a_signed_contract_cannot_change(rep, draft):
    # given
    services.activate_contract(draft, signed_on=today(), actor=rep)
    other = crm_services.create_account({"name": "宁波众汇贸易有限公司"}, actor=rep)
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.update_contract(draft, {"account": other}, actor=rep)
    # then
    assert refused.value.code == "contract_account_locked"


def test_update_records_changes_and_publishes(rep, draft, contract_events):
    # when
    services.update_contract(draft, {"amount": Decimal("400000"), "payment_terms": "月结 60 天"}, actor=rep)
    # then
    entry = AuditEntry.objects.for_object(draft).order_by("-pk").first()
    assert entry.changes["amount"] == ["360000.0000", "400000.0000"]
    assert contract_events.seen[-1].changed == ("amount", "payment_terms")


# --- the daily job ------------------------------------------------------------------------------


def test_expiry_job_expires_active_contracts_after_their_end_date(rep, customer, contract_events):
    # given
    ending = services.create_contract(contract_data(customer, start_date=days(-365), end_date=days(-1)), actor=rep)
    Contract.objects.filter(pk=ending.pk).update(status=Contract.Status.ACTIVE, signed_on=days(-366))
    running = services.create_contract(contract_data(customer), actor=rep)
    services.activate_contract(running, signed_on=today(), actor=rep)
    ends_today = services.create_contract(contract_data(customer, start_date=days(-30), end_date=today()), actor=rep)
    services.activate_contract(ends_today, signed_on=days(-30), actor=rep)
    draft_past = services.create_contract(contract_data(customer, start_date=days(-365), end_date=days(-2)),
                                          actor=rep)
    # when
    expired = services.expire_contracts()
    again = services.expire_contracts()
    # then
    assert (expired, again) == (1, 0)
    statuses = dict(Contract.objects.values_list("pk", "status"))
    assert statuses == {ending.pk: "expired", running.pk: "active", ends_today.pk: "active", draft_past.pk: "draft"}
    entry = AuditEntry.objects.for_object(ending).order_by("-pk").first()
    assert entry.action == AuditEntry.Action.STATE_CHANGE
    assert entry.actor is None
    assert "crm.contract.expired" in contract_events.names()


def test_renewal_reminder_goes_to_the_owner_once(rep, customer):
    # given: ends in 20 days, reminder 30 days before the end
    contract = services.create_contract(
        contract_data(customer, start_date=days(-345), end_date=days(20), renewal_notice_days=30), actor=rep)
    services.activate_contract(contract, signed_on=days(-346), actor=rep)
    later = services.create_contract(
        contract_data(customer, start_date=days(-300), end_date=days(65), renewal_notice_days=30), actor=rep)
    services.activate_contract(later, signed_on=days(-300), actor=rep)
    # when
    first = services.send_renewal_reminders()
    second = services.send_renewal_reminders()
    # then
    assert (first, second) == (1, 0)
    notification = Notification.objects.get()
    assert notification.recipient == rep
    assert notification.kind == "crm.contract_renewal"
    assert contract.number in notification.message
    assert notification.url == f"/crm/contracts/{contract.pk}/"
    contract.refresh_from_db()
    assert contract.renewal_reminded_at is not None


def test_moving_the_end_date_re_arms_the_reminder(rep, customer):
    # given
    contract = services.create_contract(contract_data(customer, start_date=days(-345), end_date=days(20)), actor=rep)
    services.activate_contract(contract, signed_on=days(-346), actor=rep)
    services.send_renewal_reminders()
    # when: extended by a year, then the new reminder date comes
    services.update_contract(contract, {"end_date": days(385)}, actor=rep)
    # then
    assert services.send_renewal_reminders() == 0
    assert services.send_renewal_reminders(today=days(360)) == 1
    assert Notification.objects.count() == 2


def test_no_reminder_for_drafts_or_contracts_past_their_end(rep, customer):
    # given
    services.create_contract(contract_data(customer, start_date=days(-345), end_date=days(20)), actor=rep)
    # when / then
    assert services.send_renewal_reminders() == 0
    assert not Notification.objects.exists()


# --- the signed document --------------------------------------------------------------------------


def test_uploaded_pdf_is_attached_and_marked(rep, draft, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    # when
    contract = services.attach_signed_document(draft, SimpleUploadedFile("合同扫描件.pdf", PDF), actor=rep)
    # then
    document = contract.signed_document
    assert document.filename == "合同扫描件.pdf"
    assert document.mime_type == "application/pdf"
    assert document.object_id == str(draft.pk)
    assert document.content_type == ContentType.objects.get_for_model(Contract)
    assert AuditEntry.objects.for_object(draft).order_by("-pk").first().changes["signed_document"][1]["id"] == \
        document.pk


def test_signed_document_must_be_pdf_or_image(rep, draft, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    notes = timeline_services.add_attachment(draft, SimpleUploadedFile("notes.txt", "会议纪要".encode()), actor=rep)
    # when
    with pytest.raises(ValidationFailed) as refused_upload:
        services.attach_signed_document(draft, SimpleUploadedFile("notes.txt", b"plain"), actor=rep)
    with pytest.raises(ValidationFailed) as refused_mark:
        services.mark_signed_document(draft, notes, actor=rep)
    # then
    assert refused_upload.value.code == refused_mark.value.code == "signed_document_type"
    assert Attachment.objects.count() == 1  # the refused upload stored nothing
    draft.refresh_from_db()
    assert draft.signed_document is None


def test_file_of_another_record_cannot_be_marked(rep, customer, draft, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    other = services.create_contract(contract_data(customer), actor=rep)
    scan = timeline_services.add_attachment(other, SimpleUploadedFile("scan.png", PNG), actor=rep)
    # when
    with pytest.raises(ValidationFailed) as refused:
        services.mark_signed_document(draft, scan, actor=rep)
    # then
    assert refused.value.code == "signed_document_elsewhere"


def test_transfer_gives_contracts_to_the_new_owner(rep, other_rep, draft, contract_events):
    # when
    changed = services.transfer_contracts([draft], other_rep, actor=rep)
    # then
    assert changed == 1
    draft.refresh_from_db()
    assert draft.owner == other_rep
    assert contract_events.names() == ["crm.contract.owner_changed"]



# --- the reminder by e-mail, through a real SMTP server ---------------------------------------------

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is a dev dependency")


class Inbox:
    """aiosmtpd handler keeping every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    import socket

    from django.test import override_settings

    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                               EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
                               DEFAULT_FROM_EMAIL="bizloom@example.com"):
            yield inbox
    finally:
        controller.stop()


def test_renewal_reminder_email_reaches_the_owner_once(smtp_server, rep, customer,
                                                       django_capture_on_commit_callbacks):
    # given
    contract = services.create_contract(
        contract_data(customer, start_date=days(-345), end_date=days(20), renewal_notice_days=30), actor=rep)
    services.activate_contract(contract, signed_on=days(-346), actor=rep)
    # when: the daily job runs twice
    with django_capture_on_commit_callbacks(execute=True):
        services.send_renewal_reminders()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_renewal_reminders()
    # then
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["wangwei@example.com"]
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert contract.number in received["Subject"]
    body = received.get_content()
    assert "杭州云启科技有限公司" in body
    assert f"/crm/contracts/{contract.pk}/" in body


def test_no_reminder_email_when_the_owner_opted_out(smtp_server, rep, customer, django_capture_on_commit_callbacks):
    # given
    notifications.set_preferences(rep, {"crm.contract_renewal": (True, False)}, actor=rep)
    contract = services.create_contract(contract_data(customer, start_date=days(-345), end_date=days(20)), actor=rep)
    services.activate_contract(contract, signed_on=days(-346), actor=rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_renewal_reminders()
    # then
    assert sent == 1
    assert smtp_server.envelopes == []
    assert Notification.objects.filter(recipient=rep).count() == 1

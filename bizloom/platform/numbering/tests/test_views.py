"""The numbering settings page: staff only, pattern errors explained, nothing saved on error."""

from __future__ import annotations

import pytest

from bizloom.platform.numbering import services
from bizloom.platform.numbering.models import NumberSequence


@pytest.fixture
def staff(make_user):
    from django.contrib.auth.models import Permission

    user = make_user("admin", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="numbering"))
    return user


def test_non_staff_gets_403_and_changes_nothing(login, viewer):
    # given
    sequence = services.define_sequence("sales.order", "SO-{seq}")
    client = login(viewer)
    # when
    new = {"doc_type": "x", "pattern": "X{seq}", "reset_period": "auto"}
    responses = [client.get("/settings/numbering/"),
                 client.post("/settings/numbering/new/", new),
                 client.post(f"/settings/numbering/{sequence.pk}/", {"pattern": "Y{seq}", "reset_period": "auto"})]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert list(NumberSequence.objects.values_list("doc_type", "pattern")) == [("sales.order", "SO-{seq}")]


def test_staff_sees_sequences_with_example(login, staff):
    # given
    services.define_sequence("sales.order", "SO-{yyyy}-{seq:05}", name="销售订单")
    # when
    response = login(staff).get("/settings/numbering/")
    # then
    assert response.status_code == 200
    assert "销售订单" in response.text
    assert "-00001" in response.text


def test_staff_creates_sequence(login, staff):
    # when
    response = login(staff).post("/settings/numbering/new/", {
        "doc_type": "sales.order", "name": "Orders", "pattern": "SO-{yyyy}-{seq:05}", "reset_period": "auto"})
    # then
    assert response.status_code == 302
    assert NumberSequence.objects.get().pattern == "SO-{yyyy}-{seq:05}"


def test_unknown_token_is_shown_and_nothing_is_saved(login, staff):
    # when
    response = login(staff).post("/settings/numbering/new/", {
        "doc_type": "sales.order", "pattern": "SO-{year}-{seq}", "reset_period": "auto"})
    # then
    assert response.status_code == 422
    assert "Unknown token" in response.text
    assert "{year}" in response.text
    assert not NumberSequence.objects.exists()


def test_edit_refuses_reset_finer_than_pattern(login, staff):
    # given
    sequence = services.define_sequence("sales.order", "SO-{yyyy}-{seq}")
    # when
    response = login(staff).post(f"/settings/numbering/{sequence.pk}/", {"pattern": "SO-{seq}",
                                                                         "reset_period": "year"})
    # then
    assert response.status_code == 422
    assert "would repeat numbers" in response.text
    sequence.refresh_from_db()
    assert sequence.pattern == "SO-{yyyy}-{seq}"


def test_edit_changes_pattern_and_counters_continue(login, staff):
    # given
    sequence = services.define_sequence("sales.order", "SO-{seq:03}", reset_period="none")
    services.next_number("sales.order")
    # when
    response = login(staff).post(f"/settings/numbering/{sequence.pk}/", {"name": "订单", "pattern": "ORD-{seq:04}",
                                                                         "reset_period": "none"})
    # then
    assert response.status_code == 302
    assert services.next_number("sales.order") == "ORD-0002"

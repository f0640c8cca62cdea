"""Sales targets: who may set whose, validation, upsert and audit; the targets grid page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm.forecast import services
from bizloom.crm.forecast.events import TargetDeleted, TargetSet
from bizloom.crm.models import SalesTarget
from bizloom.crm.tests.forecast_fixtures import *  # noqa: F403 - the world fixture
from bizloom.crm.tests.forecast_fixtures import d
from bizloom.platform.audit.models import AuditEntry


def _audit(target_pk):
    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(SalesTarget),
                                          object_id=str(target_pk)).order_by("pk"))


def test_set_target_creates_then_updates_the_same_period_with_an_audit_trail(world):
    # when
    first = services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "500000", "cny",
                                actor=world.east_manager)
    second = services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), Decimal("650000.50"), "CNY",
                                 actor=world.east_manager)
    again = services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "650000.5", "CNY",
                                actor=world.east_manager)

    # then
    assert first.pk == second.pk == again.pk
    assert SalesTarget.objects.get().amount == Decimal("650000.5")
    assert SalesTarget.objects.get().currency == "CNY"
    assert SalesTarget.objects.get().updated_by == world.east_manager
    entries = _audit(first.pk)
    assert [e.action for e in entries] == ["create", "update"]  # setting the same value again writes nothing
    assert entries[1].changes["amount"] == ["500000.0000", "650000.5000"]


def test_set_and_delete_publish_events(world, target_events):
    # given
    seen = target_events

    # when
    target = services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "12.5", "CNY", actor=world.root)
    services.delete_target(target, actor=world.root)

    # then
    assert [type(e) for e in seen] == [TargetSet, TargetDeleted]
    assert (seen[0].amount, seen[0].currency, seen[0].created, seen[0].user_id) == (
        "12.5000", "CNY", True, world.rep_a.pk)


def test_a_rep_may_not_set_targets_and_nothing_is_written(world):
    # when
    with pytest.raises(PermissionDeniedError) as caught:
        services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "500000", "CNY", actor=world.rep_a)

    # then
    assert "manage_targets" in caught.value.context["rule"]
    assert not SalesTarget.objects.exists()


def test_a_manager_may_set_targets_only_inside_their_department_subtree(world):
    # when: the 华东 manager sets one for their rep, then tries 华南's rep
    services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "500000", "CNY", actor=world.east_manager)
    with pytest.raises(PermissionDeniedError) as caught:
        services.set_target(world.rep_b, d("2025-01-01"), d("2025-01-31"), "500000", "CNY",
                            actor=world.east_manager)

    # then
    assert "department" in caught.value.message
    assert list(SalesTarget.objects.values_list("user", flat=True)) == [world.rep_a.pk]


def test_the_head_of_the_parent_department_and_administrators_reach_further(world):
    # when
    services.set_target(world.rep_b, d("2025-01-01"), d("2025-01-31"), "1", "CNY", actor=world.boss)
    services.set_target(world.outsider, d("2025-01-01"), d("2025-01-31"), "2", "CNY", actor=world.admin)
    with pytest.raises(PermissionDeniedError):
        services.set_target(world.outsider, d("2025-02-01"), d("2025-02-28"), "3", "CNY", actor=world.boss)

    # then
    assert SalesTarget.objects.count() == 2


@pytest.mark.parametrize(("amount", "message"), [
    ("-1", "negative"), ("abc", "decimal number"), ("1.23456", "four decimal places"),
    ("NaN", "decimal number"), ("1e20", "less than"), (None, "decimal number"), (1.5, "decimal number"),
])
def test_invalid_amounts_are_refused_with_a_message_on_the_amount(world, amount, message):
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), amount, "CNY", actor=world.root)

    # then
    assert message in caught.value.fields["amount"][0]
    assert not SalesTarget.objects.exists()


def test_zero_is_a_valid_target_and_currency_and_period_are_checked(world):
    # when
    zero = services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "0", "CNY", actor=world.root)
    with pytest.raises(ValidationFailed) as bad_currency:
        services.set_target(world.rep_a, d("2025-02-01"), d("2025-02-28"), "1", "yuan", actor=world.root)
    with pytest.raises(ValidationFailed) as reversed_period:
        services.set_target(world.rep_a, d("2025-02-28"), d("2025-02-01"), "1", "CNY", actor=world.root)

    # then
    assert zero.amount == 0
    assert "currency" in bad_currency.value.fields
    assert "period_end" in reversed_period.value.fields


def test_a_target_overlapping_another_of_the_same_person_is_refused(world):
    # given
    services.set_target(world.rep_a, d("2025-01-01"), d("2025-01-31"), "100", "CNY", actor=world.root)

    # when
    with pytest.raises(ValidationFailed) as caught:
        services.set_target(world.rep_a, d("2025-01-01"), d("2025-03-31"), "300", "CNY", actor=world.root)

    # then
    assert caught.value.code == "target_overlap"
    assert "2025-01-01" in caught.value.fields["period_start"][0]
    assert SalesTarget.objects.count() == 1


def test_delete_target_is_audited_and_refused_outside_the_managers_reach(world):
    # given
    mine = world.target(world.rep_a, "2025-01-01", "2025-01-31", "100")
    theirs = world.target(world.rep_b, "2025-01-01", "2025-01-31", "100")
    mine_pk = mine.pk

    # when
    services.delete_target(mine, actor=world.east_manager)
    with pytest.raises(PermissionDeniedError):
        services.delete_target(theirs, actor=world.east_manager)

    # then
    assert list(SalesTarget.objects.all()) == [theirs]
    assert [e.action for e in _audit(mine_pk)] == ["delete"]


def test_save_targets_is_all_or_nothing(world):
    # given
    changes = [
        services.TargetChange("a", world.rep_a, d("2025-01-01"), d("2025-01-31"), "100", "CNY"),
        services.TargetChange("b", world.rep_a, d("2025-02-01"), d("2025-02-28"), "-5", "CNY"),
    ]

    # when
    with pytest.raises(ValidationFailed) as caught:
        services.save_targets(changes, actor=world.root)

    # then
    assert list(caught.value.fields) == ["b"]
    assert not SalesTarget.objects.exists()


# --- the grid page ---------------------------------------------------------------------------


def test_the_grid_shows_inputs_for_people_the_manager_reaches(client, world):
    # given
    world.target(world.rep_a, "2025-03-01", "2025-03-31", "450000")
    client.force_login(world.east_manager)

    # when
    response = client.get("/crm/targets/?year=2025")

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert f'name="cell-{world.rep_a.pk}-20250301-20250331" value="450000"' in body
    assert f"cell-{world.rep_b.pk}-" not in body  # another department: not even shown


def test_a_rep_sees_their_own_targets_read_only(client, world):
    # given
    world.target(world.rep_a, "2025-03-01", "2025-03-31", "450000")
    world.target(world.rep_b, "2025-03-01", "2025-03-31", "999000")
    client.force_login(world.rep_a)

    # when
    body = client.get("/crm/targets/?year=2025").content.decode()

    # then
    assert "CN¥450,000.00" in body
    assert "999,000" not in body
    assert "<input type=\"text\"" not in body


def test_without_permission_the_grid_is_refused(client, world):
    # given
    client.force_login(world.nobody)

    # when / then
    assert client.get("/crm/targets/").status_code == 403
    assert client.post("/crm/targets/save/", {f"cell-{world.rep_a.pk}-20250101-20250131": "1"}).status_code == 403
    assert not SalesTarget.objects.exists()


def test_a_cell_saved_with_htmx_answers_with_the_cell(client, world):
    # given
    client.force_login(world.east_manager)
    name = f"cell-{world.rep_a.pk}-20250101-20250131"

    # when: typed with grouping and full-width digits
    response = client.post("/crm/targets/save/", {name: "５００,０００", "year": "2025"},
                           HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME=name)

    # then
    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    assert SalesTarget.objects.get(user=world.rep_a).amount == Decimal("500000")


def test_a_bad_cell_answers_with_its_error_and_saves_nothing(client, world):
    # given
    client.force_login(world.east_manager)
    name = f"cell-{world.rep_a.pk}-20250101-20250131"

    # when
    response = client.post("/crm/targets/save/", {name: "-5", "year": "2025"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TRIGGER_NAME=name)

    # then
    body = response.content.decode()
    assert "A target may not be negative." in body
    assert 'aria-invalid="true"' in body
    assert 'value="-5"' in body
    assert not SalesTarget.objects.exists()


def test_a_cell_for_someone_outside_the_managers_department_is_refused(client, world):
    # given
    client.force_login(world.east_manager)
    name = f"cell-{world.rep_b.pk}-20250101-20250131"

    # when
    response = client.post("/crm/targets/save/", {name: "100", "year": "2025"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TRIGGER_NAME=name)

    # then
    assert "department" in response.content.decode()
    assert not SalesTarget.objects.exists()


def test_the_whole_grid_saves_together_or_shows_errors_per_cell(client, world):
    # given
    client.force_login(world.east_manager)
    good, bad = (f"cell-{world.rep_a.pk}-20250101-20250131", f"cell-{world.rep_a.pk}-20250201-20250228")

    # when
    refused = client.post("/crm/targets/save/", {good: "100", bad: "lots", "year": "2025"})
    saved = client.post("/crm/targets/save/", {good: "100", bad: "200", "year": "2025"})

    # then
    assert refused.status_code == 422
    assert "Enter the target as a decimal number" in refused.content.decode()
    assert saved.status_code == 302
    assert sorted(SalesTarget.objects.values_list("amount", flat=True)) == [Decimal("100"), Decimal("200")]


def test_clearing_a_cell_removes_the_target(client, world):
    # given
    world.target(world.rep_a, "2025-01-01", "2025-01-31", "100")
    client.force_login(world.east_manager)
    name = f"cell-{world.rep_a.pk}-20250101-20250131"

    # when
    client.post("/crm/targets/save/", {name: "  ", "year": "2025"}, HTTP_HX_REQUEST="true",
                HTTP_HX_TRIGGER_NAME=name)

    # then
    assert not SalesTarget.objects.exists()


def test_quarter_cells_show_what_monthly_targets_add_up_to(client, world):
    # given
    world.target(world.rep_a, "2025-01-01", "2025-01-31", "100000")
    world.target(world.rep_a, "2025-02-01", "2025-02-28", "200000")
    client.force_login(world.east_manager)

    # when
    body = client.get("/crm/targets/?year=2025&by=quarter").content.decode()

    # then
    assert 'placeholder="300,000"' in body
    assert "from other targets" in body


# --- demo ------------------------------------------------------------------------------------


def test_demo_gives_every_sales_rep_monthly_targets_around_this_month(db):
    # given
    from bizloom.crm.forecast import selectors
    from bizloom.crm.forecast.demo import build_targets
    from bizloom.platform import demo

    shared = demo.make_context(42, "small")

    # when
    for name, build in (("platform.users", demo.build_users), ("crm.targets", build_targets)):
        ctx = demo.make_context(42, "small", name=name)
        ctx.users, ctx.sales_reps = shared.users, shared.sales_reps
        ctx.counts, ctx.shared = shared.counts, shared.shared
        build(ctx)

    # then: last three months, this one and the next three, 300k–800k CNY each
    targets = list(SalesTarget.objects.all())
    assert len(targets) == 7 * len(shared.sales_reps)
    assert all(Decimal(300000) <= t.amount <= Decimal(800000) for t in targets)
    assert {t.currency for t in targets} == {"CNY"}
    manager, rep = shared.users["manager"], shared.users["sales"]
    assert selectors.may_manage_targets(manager)
    assert not selectors.may_manage_targets(rep)
    assert set(selectors.list_targets(rep).values_list("user", flat=True)) == {rep.pk}

"""Personal API tokens: creation, storage, use as Bearer, revocation and expiry."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.integration import services
from bizloom.integration.models import ApiToken

API_PROBE = "/api/v1/crm/accounts"


def test_create_token_stores_only_the_hash(user):
    # when
    issued = services.create_api_token(user, name="  ERP sync ", days=30, actor=user)

    # then
    token = ApiToken.objects.get()
    assert token.name == "ERP sync"
    assert issued.plaintext.startswith("bzl_")
    assert token.secret_hash == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert issued.plaintext not in {token.secret_hash, token.prefix, token.name}
    assert issued.plaintext.startswith(token.prefix)
    assert len(token.prefix) == 10
    assert timedelta(days=30) - (token.expires_at - token.created_at) == timedelta(0)


def test_create_token_defaults_to_setting_days(user, settings):
    # given
    settings.API_TOKEN_DEFAULT_DAYS = 90

    # when
    token = services.create_api_token(user, name="default", actor=user).token

    # then
    assert token.expires_at - token.created_at == timedelta(days=90)


@pytest.mark.parametrize(("name", "days", "field"), [
    ("", 30, "name"),
    ("   ", 30, "name"),
    ("x", 0, "days"),
    ("x", 366, "days"),
    ("x" * 101, 30, "name"),
], ids=["empty_name_case", "blank_name_case", "zero_days_case", "over_a_year_case", "long_name_case"])
def test_create_token_rejects_bad_input_and_creates_nothing(user, name, days, field):
    # when
    with pytest.raises(ValidationFailed) as error:
        services.create_api_token(user, name=name, days=days, actor=user)

    # then
    assert list(error.value.fields) == [field]
    assert ApiToken.objects.count() == 0


def test_create_token_for_someone_else_is_refused(user, other_user):
    # when
    with pytest.raises(PermissionDeniedError):
        services.create_api_token(other_user, name="sneaky", actor=user)

    # then
    assert ApiToken.objects.count() == 0


def test_bearer_token_authenticates_and_records_use(client, user, issued, bearer):
    # when
    response = client.get(API_PROBE, headers=bearer)

    # then: authenticated as user, who lacks the permission: 403, not 401
    assert response.status_code == 403
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_bearer_token_needs_no_csrf(user, issued, bearer):
    # given
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post(API_PROBE, data={"name": "Acme"}, content_type="application/json", headers=bearer)

    # then: past authentication and CSRF; refused by the permission check
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("header", ["Bearer bzl_not-a-real-token", "Bearer ", "Basic abc", "Bearer " + "x" * 5000],
                         ids=["unknown_case", "empty_case", "other_scheme_case", "huge_case"])
def test_unknown_token_is_401(client, db, header):
    # when
    response = client.get(API_PROBE, headers={"Authorization": header})

    # then
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_authenticated"
    assert "Bearer" in response["WWW-Authenticate"]


def test_revoked_token_is_401(client, user, issued, bearer):
    # given
    services.revoke_api_token(issued.token, actor=user)

    # when
    response = client.get(API_PROBE, headers=bearer)

    # then
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_expired_token_is_401(client, user, issued, bearer):
    # given
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    # when
    response = client.get(API_PROBE, headers=bearer)

    # then
    assert response.status_code == 401


def test_token_of_inactive_user_is_401(client, user, bearer):
    # given
    user.is_active = False
    user.save()

    # when
    response = client.get(API_PROBE, headers=bearer)

    # then
    assert response.status_code == 401


def test_revoke_another_users_token_is_refused(user, other_user, issued):
    # when
    with pytest.raises(PermissionDeniedError):
        services.revoke_api_token(issued.token, actor=other_user)

    # then
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_revoke_twice_keeps_first_time(user, issued):
    # given
    first = services.revoke_api_token(issued.token, actor=user).revoked_at

    # when
    second = services.revoke_api_token(issued.token, actor=user).revoked_at

    # then
    assert first == second


# --- the settings page ------------------------------------------------------------------


def test_tokens_page_requires_login(client, db):
    # when
    response = client.get(reverse("integration:token_list"))

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_tokens_page_shows_plaintext_once(client, user):
    # given
    client.force_login(user)

    # when
    created = client.post(reverse("integration:token_list"), {"name": "Shop", "days": "30"})
    again = client.get(reverse("integration:token_list"))

    # then
    token = ApiToken.objects.get()
    plaintext = created.context["issued"].plaintext
    assert created.status_code == 200
    assert plaintext in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert token.secret_hash == services.hash_secret(plaintext)
    assert token.expires_at - token.created_at == timedelta(days=30)
    assert plaintext not in again.content.decode()
    assert token.prefix in again.content.decode()


def test_tokens_page_rejects_over_a_year(client, user):
    # given
    client.force_login(user)

    # when
    response = client.post(reverse("integration:token_list"), {"name": "Shop", "days": "400"})

    # then
    assert response.status_code == 422
    assert "days" in response.context["form"].errors
    assert ApiToken.objects.count() == 0


def test_tokens_page_lists_only_own_tokens(client, user, other_user):
    # given
    services.create_api_token(other_user, name="theirs", actor=other_user)
    services.create_api_token(user, name="mine", actor=user)
    client.force_login(user)

    # when
    response = client.get(reverse("integration:token_list"))

    # then
    assert [t.name for t in response.context["tokens"]] == ["mine"]


def test_revoke_button_revokes(client, user, issued, bearer):
    # given
    client.force_login(user)

    # when
    response = client.post(reverse("integration:token_revoke", args=[issued.token.pk]))

    # then
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert Client().get(API_PROBE, headers=bearer).status_code == 401


def test_revoke_another_users_token_through_the_page_is_404(client, other_user, issued):
    # given
    client.force_login(other_user)

    # when
    response = client.post(reverse("integration:token_revoke", args=[issued.token.pk]))

    # then
    assert response.status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_revoke_needs_post(client, user, issued):
    # given
    client.force_login(user)

    # when
    response = client.get(reverse("integration:token_revoke", args=[issued.token.pk]))

    # then
    assert response.status_code == 405
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_user_menu_links_to_tokens(client, user):
    # given
    client.force_login(user)

    # when
    page = client.get(reverse("home")).content.decode()

    # then
    assert f'href="{reverse("integration:token_list")}"' in page


def test_invalid_bearer_does_not_fall_back_to_the_session(client, user):
    # given: a signed-in browser session
    client.force_login(user)

    # when
    response = client.get(API_PROBE, headers={"Authorization": "Bearer bzl_wrong"})

    # then
    assert response.status_code == 401

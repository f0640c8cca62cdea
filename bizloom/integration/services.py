"""Integration use cases: personal API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.integration.models import ApiToken
from bizloom.platform.models import User

security_log = logging.getLogger("bizloom.security")

TOKEN_PREFIX = "bzl_"
MAX_TOKEN_DAYS = 365
# Marking a token used at most this often keeps read-heavy clients from writing on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A newly created token and its plaintext secret, which exists only in this object."""

    token: ApiToken
    plaintext: str


def hash_secret(plaintext: str) -> str:
    """SHA-256 hex digest of a token's plaintext, as stored in ``ApiToken.secret_hash``."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


@transaction.atomic
def create_api_token(user: User, *, name: str, days: int | None = None, actor: User) -> IssuedToken:
    """Create a personal API token for ``user`` valid for ``days`` (default API_TOKEN_DEFAULT_DAYS).

    Only the hash is stored; the returned plaintext must be shown to the user once and
    then forgotten. Raises ValidationFailed for an empty name or a lifetime outside
    1..365 days, PermissionDeniedError when ``actor`` creates a token for someone else.
    """
    if actor.pk != user.pk:
        raise PermissionDeniedError(_("You can only create tokens for yourself."), rule="own_tokens_only")
    name = (name or "").strip()
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name.")]
    elif len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = [_("The name is too long.")]
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = [_("A token lives between 1 and %(max)s days.") % {"max": MAX_TOKEN_DAYS}]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plaintext[: len(TOKEN_PREFIX) + 6], secret_hash=hash_secret(plaintext),
        created_at=now, expires_at=now + timedelta(days=days),
    )
    security_log.info("api token created user=%s token=%s expires_at=%s", user.pk, token.pk,
                      token.expires_at.isoformat())
    return IssuedToken(token=token, plaintext=plaintext)


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor: User) -> ApiToken:
    """Revoke ``token`` now; it answers 401 from then on. Revoking twice keeps the first time.

    Raises PermissionDeniedError unless ``actor`` owns the token.
    """
    if token.user_id != actor.pk:
        raise PermissionDeniedError(_("You can only revoke your own tokens."), rule="own_tokens_only")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        security_log.info("api token revoked user=%s token=%s", actor.pk, token.pk)
    return token


def authenticate_token(plaintext: str, *, now: datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None when unknown, expired or revoked.

    Records ``last_used_at`` (at most once per LAST_USED_RESOLUTION).
    """
    now = now or timezone.now()
    token = (ApiToken.objects.select_related("user")
             .filter(secret_hash=hash_secret(plaintext), revoked_at__isnull=True, expires_at__gt=now).first())
    if token is None or not token.user.is_active:
        security_log.info("api token rejected prefix=%s", plaintext[: len(TOKEN_PREFIX) + 6])
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user

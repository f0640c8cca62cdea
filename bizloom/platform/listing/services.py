"""Saved views: a user's named list parameters. Each user sees and changes only their own."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed
from bizloom.platform.models import SavedView, User


def list_saved_views(user: Any, list_key: str) -> list[SavedView]:
    """``user``'s views of the list ``list_key``, by name."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(SavedView.objects.filter(owner=user, list_key=list_key).order_by("name"))


def default_saved_view(user: Any, list_key: str) -> SavedView | None:
    """The view ``user`` marked as default for ``list_key``, if any."""
    return SavedView.objects.filter(owner=user, list_key=list_key, is_default=True).first()


@transaction.atomic
def save_view(list_key: str, name: str, params: dict[str, list[str]], *, is_default: bool, actor: User) -> SavedView:
    """Create or overwrite ``actor``'s view ``name``; marking it default unmarks the others.

    Raises ValidationFailed when the name is empty or too long.
    """
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Give the view a name."), fields={"name": [_("This field is required.")]})
    if len(name) > 100:
        raise ValidationFailed(_("The name is too long."), fields={"name": [_("At most 100 characters.")]})
    if is_default:
        SavedView.objects.filter(owner=actor, list_key=list_key, is_default=True).exclude(name=name).update(
            is_default=False)
    view, _created = SavedView.objects.update_or_create(
        owner=actor, list_key=list_key, name=name, defaults={"params": params, "is_default": is_default})
    return view


@transaction.atomic
def set_default_view(view: SavedView, is_default: bool, *, actor: User) -> SavedView:
    """Make ``view`` (one of ``actor``'s) the default of its list, or clear the default."""
    if is_default:
        SavedView.objects.filter(owner=actor, list_key=view.list_key, is_default=True).exclude(pk=view.pk).update(
            is_default=False)
    view.is_default = is_default
    view.save(update_fields=["is_default"])
    return view


@transaction.atomic
def delete_view(view: SavedView, *, actor: User) -> None:
    """Delete one of ``actor``'s views."""
    view.delete()

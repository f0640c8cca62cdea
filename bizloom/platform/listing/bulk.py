"""The bulk actions most lists offer, built from the module's own services.

    bulk_actions=[transfer_owner_action(services.transfer_leads),
                  delete_action(services.delete_lead, confirm=_("Delete the selected leads?"))]

Both run inside the list kit's transaction, so a refusal of one record undoes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bizloom.platform.listing.config import BulkAction


class TransferOwnerForm(forms.Form):
    """The new owner for the bulk "transfer" action."""

    new_owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label=_("New owner"),
                                                                    empty_label=_("New owner…"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from bizloom.platform.models import User

        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]


def _names(queryset: QuerySet[Any], count: int) -> str:
    meta = queryset.model._meta
    return str(meta.verbose_name if count == 1 else meta.verbose_name_plural)


def transfer_owner_action(transfer: Callable[..., int]) -> BulkAction:
    """"Transfer owner": ``transfer(records, new_owner, actor=user) -> changed count``."""

    def run(queryset: QuerySet[Any], user: Any, data: Mapping[str, Any]) -> str:
        changed = transfer(list(queryset), data["new_owner"], actor=user)
        return ngettext("%(count)d %(records)s transferred to %(owner)s.",
                        "%(count)d %(records)s transferred to %(owner)s.", changed) % {
            "count": changed, "records": _names(queryset, changed), "owner": data["new_owner"]}

    return BulkAction("transfer", _("Transfer owner"), "change", run, form_class=TransferOwnerForm)


def delete_action(delete: Callable[..., None], *, confirm: str | Promise) -> BulkAction:
    """"Delete": ``delete(record, actor=user)`` for each selected record (all or nothing)."""

    def run(queryset: QuerySet[Any], user: Any, data: Mapping[str, Any]) -> str:
        selected: Iterable[Any] = list(queryset)
        count = 0
        for record in selected:
            delete(record, actor=user)
            count += 1
        return ngettext("%(count)d %(records)s deleted.", "%(count)d %(records)s deleted.", count) % {
            "count": count, "records": _names(queryset, count)}

    return BulkAction("delete", _("Delete"), "delete", run, style="danger", confirm=confirm)

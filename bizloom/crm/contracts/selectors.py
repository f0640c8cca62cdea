"""Permission-scoped reads of contracts."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from bizloom.crm.contracts.services import is_signed_document_type
from bizloom.crm.models import Account, Contract, Opportunity
from bizloom.platform import access
from bizloom.platform.timeline.models import Attachment

STATUS_ORDER = (Contract.Status.ACTIVE, Contract.Status.DRAFT, Contract.Status.EXPIRED, Contract.Status.TERMINATED)


def list_contracts(user: Any, action: str = "view") -> QuerySet[Contract]:
    """Contracts ``user`` may ``action``, with account, contact, owner and opportunity joined."""
    queryset = Contract.objects.select_related("account", "contact", "owner", "opportunity", "signed_document")
    return access.restrict(queryset, user, action)


def get_contract(user: Any, pk: int, action: str = "view") -> Contract:
    """One contract, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_contracts(user, action), pk=pk)


def list_account_contracts(user: Any, account: Account) -> QuerySet[Contract]:
    """The contracts of ``account`` that ``user`` may view: active first, then drafts, then the
    ended ones; newest start date first within each."""
    rank = Case(*(When(status=status, then=Value(i)) for i, status in enumerate(STATUS_ORDER)),
                default=Value(len(STATUS_ORDER)), output_field=IntegerField())
    return list_contracts(user).filter(account=account).order_by(rank, "-start_date", "-pk")


def signed_document_candidates(contract: Contract) -> QuerySet[Attachment]:
    """PDFs and images on the timeline of ``contract`` (loaded through ``get_contract``), newest first."""
    content_type = ContentType.objects.get_for_model(Contract)
    attachments = Attachment.objects.filter(content_type=content_type, object_id=str(contract.pk))
    ids = [a.pk for a in attachments.only("pk", "mime_type") if is_signed_document_type(a.mime_type)]
    return attachments.filter(pk__in=ids).order_by("-uploaded_at", "-pk")


def get_visible_opportunity(user: Any, pk: int) -> Opportunity | None:
    """The opportunity ``pk`` if ``user`` may view it, else None (prefilling a new contract)."""
    return access.restrict(Opportunity.objects.select_related("account", "contact"), user, "view").filter(
        pk=pk).first()

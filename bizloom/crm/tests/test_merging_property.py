"""Property test of the merge tool (issue #4): for random graphs of related records, merging
accounts never loses a related record, and afterwards everything points at the survivor."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bizloom.crm.merging import services
from bizloom.crm.models import Account, Activity, Contact, Contract, Opportunity, Pipeline
from bizloom.platform.models import User
from bizloom.platform.timeline.models import Comment

pytestmark = pytest.mark.django_db

_NUMBERS = itertools.count(1)

# One account of the merged group: how many of each kind of record refers to it. Contacts may
# also be linked (many-to-many) to any account of the group, by index.
account_graph = st.fixed_dictionaries({
    "contacts": st.integers(0, 3),
    "linked": st.lists(st.integers(0, 3), max_size=3),
    "opportunities": st.integers(0, 2),
    "contracts": st.integers(0, 2),
    "activities": st.integers(0, 3),
    "comments": st.integers(0, 2),
    "children": st.integers(0, 2),
    "shared_contact": st.booleans(),
})
graphs = st.lists(account_graph, min_size=2, max_size=4)


def related_records(accounts: list[Account]) -> set[tuple[str, int]]:
    """Every record that refers to one of ``accounts`` in any way (model label, pk)."""
    ids = [a.pk for a in accounts]
    account_type = ContentType.objects.get_for_model(Account)
    texts = [str(pk) for pk in ids]
    found: set[tuple[str, int]] = set()
    found |= {("contact", pk) for pk in Contact.objects.filter(account__in=ids).values_list("pk", flat=True)}
    found |= {("contact", pk) for pk in Contact.accounts.through.objects.filter(account_id__in=ids)
              .values_list("contact_id", flat=True)}
    found |= {("opportunity", pk) for pk in Opportunity.objects.filter(account__in=ids).values_list("pk", flat=True)}
    found |= {("contract", pk) for pk in Contract.objects.filter(account__in=ids).values_list("pk", flat=True)}
    found |= {("activity", pk) for pk in Activity.objects.filter(account__in=ids).values_list("pk", flat=True)}
    found |= {("activity", pk) for pk in Activity.objects.filter(content_type=account_type, object_id__in=texts)
              .values_list("pk", flat=True)}
    found |= {("comment", pk) for pk in Comment.objects.filter(content_type=account_type, object_id__in=texts)
              .values_list("pk", flat=True)}
    found |= {("account", pk) for pk in Account.objects.filter(parent__in=ids).exclude(pk__in=ids)
              .values_list("pk", flat=True)}
    return found


def build(graph: list[dict], author: User, pipeline: Pipeline) -> list[Account]:
    accounts = [Account.objects.create(name=f"云启科技 {i}") for i in range(len(graph))]
    stage = pipeline.stages.order_by("position").first()
    account_type = ContentType.objects.get_for_model(Account)
    shared = Contact.objects.create(name="共用联系人")
    for account, spec in zip(accounts, graph, strict=True):
        contacts = [Contact.objects.create(name=f"联系人 {next(_NUMBERS)}", account=account)
                    for _ in range(spec["contacts"])]
        for index in spec["linked"]:
            target = accounts[index % len(accounts)]
            contact = Contact.objects.create(name=f"联系人 {next(_NUMBERS)}")
            contact.accounts.add(target)
            if contacts:
                contacts[0].accounts.add(target)  # may repeat its primary account's group member
        if spec["shared_contact"]:
            shared.accounts.add(account)  # one contact linked to several merged accounts
        for _ in range(spec["opportunities"]):
            Opportunity.objects.create(name=f"商机 {next(_NUMBERS)}", account=account,
                                       contact=contacts[0] if contacts else None, pipeline=pipeline, stage=stage)
        for _ in range(spec["contracts"]):
            Contract.objects.create(number=f"P-{next(_NUMBERS)}", title="合同", account=account,
                                    start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 30))
        for _ in range(spec["activities"]):
            Activity.objects.create(subject="拜访", content_type=account_type, object_id=str(account.pk),
                                    account=account, contact=contacts[0] if contacts else None)
        for _ in range(spec["comments"]):
            Comment.objects.create(content_type=account_type, object_id=str(account.pk), author=author, body="备注")
        for _ in range(spec["children"]):
            Account.objects.create(name=f"分公司 {next(_NUMBERS)}", parent=account)
    return accounts


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs, survivor_index=st.integers(0, 3))
def test_merge_never_loses_a_related_record(graph, survivor_index):
    author = User.objects.get_or_create(username="property-root", defaults={"is_superuser": True})[0]
    pipeline = Pipeline.objects.get(is_default=True)
    with transaction.atomic():
        # given
        accounts = build(graph, author, pipeline)
        survivor = accounts[survivor_index % len(accounts)]
        others = [a for a in accounts if a.pk != survivor.pk]
        before = related_records(accounts)
        # when
        services.merge_records(Account, survivor, others, actor=author)
        # then: the same records, all pointing at the survivor, and nothing at the merged ones
        assert related_records([survivor]) == before
        assert not Account.objects.filter(pk__in=[o.pk for o in others]).exists()
        assert services.related_rows(Account, [o.pk for o in others]) == set()
        survivor.refresh_from_db()
        assert survivor.parent_id is None
        through = Contact.accounts.through.objects
        assert not through.filter(account_id=survivor.pk, contact__account_id=survivor.pk).exists()
        transaction.set_rollback(True)

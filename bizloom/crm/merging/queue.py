"""The standing duplicate queue (issue #4): find candidate pairs and keep them until a person
merges them or says they are different.

Rules per model (``bizloom.crm.duplicates`` keys, strongest first):

* accounts — same tax id (:func:`duplicates.tax_key`), same company name
  (:func:`duplicates.company_key`: legal forms, width and Traditional/Simplified folded);
* contacts — same email, same phone (mobile or office, in either field);
* leads — same email, same phone, same person at the same company
  (:func:`duplicates.person_key` and :func:`duplicates.company_key`).

A pair is stored once per two records (``first_id < second_id``) with its strongest rule and the
shared value. Open pairs are not re-created, dismissed ones stay dismissed: a scan only adds
pairs that have never been stored. :func:`scan_duplicates` scans whole models (the nightly job
and the "Scan now" button); :func:`scan_record` checks one new record (run after an account or
contact is created, from the outbox) and :func:`scan_records` many of them, with the same result
(what the outbox delivers after an import).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import combinations
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError
from bizloom.crm import duplicates
from bizloom.crm.duplicates import Rule
from bizloom.crm.merging.services import MERGEABLE
from bizloom.crm.models import Account, Contact, DuplicatePair, Lead
from bizloom.platform import access
from bizloom.platform.models import User

# A key shared by more records than this is noise (a switchboard number, "info@" of a
# marketplace, a placeholder name): pairing all of them would flood the queue.
MAX_GROUP = 20
VALUE_MAX = DuplicatePair._meta.get_field("value").max_length or 300
_RANK = {rule: rank for rank, rule in enumerate(duplicates.RULE_ORDER)}

Keys = list[tuple[Rule, str]]


def _account_keys(row: dict[str, Any]) -> Keys:
    keys: Keys = []
    if tax := duplicates.tax_key(row["code"]):
        keys.append((Rule.TAX_ID, tax))
    if (row["name"] or "").strip() and (name := duplicates.company_key(row["name"])):
        keys.append((Rule.NAME, name))
    return keys


def _people_keys(row: dict[str, Any]) -> Keys:
    keys: Keys = []
    if email := duplicates.email_key(row["email"]):
        keys.append((Rule.EMAIL, email))
    for name in ("mobile", "phone"):
        if phone := duplicates.phone_key(row[name]):
            keys.append((Rule.PHONE, phone))
    return keys


def _lead_keys(row: dict[str, Any]) -> Keys:
    keys = _people_keys(row)
    if (row["name"] or "").strip() and (row["company"] or "").strip():
        keys.append((Rule.NAME, f"{duplicates.person_key(row['name'])}@{duplicates.company_key(row['company'])}"))
    return keys


SCANNED: dict[type[models.Model], tuple[tuple[str, ...], Any]] = {
    Account: (("name", "code"), _account_keys),
    Contact: (("email", "mobile", "phone"), _people_keys),
    Lead: (("name", "company", "email", "mobile", "phone"), _lead_keys),
}


def _keyed(model: type[models.Model], queryset: models.QuerySet[Any] | None = None, *,
           stream: bool = True) -> Iterator[tuple[int, Keys]]:
    """``(pk, keys)`` of the records, in pk order. ``stream`` reads a whole table in chunks (a
    server-side cursor on PostgreSQL); a few records are read at once instead, because a cursor is
    planned for its first rows and may walk the whole key index to find them."""
    fields, make_keys = SCANNED[model]
    rows = (queryset if queryset is not None else model._default_manager.all()).order_by("pk").values("pk", *fields)
    for row in rows.iterator(chunk_size=2000) if stream else rows:
        yield row["pk"], make_keys(row)


def _best(found: dict[tuple[int, int], tuple[Rule, str]], first: int, second: int, rule: Rule, key: str) -> None:
    pair = (first, second) if first < second else (second, first)
    held = found.get(pair)
    if held is None or _RANK[rule] < _RANK[held[0]]:
        found[pair] = (rule, key)


def candidate_pairs(model: type[models.Model]) -> dict[tuple[int, int], tuple[Rule, str]]:
    """``{(first_id, second_id): (rule, shared key)}`` for every pair of ``model`` records that
    share a key, with the strongest rule; keys shared by more than :data:`MAX_GROUP` records are
    skipped."""
    groups: dict[tuple[Rule, str], list[int]] = {}
    for pk, keys in _keyed(model):
        for rule, key in dict.fromkeys(keys):
            groups.setdefault((rule, key), []).append(pk)
    found: dict[tuple[int, int], tuple[Rule, str]] = {}
    for (rule, key), ids in groups.items():
        if 1 < len(ids) <= MAX_GROUP:
            for first, second in combinations(ids, 2):
                _best(found, first, second, rule, key)
    return found


def _store(model: type[models.Model], found: dict[tuple[int, int], tuple[Rule, str]], *,
           in_order: bool = False) -> int:
    """Insert the pairs never stored before (any status), sorted (or in ``found``'s order when
    ``in_order``); returns how many were added."""
    if not found:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    ids = {pk for pair in found for pk in pair}
    known = set(DuplicatePair.objects.filter(content_type=content_type, first_id__in=ids)
                .values_list("first_id", "second_id"))
    new = [DuplicatePair(content_type=content_type, first_id=first, second_id=second, rule=str(rule),
                         value=key[:VALUE_MAX])
           for (first, second), (rule, key) in (found.items() if in_order else sorted(found.items()))
           if (first, second) not in known]
    DuplicatePair.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return len(new)


@transaction.atomic
def scan_duplicates(scanned: Iterable[type[models.Model]] | None = None) -> dict[str, int]:
    """Scan whole models (default: accounts, contacts, leads) and store the new candidate pairs;
    returns how many were added per model label. Running it twice adds nothing the second time;
    dismissed pairs are never re-opened."""
    return {model._meta.label: _store(model, candidate_pairs(model)) for model in (scanned or SCANNED)}


def _lookup_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The stored (indexed) columns in which a new record's keys are looked up: accounts keep
    ``name_key`` and the tax id; contacts and leads keep E.164 phones and lower-cased emails."""
    return ("name_key", "code") if model is Account else ("email", "mobile", "phone")


def _matching(model: type[models.Model], values: Iterable[str]) -> models.QuerySet[Any]:
    """The records of ``model`` holding one of ``values`` in a :func:`_lookup_fields` column."""
    values = set(values)
    condition = Q()
    for field in _lookup_fields(model):
        condition |= Q(**{f"{field}__in": values})
    return model._default_manager.filter(condition)


def _look_alikes(model: type[models.Model], pk: int, keys: Keys) -> models.QuerySet[Any]:
    """The records of ``model`` that may share one of ``keys`` with record ``pk``, found by
    indexed queries on the stored forms (accounts keep ``name_key``; contacts keep E.164 phones
    and lower-cased emails), so checking one new record does not fold every other one. The
    caller still compares real keys; formatting variants of a tax id are left to the full scan.
    """
    return _matching(model, {key for _rule, key in keys}).exclude(pk=pk)


def _pairs_of(pk: int, mine: Keys, others: Iterable[tuple[int, Keys]]) -> dict[tuple[int, int], tuple[Rule, str]]:
    """The candidate pairs of record ``pk`` (keys ``mine``) with ``others`` (its look-alikes in pk
    order), each with its strongest rule; keys that more than :data:`MAX_GROUP` records share are skipped."""
    wanted = set(mine)
    found: dict[tuple[int, int], tuple[Rule, str]] = {}
    matches: dict[tuple[Rule, str], list[int]] = {}
    for other, keys in others:
        for rule, key in dict.fromkeys(keys):
            if (rule, key) in wanted:
                matches.setdefault((rule, key), []).append(other)
    for (rule, key), ids in matches.items():
        if len(ids) < MAX_GROUP:
            for other in ids:
                _best(found, pk, other, rule, key)
    return found


@transaction.atomic
def scan_record(model: type[models.Model], pk: int) -> int:
    """Store the candidate pairs of one record of ``model`` (accounts, contacts) with the
    others; returns how many were added (0 when the record no longer exists)."""
    mine = next(iter(_keyed(model, model._default_manager.filter(pk=pk))), None)
    if mine is None or not mine[1]:
        return 0
    return _store(model, _pairs_of(pk, mine[1], _keyed(model, _look_alikes(model, pk, mine[1]))))


# Records (and look-up values) per query of scan_records: 250 values in three columns stay far
# below SQLite's limit on query parameters.
SCAN_CHUNK = 250


@transaction.atomic
def scan_records(model: type[models.Model], pks: Sequence[int]) -> int:
    """:func:`scan_record` for each of ``pks`` in turn, with a few set-based queries; returns how
    many pairs were added.

    Stores exactly what those calls store: each record's look-alikes are the records holding one
    of its keys in a :func:`_lookup_fields` column (looked up for all records at once, then
    picked per record), a pair found for two records of ``pks`` (new duplicates of each other)
    keeps the rule of the earlier one, and pairs stored before, in any status, stay as they are.
    Deleted records and records without keys are skipped.
    """
    fields, make_keys = SCANNED[model]
    lookup = _lookup_fields(model)
    ordered = list(dict.fromkeys(pks))
    mine: dict[int, Keys] = {}
    for start in range(0, len(ordered), SCAN_CHUNK):
        mine.update(_keyed(model, model._default_manager.filter(pk__in=ordered[start:start + SCAN_CHUNK]),
                           stream=False))
    values = sorted({key for keys in mine.values() for _rule, key in keys})
    # Every look-alike of any of them: its keys and the values of its look-up columns.
    others: dict[int, Keys] = {}
    holders: dict[str, set[int]] = {}
    for start in range(0, len(values), SCAN_CHUNK):
        rows = _matching(model, values[start:start + SCAN_CHUNK]).values("pk", *dict.fromkeys((*fields, *lookup)))
        for row in rows:  # the records holding these values: a few, read at once (see _keyed)
            others[row["pk"]] = make_keys(row)
            for field in lookup:
                if row[field]:
                    holders.setdefault(row[field], set()).add(row["pk"])
    found: dict[tuple[int, int], tuple[Rule, str]] = {}
    for pk in ordered:
        keys = mine.get(pk)
        if not keys:
            continue
        alike = set().union(*(holders.get(key, ()) for _rule, key in keys))
        alike.discard(pk)
        for pair, best in sorted(_pairs_of(pk, keys, ((other, others[other]) for other in sorted(alike))).items()):
            found.setdefault(pair, best)
    return _store(model, found, in_order=True)


# --- reading and resolving the queue ---------------------------------------------------------


def model_of(pair: DuplicatePair) -> type[models.Model] | None:
    """The record model of ``pair`` when it is one the queue handles."""
    model = pair.content_type.model_class()
    return model if model in MERGEABLE.values() else None


def list_pairs(user: Any, *, status: str = DuplicatePair.Status.OPEN, kind: str = "",
               rule: str = "") -> models.QuerySet[DuplicatePair]:
    """Pairs ``user`` may see: they need the queue's view permission, and view access to *both*
    records (a pair never reveals a record outside their scope). ``kind`` ("account", "contact",
    "lead") and ``rule`` narrow it; newest first."""
    if not access.can(user, DuplicatePair, "view"):
        return DuplicatePair.objects.none()
    condition = Q(pk__in=[])
    for name, model in MERGEABLE.items():
        if kind and kind != name or not access.can(user, model, "view"):
            continue
        visible = access.restrict(model._default_manager.all(), user, "view").values("pk")
        condition |= Q(content_type=ContentType.objects.get_for_model(model), first_id__in=visible,
                       second_id__in=visible)
    pairs = DuplicatePair.objects.filter(condition).select_related("content_type")
    if status:
        pairs = pairs.filter(status=status)
    if rule:
        pairs = pairs.filter(rule=rule)
    return pairs.order_by("-detected_at", "pk")


_RULE_FIELDS = {"tax_id": ("code", "company_code"), "email": ("email",), "phone": ("mobile", "phone"),
                "name": ("name", "company", "name_key")}
"""The fields of accounts, contacts and leads a pair's shared value may come from, by rule."""


def shown_value(pair: DuplicatePair, model: type[models.Model], user: Any) -> str:
    """The pair's shared value as ``user`` may see it: empty when a field it may come from is hidden
    from them on ``model`` (a role that hides contacts' e-mail addresses does not read them here)."""
    hidden = access.field_policy(user, model, "view").hidden
    return "" if any(name in hidden for name in _RULE_FIELDS.get(pair.rule, ())) else pair.value


def records_of(pairs: Sequence[DuplicatePair]) -> dict[tuple[int, int], models.Model]:
    """The records of ``pairs`` by ``(content type id, pk)``, two queries per model at most."""
    wanted: dict[int, set[int]] = {}
    for pair in pairs:
        wanted.setdefault(pair.content_type_id, set()).update({pair.first_id, pair.second_id})
    found: dict[tuple[int, int], models.Model] = {}
    for content_type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        for pk, record in model._default_manager.in_bulk(ids).items():
            found[(content_type_id, pk)] = record
    return found


@transaction.atomic
def dismiss_pair(pair: DuplicatePair, *, actor: User) -> DuplicatePair:
    """Mark an open pair "not duplicates": it leaves the queue and later scans never re-open it.

    Refused (DomainError ``pair_not_open``) when the pair was already merged or dismissed.
    """
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status != DuplicatePair.Status.OPEN:
        raise DomainError(_("This pair was already resolved."), code="pair_not_open")
    pair.status = DuplicatePair.Status.DISMISSED
    pair.resolved_at = timezone.now()
    pair.resolved_by = actor
    pair.save(update_fields=["status", "resolved_at", "resolved_by"])
    return pair


def look_alikes_of(user: Any, model: type[models.Model], record: models.Model,
                   limit: int = MAX_GROUP) -> list[tuple[models.Model, Rule]]:
    """The records of ``model`` that ``user`` may view and that share a duplicate key with
    ``record`` (same tax id or name for accounts; same email or phone), each with the strongest
    rule, strongest first: the suggestions of the "Merge…" picker on a record's page."""
    mine = next(iter(_keyed(model, model._default_manager.filter(pk=record.pk))), None)
    if mine is None or not mine[1]:
        return []
    wanted = dict.fromkeys(mine[1])
    candidates = access.restrict(_look_alikes(model, record.pk, mine[1]), user, "view")
    best: dict[int, Rule] = {}
    for other, keys in _keyed(model, candidates):
        for rule, key in keys:
            if (rule, key) in wanted and (other not in best or _RANK[rule] < _RANK[best[other]]):
                best[other] = rule
    ordered = sorted(best.items(), key=lambda item: (_RANK[item[1]], item[0]))[:limit]
    found = model._default_manager.in_bulk([pk for pk, _rule in ordered])
    return [(found[pk], rule) for pk, rule in ordered if pk in found]

"""Activity use cases (issue #4): schedule, log, edit, complete, cancel, check in, delete, transfer;
the secret calendar feed address.

Every write records the audit trail and publishes a ``bizloom.crm.activities.events`` event in
the same transaction. An activity is linked to a business record (``record``); the services
derive its ``account`` and ``contact`` from that record, and refuse a record the actor may not
view (``access.check_reference``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.common.statemachine import check_transition
from bizloom.common.validation import full_clean
from bizloom.crm.activities import selectors
from bizloom.crm.activities.events import (
    ActivityCompleted,
    ActivityCreated,
    ActivityDeleted,
    ActivityOwnerChanged,
    ActivityUpdated,
)
from bizloom.crm.models import Account, Activity, CalendarFeed, Contact
from bizloom.platform import access, records
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.events import publish
from bizloom.platform.models import User

log = logging.getLogger("bizloom.security")

ACTIVITY_FIELDS = frozenset({
    "kind", "subject", "description", "due_at", "duration_minutes", "all_day", "remind_at", "location", "result",
    "record", "owner", "attendees", "contact_attendees", "recurrence", "recurrence_until",
})
CREATE_ONLY_FIELDS = frozenset({"status"})
LINK_FIELDS = ("record", "attendees", "contact_attendees")
CREATABLE_STATUSES = frozenset({Activity.Status.PLANNED, Activity.Status.DONE})
MAX_DURATION_MINUTES = 7 * 24 * 60
MAX_ATTENDEES = 100
# A recurring activity completed late skips the occurrences that have already passed, but
# never more than this many (a daily activity completed years late stops searching).
MAX_SKIPPED_OCCURRENCES = 1000
# Activity times lie in these years (see _normalize_and_validate).
MIN_YEAR, MAX_YEAR = 1900, 2999


class ActivityNotAVisit(DomainError):
    """Only visits are checked in."""

    code = "not_a_visit"
    status = 409


class AlreadyCheckedIn(DomainError):
    """A visit is checked in once."""

    code = "already_checked_in"
    status = 409


class NotYourFeed(DomainError):
    """A calendar feed is created or removed only by its user."""

    code = "not_your_feed"
    status = 403


# --- links -----------------------------------------------------------------------------------


def derive_links(record: models.Model | None) -> tuple[Account | None, Contact | None]:
    """The account and contact an activity about ``record`` belongs to.

    An account is its own account; a contact gives itself and its primary account; any other
    record its ``account``/``contact`` fields (opportunities, contracts, later orders and
    tickets), or a lead's converted account and contact.
    """
    if record is None:
        return None, None
    if isinstance(record, Account):
        return record, None
    if isinstance(record, Contact):
        return record.account, record
    account = contact = None
    for name in ("account", "converted_account"):
        value = getattr(record, name, None)
        if isinstance(value, Account):
            account = value
            break
    for name in ("contact", "converted_contact"):
        value = getattr(record, name, None)
        if isinstance(value, Contact):
            contact = value
            break
    if account is None and contact is not None:
        account = contact.account
    return account, contact


def _same_record(activity: Activity, record: models.Model | None) -> bool:
    if record is None:
        return activity.content_type_id is None
    return (activity.content_type_id == ContentType.objects.get_for_model(type(record)).pk
            and activity.object_id == str(record.pk))


def _snapshot(activity: Activity) -> dict[str, Any]:
    """The audited state: the fields, the linked record as one reference (its name, not a
    content type and an id), and the attendees (users and contacts, by id)."""
    state = audit.snapshot(activity)
    state.pop("content_type", None)
    state.pop("object_id", None)
    state["record"] = audit.reference(activity.record) if activity.content_type_id else None
    if activity.pk is not None:
        state["attendees"] = [audit.reference(u) for u in activity.attendees.order_by("pk")]
        state["contact_attendees"] = [audit.reference(c) for c in activity.contact_attendees.order_by("pk")]
    return state


def _assign(activity: Activity, data: Mapping[str, Any], *, actor: User, writable: frozenset[str],
            ) -> tuple[list[User] | None, list[Contact] | None]:
    """Set the given fields of ``activity``; returns the attendees and contact attendees to store
    (None when ``data`` leaves them alone).

    A newly linked record, contact attendee or owner must be visible to (active for) the actor.
    Linking sets ``account`` and ``contact`` from the record (:func:`derive_links`).
    """
    records.assign(activity, data, writable=writable, actor=actor, skip=LINK_FIELDS)
    if "owner" in data and data["owner"] is not None and data["owner"].pk != activity.owner_id:
        access.check_reference(actor, data["owner"], field="owner")
    if "record" in data:
        record = data["record"]
        if record is not None and not _same_record(activity, record):
            if selectors.linkable_model(selectors.record_type(type(record))) is None:
                message = _("Activities cannot be linked to this kind of record.")
                raise ValidationFailed(message, fields={"record": [message]})
            access.check_reference(actor, record, field="record")
        if record is None:
            activity.content_type, activity.object_id = None, ""
        else:
            activity.content_type = ContentType.objects.get_for_model(type(record))
            activity.object_id = str(record.pk)
        activity.account, activity.contact = derive_links(record)
    users: list[User] | None = None
    if "attendees" in data:
        users = sorted({u.pk: u for u in data["attendees"] or ()}.values(), key=lambda u: u.pk)
        current = set(activity.attendees.values_list("pk", flat=True)) if activity.pk else set()
        for user in users:
            if user.pk not in current:
                access.check_reference(actor, user, field="attendees")
    contacts: list[Contact] | None = None
    if "contact_attendees" in data:
        contacts = sorted({c.pk: c for c in data["contact_attendees"] or ()}.values(), key=lambda c: c.pk)
        current = set(activity.contact_attendees.values_list("pk", flat=True)) if activity.pk else set()
        for contact in contacts:
            if contact.pk not in current:
                access.check_reference(actor, contact, field="contact_attendees")
    for name, chosen in (("attendees", users), ("contact_attendees", contacts)):
        if chosen is not None and len(chosen) > MAX_ATTENDEES:
            message = _("At most %(count)d attendees.") % {"count": MAX_ATTENDEES}
            raise ValidationFailed(message, fields={name: [message]})
    return users, contacts


def _check_time_range(activity: Activity) -> None:
    errors = {name: [_("Enter a date between %(first)d and %(last)d.") % {"first": MIN_YEAR, "last": MAX_YEAR}]
              for name in ("due_at", "remind_at")
              if (value := getattr(activity, name)) is not None and not MIN_YEAR <= value.year <= MAX_YEAR}
    until = activity.recurrence_until
    if until is not None and not MIN_YEAR <= until.year <= MAX_YEAR:
        errors["recurrence_until"] = [_("Enter a date between %(first)d and %(last)d.")
                                      % {"first": MIN_YEAR, "last": MAX_YEAR}]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)


def _normalize_and_validate(activity: Activity) -> None:
    """Apply the rules of one activity and raise ValidationFailed with every broken one.

    All-day activities are due at local midnight. A repeating activity needs a due date,
    and its end date may not lie before it; without repetition there is no end date. The
    duration is at most a week. Times lie in the years 1900 to 2999 (beyond them the local
    time, the next occurrence and the calendar feed would fall off the calendar).
    """
    _check_time_range(activity)
    if activity.all_day and activity.due_at is not None:
        activity.due_at = selectors.local_midnight(timezone.localdate(activity.due_at))
    if not activity.recurrence:
        activity.recurrence_until = None
    errors: dict[str, list[str]] = {}
    try:
        full_clean(activity)
    except ValidationFailed as failure:
        errors = {name: list(messages) for name, messages in failure.fields.items()}
    if activity.recurrence and activity.due_at is None:
        errors.setdefault("due_at", []).append(_("A repeating activity needs a due date."))
    if activity.recurrence and activity.status == Activity.Status.DONE and activity.pk is None:
        errors.setdefault("recurrence", []).append(_("A logged activity does not repeat; schedule it instead."))
    if (activity.recurrence_until is not None and activity.due_at is not None
            and activity.recurrence_until < timezone.localdate(activity.due_at)):
        errors.setdefault("recurrence_until", []).append(_("The repetition cannot end before the first due date."))
    if activity.duration_minutes is not None and activity.duration_minutes > MAX_DURATION_MINUTES:
        errors.setdefault("duration_minutes", []).append(
            _("At most %(minutes)d minutes (one week).") % {"minutes": MAX_DURATION_MINUTES})
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)


def _store_links(activity: Activity, users: list[User] | None, contacts: list[Contact] | None) -> None:
    if users is not None:
        activity.attendees.set(users)
    if contacts is not None:
        activity.contact_attendees.set(contacts)


def _lock(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


def _updated_event(activity: Activity, actor: User | None) -> Any:
    return lambda changed: ActivityUpdated(activity_id=activity.pk, changed=changed,
                                           actor_id=actor.pk if actor else None)


def _owner_event(activity: Activity, actor: User | None) -> Any:
    return lambda old, new: ActivityOwnerChanged(activity_id=activity.pk, old_owner_id=old, new_owner_id=new,
                                                 actor_id=actor.pk if actor else None)


def _created(activity: Activity, *, actor: User | None) -> None:
    records.created(activity, actor=actor, snapshot=_snapshot(activity),
                    event=ActivityCreated(activity_id=activity.pk, kind=activity.kind, status=activity.status,
                                          owner_id=activity.owner_id, account_id=activity.account_id,
                                          actor_id=actor.pk if actor else None))


# --- create, update, delete, transfer ------------------------------------------------------------


@transaction.atomic
def create_activity(data: Mapping[str, Any], *, actor: User) -> Activity:
    """Schedule an activity (status planned, the default) or log one that happened (status done).

    ``data["record"]`` is the business record it is about (any linkable record the actor may
    view); its account and contact are derived from it. The actor owns it unless ``owner`` is
    given. ``attendees`` (users) and ``contact_attendees`` (contacts the actor may view) are
    the meeting's participants. A logged activity is completed at its due time when that has
    passed, else now (and is due now unless a due time is given). ``data["custom_fields"]`` as for accounts.

    Records a "create" audit entry and publishes ActivityCreated. Raises ValidationFailed with
    per-field messages; a refusal writes nothing.
    """
    values = {"owner": actor, **data}
    status = values.pop("status", Activity.Status.PLANNED) or Activity.Status.PLANNED
    if status not in CREATABLE_STATUSES:
        message = _("A new activity is either planned or done.")
        raise ValidationFailed(message, fields={"status": [message]})
    activity = Activity(status=status)
    users, contacts = _assign(activity, values, actor=actor, writable=ACTIVITY_FIELDS)
    if status == Activity.Status.DONE:
        now = timezone.now()
        activity.completed_at = min(activity.due_at, now) if activity.due_at is not None else now
        if activity.due_at is None:
            activity.due_at = activity.completed_at
    _normalize_and_validate(activity)
    activity.save()
    _store_links(activity, users, contacts)
    _created(activity, actor=actor)
    return activity


@transaction.atomic
def update_activity(activity: Activity, data: Mapping[str, Any], *, actor: User) -> Activity:
    """Change the given fields of ``activity`` (status changes go through complete/cancel).

    Re-linking derives account and contact again. Moving the due time or the reminder
    re-arms the reminder. Records an "update" audit entry and publishes ActivityUpdated (and
    ActivityOwnerChanged for a new owner); an update that changes nothing records nothing.
    Raises ValidationFailed; a refusal writes nothing.
    """
    activity = _lock(activity)
    before = _snapshot(activity)
    old_times = (activity.due_at, activity.remind_at)
    users, contacts = _assign(activity, data, actor=actor, writable=ACTIVITY_FIELDS)
    _normalize_and_validate(activity)
    if (activity.due_at, activity.remind_at) != old_times:
        activity.reminded_at = None
    activity.save()
    _store_links(activity, users, contacts)
    records.updated(activity, before, actor=actor, after=_snapshot(activity),
                    event=_updated_event(activity, actor), owner_event=_owner_event(activity, actor))
    return activity


@transaction.atomic
def delete_activity(activity: Activity, *, actor: User) -> None:
    """Delete ``activity`` (its later occurrences stay, without a series). Records a "delete"
    audit entry and publishes ActivityDeleted."""
    records.delete(activity, actor=actor, in_use_code="activity_in_use", snapshot=_snapshot(activity),
                   event=ActivityDeleted(activity_id=activity.pk, subject=activity.subject, actor_id=actor.pk))


@transaction.atomic
def transfer_activities(activities: Iterable[Activity], new_owner: User, *, actor: User) -> int:
    """Give every activity in ``activities`` to ``new_owner``; returns how many changed.

    One UPDATE, one "owner_change" audit entry and one ActivityOwnerChanged event per changed
    activity; those already owned by ``new_owner`` are left alone.
    """
    access.check_reference(actor, new_owner, field="new_owner")
    return records.transfer_owner(
        Activity, activities, new_owner, actor=actor,
        event=lambda pk, old: ActivityOwnerChanged(activity_id=pk, old_owner_id=old, new_owner_id=new_owner.pk,
                                                   actor_id=actor.pk))


# --- workflow -------------------------------------------------------------------------------------


def next_due(due: dt.datetime, recurrence: str) -> dt.datetime:
    """The due time after ``due`` for ``recurrence`` (daily, weekly, monthly), at the same local
    time of day; monthly keeps the day of the month, or the month's last day when it is shorter."""
    local = timezone.localtime(due)
    day = local.date()
    if recurrence == Activity.Recurrence.DAILY:
        day += dt.timedelta(days=1)
    elif recurrence == Activity.Recurrence.WEEKLY:
        day += dt.timedelta(days=7)
    elif recurrence == Activity.Recurrence.MONTHLY:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        day = dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    else:
        raise ValueError(f"not a recurrence: {recurrence!r}")
    return timezone.make_aware(dt.datetime.combine(day, local.time().replace(tzinfo=None)))


def _schedule_next(activity: Activity, *, actor: User | None, now: dt.datetime) -> Activity | None:
    """The next occurrence of a recurring ``activity`` (same series), or None when the series ends.

    The next due time follows the cadence from this occurrence's due time, skipping the
    occurrences that have already passed; it must not lie after ``recurrence_until``. The
    reminder keeps its distance to the due time; fields, links and attendees are copied.
    """
    if not activity.recurrence or activity.due_at is None:
        return None
    due = activity.due_at
    for _step in range(MAX_SKIPPED_OCCURRENCES):
        due = next_due(due, activity.recurrence)
        if due > now:
            break
    if activity.recurrence_until is not None and timezone.localdate(due) > activity.recurrence_until:
        return None
    following = Activity(
        kind=activity.kind, subject=activity.subject, description=activity.description, due_at=due,
        duration_minutes=activity.duration_minutes, all_day=activity.all_day, location=activity.location,
        content_type=activity.content_type, object_id=activity.object_id, account=activity.account,
        contact=activity.contact, recurrence=activity.recurrence, recurrence_until=activity.recurrence_until,
        series_id=activity.series_id or activity.pk, owner=activity.owner, custom_data=dict(activity.custom_data),
        remind_at=due - (activity.due_at - activity.remind_at) if activity.remind_at else None,
    )
    following.save()
    following.attendees.set(activity.attendees.all())
    following.contact_attendees.set(activity.contact_attendees.all())
    _created(following, actor=actor)
    return following


@transaction.atomic
def complete_activity(activity: Activity, *, actor: User, result: str = "") -> Activity:
    """Mark a planned activity done now, with its ``result`` (what came of it) when given.

    A recurring activity schedules its next occurrence in the same series (see
    ``_schedule_next``). Records a "status changed" audit entry and publishes
    ActivityCompleted (with the next occurrence's id). Raises InvalidTransition unless the
    activity is planned.
    """
    activity = _lock(activity)
    check_transition(activity, Activity.Status.DONE)
    before = _snapshot(activity)
    now = timezone.now()
    activity.status = Activity.Status.DONE
    activity.completed_at = now
    if (result or "").strip():
        activity.result = result.strip()
    full_clean(activity)
    activity.save()
    records.updated(activity, before, actor=actor, after=_snapshot(activity), event=None,
                    action=AuditEntry.Action.STATE_CHANGE)
    following = _schedule_next(activity, actor=actor, now=now)
    publish(ActivityCompleted(activity_id=activity.pk, account_id=activity.account_id, owner_id=activity.owner_id,
                              next_id=following.pk if following else None, actor_id=actor.pk))
    return activity


@transaction.atomic
def cancel_activity(activity: Activity, *, actor: User, end_series: bool = False) -> Activity:
    """Cancel a planned activity. A recurring one schedules its next occurrence (this one is
    skipped) unless ``end_series``, which ends the repetition here.

    Records a "status changed" audit entry and publishes ActivityUpdated. Raises
    InvalidTransition unless the activity is planned.
    """
    activity = _lock(activity)
    check_transition(activity, Activity.Status.CANCELLED)
    before = _snapshot(activity)
    activity.status = Activity.Status.CANCELLED
    activity.save()
    records.updated(activity, before, actor=actor, after=_snapshot(activity), event=_updated_event(activity, actor),
                    action=AuditEntry.Action.STATE_CHANGE)
    if not end_series:
        _schedule_next(activity, actor=actor, now=timezone.now())
    return activity


@transaction.atomic
def check_in(activity: Activity, *, actor: User, location: str | None = None) -> Activity:
    """Record arrival at a planned visit: stamps ``checked_in_at`` now and, when given, the
    address where the rep is (``location``).

    Records an "update" audit entry and publishes ActivityUpdated. Raises ActivityNotAVisit
    for other kinds, AlreadyCheckedIn the second time, InvalidTransition for a visit that is
    no longer planned, ValidationFailed for an address longer than 300 characters.
    """
    activity = _lock(activity)
    if activity.kind != Activity.Kind.VISIT:
        raise ActivityNotAVisit(_("Only visits can be checked in."))
    if activity.status != Activity.Status.PLANNED:
        raise DomainError(_("Only a planned visit can be checked in."), code="activity_not_open")
    if activity.checked_in_at is not None:
        raise AlreadyCheckedIn(_("This visit was already checked in at %(time)s.") % {
            "time": timezone.localtime(activity.checked_in_at).strftime("%Y-%m-%d %H:%M")})
    before = _snapshot(activity)
    activity.checked_in_at = timezone.now()
    if location is not None and location.strip():
        activity.location = location.strip()
    full_clean(activity)
    activity.save()
    records.updated(activity, before, actor=actor, after=_snapshot(activity), event=_updated_event(activity, actor))
    return activity


# --- the calendar feed ----------------------------------------------------------------------------


def feed_token_hash(token: str) -> str:
    """The SHA-256 (hex) of a feed token: all that is stored of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def regenerate_calendar_feed(user: User, *, actor: User) -> str:
    """Create or replace ``user``'s secret calendar feed token and return it (shown once; only its
    SHA-256 is stored, so the old address stops working). Only the user themself may."""
    if actor.pk != user.pk:
        raise NotYourFeed(_("Only the user themself can create their calendar feed."))
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": feed_token_hash(token),
                                                               "last_used_at": None})
    log.info("calendar feed regenerated user=%s", user.pk)
    return token


@transaction.atomic
def revoke_calendar_feed(user: User, *, actor: User) -> bool:
    """Delete ``user``'s calendar feed (its address stops working); False when there was none."""
    if actor.pk != user.pk:
        raise NotYourFeed(_("Only the user themself can remove their calendar feed."))
    deleted, _rows = CalendarFeed.objects.filter(user=user).delete()
    if deleted:
        log.info("calendar feed revoked user=%s", user.pk)
    return bool(deleted)


def calendar_feed_user(token: str) -> User | None:
    """The active user whose feed ``token`` is, or None; notes when the feed was last read
    (at most once a minute, so a polling client does not write on every request)."""
    if not token or len(token) > 200:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=feed_token_hash(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user

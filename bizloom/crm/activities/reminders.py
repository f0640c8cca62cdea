"""Activity reminders (issue #4): a job every minute finds the due ones, a task sends each.

``queue_activity_reminders`` (scheduled job ``crm.activity_reminders``) enqueues
``send_activity_reminder`` for every planned activity whose ``remind_at`` has come and that
was not reminded yet. The task claims the reminder with a conditional UPDATE
(``reminded_at IS NULL``), so a reminder goes out once even when two jobs or workers race,
and notifies the owner and the attendees (in-app and by e-mail, as each one's preference for
the kind ``crm.activity_reminder`` allows) in the same transaction as the claim.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from bizloom.crm.models import Activity
from bizloom.platform.notifications import services as notifications
from bizloom.platform.notifications.kinds import register_kind

log = logging.getLogger(__name__)

REMINDER_KIND = register_kind("crm.activity_reminder", _("Reminders of my activities")).key
JOB_NAME = "crm.activity_reminders"
JOB_EVERY = dt.timedelta(minutes=1)
BATCH = 1000


def _reminder_text(kind: str, subject: str, due_at: dt.datetime | None, all_day: bool, location: str) -> str:
    """The reminder in the active language (the recipient's, when ``notify`` renders it)."""
    label = dict(Activity.Kind.choices).get(kind, kind)
    if due_at is None:
        text = gettext("Reminder: %(kind)s “%(subject)s”") % {"kind": label, "subject": subject}
    else:
        local = timezone.localtime(due_at)
        # ISO-like and 24-hour: unambiguous in every language of the recipients
        when = formats.date_format(local.date(), "Y-m-d") if all_day else formats.date_format(local, "Y-m-d H:i")
        text = gettext("Reminder: %(kind)s “%(subject)s” is due %(when)s") % {
            "kind": label, "subject": subject, "when": when}
    if location:
        text += "\n" + gettext("Address: %(location)s") % {"location": location}
    return text


reminder_text = lazy(_reminder_text, str)


def due_reminders(now: dt.datetime | None = None) -> list[int]:
    """Ids of planned activities whose reminder time has come and that were not reminded yet."""
    now = now or timezone.now()
    return list(Activity.objects.filter(status=Activity.Status.PLANNED, remind_at__lte=now,
                                        reminded_at__isnull=True).order_by("remind_at", "pk")
                .values_list("pk", flat=True)[:BATCH])


@transaction.atomic
def send_reminder(activity_id: int, now: dt.datetime | None = None) -> bool:
    """Send the reminder of one activity, once: True when this call sent it.

    The conditional UPDATE claims it (another caller that lost the race updates nothing and
    sends nothing); the owner and the user attendees are notified in the same transaction, and
    the e-mails leave after it commits.
    """
    now = now or timezone.now()
    claimed = Activity.objects.filter(pk=activity_id, status=Activity.Status.PLANNED, remind_at__lte=now,
                                      reminded_at__isnull=True).update(reminded_at=now)
    if not claimed:
        return False
    activity = Activity.objects.select_related("owner").get(pk=activity_id)
    recipients = {}
    if activity.owner is not None:
        recipients[activity.owner.pk] = activity.owner
    for attendee in activity.attendees.order_by("pk"):
        recipients.setdefault(attendee.pk, attendee)
    message = reminder_text(activity.kind, activity.subject, activity.due_at, activity.all_day, activity.location)
    for recipient in recipients.values():
        notifications.notify(recipient, kind=REMINDER_KIND, message=message, target=activity)
    log.info("activity reminder sent activity=%s recipients=%s", activity_id, sorted(recipients))
    return True


@task()
def send_activity_reminder(activity_id: int) -> bool:
    """Worker task: :func:`send_reminder` for one activity."""
    return send_reminder(activity_id)


@task()
def queue_activity_reminders() -> int:
    """Scheduled every minute: enqueue a reminder task for each due reminder; returns how many."""
    ids = due_reminders()
    for activity_id in ids:
        send_activity_reminder.enqueue(activity_id)
    return len(ids)

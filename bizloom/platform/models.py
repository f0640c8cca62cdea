"""Platform models: users and the runtime bookkeeping of worker and scheduler."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils.translation import gettext_lazy as _


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" for char in text)


class User(AbstractUser):
    """A person who signs in. ``language`` overrides the browser's preference once chosen."""

    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("Interface language; empty follows the browser."),
    )
    department = models.ForeignKey("platform.Department", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="members", verbose_name=_("department"))

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")  # type: ignore[assignment]  # stubs type Meta.verbose_name as str
        verbose_name_plural = _("users")  # type: ignore[assignment]
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """Chinese names read family name first and without a space (张伟); others "Wei Zhang"."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _is_cjk(first + last):
            return f"{last}{first}"
        return super().get_full_name()


class WorkerHeartbeat(models.Model):
    """One row per running task worker, touched periodically; health reads it."""

    name = models.CharField(_("worker"), max_length=200, unique=True)
    started_at = models.DateTimeField(_("started at"))
    seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.name


class ScheduledRun(models.Model):
    """Claim of one periodic job for one period.

    The unique constraint is what makes the scheduler safe on several machines: every
    scheduler tries to insert (job, period) and only the one whose insert succeeds
    enqueues the job.
    """

    job = models.CharField(_("job"), max_length=100)
    period = models.CharField(_("period"), max_length=40)
    claimed_by = models.CharField(_("claimed by"), max_length=200)
    claimed_at = models.DateTimeField(_("claimed at"))

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        ordering = ["-claimed_at"]
        constraints = [models.UniqueConstraint(fields=["job", "period"], name="platform_scheduledrun_once_per_period")]

    def __str__(self) -> str:
        return f"{self.job}@{self.period}"


class SavedView(models.Model):
    """A named set of list parameters (search, filters, sort, columns) a user keeps."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views",
                              verbose_name=_("owner"))
    list_key = models.CharField(_("list"), max_length=100)
    name = models.CharField(_("name"), max_length=100)
    params = models.JSONField(_("parameters"), default=dict)
    is_default = models.BooleanField(_("default view"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["list_key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_key", "name"], name="platform_savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


# --- Organisation and access (issue #3) -------------------------------------------------

PATH_STEP = 7  # characters per level of Department.path: six digits and a "/"


class Department(models.Model):
    """A unit of the organisation tree (销售部 → 华东销售组).

    ``path`` is a materialised path (``"000001/000004/"``): the pk of every ancestor and of
    the department itself, so the subtree of ``d`` is ``path__startswith=d.path`` on SQLite
    and PostgreSQL alike. Services (``platform.org.services``) keep it in step with
    ``parent``; nothing else writes it.
    """

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent department"))
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="managed_departments", verbose_name=_("manager"))
    ordering = models.PositiveIntegerField(_("ordering"), default=0)
    path = models.CharField(_("path"), max_length=255, blank=True, db_index=True, editable=False)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path", "ordering", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        """0 for a top-level department."""
        return max(0, len(self.path) // PATH_STEP - 1)


class Team(models.Model):
    """A group of people working together (a sales team); team scope covers its members' records."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="teams", verbose_name=_("department"))
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="led_teams", verbose_name=_("leader"))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True,
                                     verbose_name=_("members"))

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleScope(models.Model):
    """The record scope a role (a Django Group) has for one action on one model.

    Without a row the role's grant covers all records. The role must also hold the
    permission itself (``crm.change_account``); a scope alone grants nothing.
    """

    class Scope(models.TextChoices):
        OWN = "own", _("Own records")
        TEAM = "team", _("Team's records")
        DEPARTMENT = "department", _("Department's records")
        ALL = "all", _("All records")

    role = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="scopes", verbose_name=_("role"))
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE,
                                     verbose_name=_("record type"))
    action = models.CharField(_("action"), max_length=100)
    scope = models.CharField(_("scope"), max_length=20, choices=Scope, default=Scope.ALL)

    class Meta:
        verbose_name = _("role scope")
        verbose_name_plural = _("role scopes")
        ordering = ["role", "content_type", "action"]
        permissions = [("manage_roles", "Can manage the organisation, roles and access")]
        constraints = [
            models.UniqueConstraint(fields=["role", "content_type", "action"], name="platform_rolescope_unique"),
            models.CheckConstraint(condition=models.Q(scope__in=["own", "team", "department", "all"]),
                                   name="platform_rolescope_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.action} {self.content_type} ({self.scope})"


class RoleFieldRule(models.Model):
    """A field that a role shows read-only or not at all, on one model."""

    class Mode(models.TextChoices):
        HIDDEN = "hidden", _("Hidden")
        READONLY = "readonly", _("Read-only")

    role = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="field_rules",
                             verbose_name=_("role"))
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE,
                                     verbose_name=_("record type"))
    field_name = models.CharField(_("field"), max_length=100)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode)

    class Meta:
        verbose_name = _("field rule")
        verbose_name_plural = _("field rules")
        ordering = ["role", "content_type", "field_name"]
        constraints = [
            models.UniqueConstraint(fields=["role", "content_type", "field_name"],
                                    name="platform_rolefieldrule_unique"),
            models.CheckConstraint(condition=models.Q(mode__in=["hidden", "readonly"]),
                                   name="platform_rolefieldrule_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content_type}.{self.field_name} ({self.mode})"


class RecordShare(models.Model):
    """One record shared with a user or a team, to read or to edit.

    Exactly one of ``user`` and ``team`` is set. A share widens the record scope only: the
    recipient still needs the model permission (``crm.view_account``) for it to count.
    """

    class Level(models.TextChoices):
        READ = "read", _("Read")
        EDIT = "edit", _("Edit")

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE,
                                     verbose_name=_("record type"))
    object_id = models.PositiveBigIntegerField(_("record id"))
    record = GenericForeignKey("content_type", "object_id")  # lets the merge tool find it (crm.merging)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="record_shares", verbose_name=_("user"))
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="record_shares",
                             verbose_name=_("team"))
    level = models.CharField(_("level"), max_length=10, choices=Level, default=Level.READ)
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+", verbose_name=_("shared by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("record share")
        verbose_name_plural = _("record shares")
        ordering = ["content_type", "object_id", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="platform_share_record_idx")]
        constraints = [
            models.CheckConstraint(condition=(models.Q(user__isnull=False, team__isnull=True)
                                              | models.Q(user__isnull=True, team__isnull=False)),
                                   name="platform_recordshare_one_recipient"),
            models.CheckConstraint(condition=models.Q(level__in=["read", "edit"]),
                                   name="platform_recordshare_level_valid"),
            models.UniqueConstraint(fields=["content_type", "object_id", "user"],
                                    condition=models.Q(user__isnull=False),
                                    name="platform_recordshare_unique_user"),
            models.UniqueConstraint(fields=["content_type", "object_id", "team"],
                                    condition=models.Q(team__isnull=False),
                                    name="platform_recordshare_unique_team"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type} #{self.object_id} → {self.user or self.team} ({self.level})"


class IdempotentRequest(models.Model):
    """A write API call made with an ``Idempotency-Key`` header and the response it got.

    A retry with the same key (by the same caller) gets the stored response instead of
    running again. The row is written in the same transaction as the call's own changes, so
    it exists exactly when they do. ``scope`` identifies the caller (user or token);
    ``fingerprint`` is the SHA-256 of method, path and body, to refuse a key reused for a
    different request.
    """

    scope = models.CharField(_("caller"), max_length=80)
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    body = models.BinaryField(_("response body"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="platform_idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"

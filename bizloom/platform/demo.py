"""The demo company: a registry of per-app builders and the demo users.

Each app contributes a builder in its own ``demo.py`` (found by autodiscovery, like admin
modules)::

    from bizloom.platform import demo

    @demo.builder("crm.accounts", order=20)
    def build_accounts(ctx: demo.DemoContext) -> None:
        for _ in range(ctx.quantity("accounts", small=60, medium=600, large=6000)):
            ...

Builders run in ``order`` (then name) inside one transaction. Each builder gets its own
``random.Random`` and Faker seeded from the demo seed and the builder's name, so the output
of one builder does not change when another is added or changed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from faker import Faker

from bizloom.platform.models import Department, Team, User

SIZES = ("small", "medium", "large")
DEFAULT_SEED = 42

# username, password, first name, last name, role; passwords are public: demo data only.
DEMO_USERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("admin", "admin", "Admin", "", "admin"),
    ("manager", "manager", "敏", "王", "manager"),
    ("sales", "sales", "伟", "张", "sales"),
)
# More sales reps by size, so ownership is spread over several people.
EXTRA_SALES_REPS = {"small": 1, "medium": 3, "large": 6}
# Django permissions of the demo roles, contributed by each app's demo module (see grant()).
ROLE_PERMISSIONS: dict[str, set[str]] = {"sales": set(), "manager": set()}

# The built-in roles (issue #3): key → (role name, record scope of every grant). Apps add
# permissions with grant(key, ...); "auditor" gets view and export of every business model
# and "administrator" every business permission, so both grow as modules are added.
BUILTIN_ROLES: dict[str, tuple[str, str]] = {
    "administrator": ("Administrator", "all"),
    "sales": ("Sales rep", "own"),
    "manager": ("Sales manager", "department"),
    "service": ("Service agent", "team"),
    "marketer": ("Marketer", "all"),
    "warehouse": ("Warehouse", "all"),
    "buyer": ("Buyer", "all"),
    "planner": ("Planner", "all"),
    "accountant": ("Accountant", "all"),
    "auditor": ("Auditor", "all"),
}
for _key in BUILTIN_ROLES:
    ROLE_PERMISSIONS.setdefault(_key, set())
# What exists today; later modules grant their own models from their demo modules.
ROLE_PERMISSIONS["service"].update({"crm.view_account"})
ROLE_PERMISSIONS["marketer"].update({"crm.view_account", "crm.export_account"})
ROLE_PERMISSIONS["buyer"].update({"crm.view_account"})
ROLE_PERMISSIONS["planner"].update({"crm.view_account"})
ROLE_PERMISSIONS["accountant"].update({"crm.view_account", "crm.export_account"})
ROLE_PERMISSIONS["administrator"].add("platform.manage_roles")

# The demo organisation: departments (name, parent) and which demo users sit where.
DEMO_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("总经办", ""), ("销售部", ""), ("华东销售组", "销售部"), ("华南销售组", "销售部"), ("客服部", ""),
    ("采购部", ""), ("仓储部", ""), ("财务部", ""),
)


class DemoRefused(Exception):
    """The database is not empty and ``force`` was not given."""


@dataclass
class DemoContext:
    """What a builder gets: the seed, the size, seeded generators, and what earlier builders made."""

    seed: int
    size: str
    overrides: dict[str, int]
    rng: random.Random
    fake: Faker  # locales zh_CN and en_US; fake["zh_CN"] / fake["en_US"] pick one
    users: dict[str, User] = field(default_factory=dict)
    sales_reps: list[User] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def quantity(self, key: str, *, small: int, medium: int, large: int, per_account: float | None = None) -> int:
        """How many ``key`` records to create: an explicit override (``--accounts N``) or by size.

        Records that come with accounts give ``per_account``: when only the number of accounts is
        overridden (``--accounts 12``), they follow it instead of the size's figure, so a small
        book at size "medium" does not get a medium pipeline.
        """
        if key in self.overrides:
            return self.overrides[key]
        if per_account is not None and "accounts" in self.overrides:
            return max(1, round(per_account * self.overrides["accounts"]))
        return {"small": small, "medium": medium, "large": large}[self.size]

    def created(self, key: str, number: int) -> None:
        """Record that ``number`` records of ``key`` were created (shown in the summary)."""
        self.counts[key] = self.counts.get(key, 0) + number


BuilderFunc = Callable[[DemoContext], None]


@dataclass(frozen=True)
class DemoBuilder:
    """A registered builder."""

    name: str
    func: BuilderFunc
    order: int


_builders: dict[str, DemoBuilder] = {}


def grant(role: str, *permissions: str) -> None:
    """Give the demo ``role`` (a key of BUILTIN_ROLES: "sales", "manager", "buyer", ...) these
    ``app_label.codename`` permissions; the role's built-in scope applies to them."""
    ROLE_PERMISSIONS.setdefault(role, set()).update(permissions)


def register(name: str, func: BuilderFunc, *, order: int = 100) -> None:
    """Add ``func`` to the demo under ``name``; re-registering the same name replaces it."""
    _builders[name] = DemoBuilder(name=name, func=func, order=order)


def builder(name: str, *, order: int = 100) -> Callable[[BuilderFunc], BuilderFunc]:
    """Decorator form of ``register``."""

    def decorate(func: BuilderFunc) -> BuilderFunc:
        register(name, func, order=order)
        return func

    return decorate


def registered_builders() -> list[DemoBuilder]:
    """Every app's builder, in the order they run."""
    autodiscover_modules("demo")
    return sorted(_builders.values(), key=lambda b: (b.order, b.name))


def sub_seed(seed: int, name: str) -> int:
    """A stable seed for one builder, derived from the demo seed and the builder's name."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def make_context(seed: int, size: str, overrides: dict[str, int] | None = None, *,
                 name: str = "") -> DemoContext:
    """A context with generators seeded for builder ``name``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    fake = Faker(["zh_CN", "en_US"])
    fake.seed_instance(sub_seed(seed, name))
    return DemoContext(seed=seed, size=size, overrides=dict(overrides or {}),
                       rng=random.Random(sub_seed(seed, name)), fake=fake)


def database_is_empty() -> bool:
    """True when no user exists yet (the demo and ``bizloom run`` load only into a fresh database)."""
    return not User.objects.exists()


def build_demo(*, seed: int = DEFAULT_SEED, size: str = "small", overrides: dict[str, int] | None = None,
               force: bool = False, log: Callable[[str], object] | None = None) -> DemoContext:
    """Build the demo company in one transaction and return the final context (with counts).

    ``log`` receives a line per finished builder. Raises ``DemoRefused`` when the database
    already has users, unless ``force``.
    """
    if not force and not database_is_empty():
        raise DemoRefused("The database already has data; the demo company is only loaded into an empty "
                          "database. Use --force to add it anyway (users are reset, records are added).")
    shared = make_context(seed, size, overrides)
    with transaction.atomic():
        for item in registered_builders():
            ctx = make_context(seed, size, overrides, name=item.name)
            ctx.users, ctx.sales_reps, ctx.counts, ctx.shared = (
                shared.users, shared.sales_reps, shared.counts, shared.shared)
            item.func(ctx)
            if log is not None:
                log(f"  {item.name}: done")
    return shared


def _permissions(names: set[str]) -> list[Permission]:
    perms = []
    for dotted in sorted(names):
        app_label, codename = dotted.split(".")
        perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return perms


def _upsert_user(username: str, password: str, first: str, last: str, *, superuser: bool = False) -> User:
    user, _ = User.objects.get_or_create(username=username)
    user.first_name, user.last_name = first, last
    user.email = f"{username}@demo.bizloom.example"
    user.is_active = True
    user.is_staff = user.is_superuser = superuser
    user.set_password(password)
    user.save()
    return user


def build_roles() -> dict[str, Group]:
    """Create or refresh the built-in roles with their permissions and scopes; returns them by key."""
    from django.contrib.contenttypes.models import ContentType

    from bizloom.platform import access
    from bizloom.platform.models import RoleScope

    business = access.business_models()
    extra = {
        "administrator": {access.codename(m, a) for m in business for a in access.model_actions(m)},
        "auditor": {access.codename(m, a) for m in business for a in ("view", "export")},
    }
    existing = {f"{app}.{code}" for app, code in Permission.objects.values_list("content_type__app_label", "codename")}
    roles: dict[str, Group] = {}
    for key, (name, scope) in BUILTIN_ROLES.items():
        role, _created = Group.objects.get_or_create(name=name)
        wanted = sorted((ROLE_PERMISSIONS.get(key, set()) | extra.get(key, set())) & existing)
        role.permissions.set(_permissions(set(wanted)))
        RoleScope.objects.filter(role=role).delete()
        if scope != "all":
            rows = []
            for dotted in wanted:
                app_label, code = dotted.split(".")
                model = next((m for m in business if m._meta.app_label == app_label
                              and code.endswith(f"_{m._meta.model_name}")), None)
                if model is None:
                    continue
                action = code[: -len(f"_{model._meta.model_name}")]
                rows.append(RoleScope(role=role, content_type=ContentType.objects.get_for_model(model),
                                      action=action, scope=scope))
            RoleScope.objects.bulk_create(rows)
        roles[key] = role
    return roles


def _build_departments() -> dict[str, Department]:
    from bizloom.platform.org import services as org

    system = User.objects.filter(is_superuser=True).order_by("pk").first()
    departments: dict[str, Department] = {}
    for name, parent in DEMO_DEPARTMENTS:
        existing = Department.objects.filter(name=name).first()
        departments[name] = existing or org.create_department(name, parent=departments.get(parent),
                                                              actor=system)  # type: ignore[arg-type]
    return departments


@builder("platform.users", order=0)
def build_users(ctx: DemoContext) -> None:
    """The demo users: admin/admin, manager/manager, sales/sales and a few more reps (password = username).

    They get the built-in roles (Sales rep: own accounts; Sales manager: the sales
    department's), departments (销售部 with 华东销售组 and 华南销售组) and teams.
    """
    roles = build_roles()
    for username, password, first, last, role in DEMO_USERS:
        user = _upsert_user(username, password, first, last, superuser=role == "admin")
        user.user_permissions.clear()
        user.groups.set([roles["administrator" if role == "admin" else role]] if role in roles or role == "admin"
                        else [])
        ctx.users[username] = user
    ctx.sales_reps.append(ctx.users["sales"])
    zh = ctx.fake["zh_CN"]
    for number in range(2, 2 + EXTRA_SALES_REPS[ctx.size]):
        username = f"sales{number}"
        user = _upsert_user(username, username, zh.first_name(), zh.last_name())
        user.user_permissions.clear()
        user.groups.set([roles["sales"]])
        ctx.users[username] = user
        ctx.sales_reps.append(user)
    departments = _build_departments()
    sales_department = departments["销售部"]
    sales_department.manager = ctx.users["manager"]
    sales_department.save(update_fields=["manager"])
    ctx.users["manager"].department = sales_department
    ctx.users["manager"].save(update_fields=["department"])
    ctx.users["admin"].department = departments["总经办"]
    ctx.users["admin"].save(update_fields=["department"])
    for index, rep in enumerate(ctx.sales_reps):
        group = "华东销售组" if index % 2 == 0 else "华南销售组"
        rep.department = departments[group]
        rep.save(update_fields=["department"])
        team, _created = Team.objects.get_or_create(name=group, defaults={"department": departments[group]})
        team.members.add(rep)
    ctx.shared["departments"] = departments
    ctx.shared["roles"] = roles
    ctx.created("users", len(ctx.users))


def demo_logins() -> list[tuple[str, str]]:
    """(username, password) of the fixed demo users that still exist with their demo password."""
    users = {user.username: user for user in User.objects.filter(username__in=[u[0] for u in DEMO_USERS])}
    return [(username, password) for username, password, *_ in DEMO_USERS
            if username in users and users[username].check_password(password)]

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

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from faker import Faker

from bizloom.platform.models import User

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

    def quantity(self, key: str, *, small: int, medium: int, large: int) -> int:
        """How many ``key`` records to create: an explicit override (``--accounts N``) or by size."""
        if key in self.overrides:
            return self.overrides[key]
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
    """Give the demo ``role`` ("sales" or "manager") these ``app_label.codename`` permissions."""
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


@builder("platform.users", order=0)
def build_users(ctx: DemoContext) -> None:
    """The demo users: admin/admin, manager/manager, sales/sales and a few more reps (password = username)."""
    for username, password, first, last, role in DEMO_USERS:
        user = _upsert_user(username, password, first, last, superuser=role == "admin")
        if role in ROLE_PERMISSIONS:
            user.user_permissions.set(_permissions(ROLE_PERMISSIONS[role]))
        ctx.users[username] = user
    ctx.sales_reps.append(ctx.users["sales"])
    zh = ctx.fake["zh_CN"]
    for number in range(2, 2 + EXTRA_SALES_REPS[ctx.size]):
        username = f"sales{number}"
        user = _upsert_user(username, username, zh.first_name(), zh.last_name())
        user.user_permissions.set(_permissions(ROLE_PERMISSIONS["sales"]))
        ctx.users[username] = user
        ctx.sales_reps.append(user)
    ctx.created("users", len(ctx.users))


def demo_logins() -> list[tuple[str, str]]:
    """(username, password) of the fixed demo users that still exist with their demo password."""
    users = {user.username: user for user in User.objects.filter(username__in=[u[0] for u in DEMO_USERS])}
    return [(username, password) for username, password, *_ in DEMO_USERS
            if username in users and users[username].check_password(password)]

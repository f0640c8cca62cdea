"""``bizloom demo``: build the demo company (users and every app's sample records) from a seed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bizloom.platform import demo


class Command(BaseCommand):
    """Load the reproducible demo company into an empty database."""

    help = "Build the demo company: demo users (admin/admin, manager/manager, sales/sales) and sample records."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--seed, --size, --accounts, --force."""
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                            help="Random seed; the same seed gives the same company (default: %(default)s).")
        parser.add_argument("--size", choices=demo.SIZES, default="small", help="How much data (default: small).")
        parser.add_argument("--accounts", type=int, default=None, help="Exact number of accounts (overrides size).")
        parser.add_argument("--force", action="store_true",
                            help="Load even though the database already has users (adds records again).")

    def handle(self, *args: Any, seed: int, size: str, accounts: int | None, force: bool, **options: Any) -> None:
        """Run every registered builder in one transaction and print what was created."""
        overrides = {}
        if accounts is not None:
            if accounts < 0:
                raise CommandError("--accounts must be zero or more.")
            overrides["accounts"] = accounts
        self.stdout.write(f"Building the demo company (seed {seed}, size {size})...")
        try:
            ctx = demo.build_demo(seed=seed, size=size, overrides=overrides, force=force, log=self.stdout.write)
        except demo.DemoRefused as error:
            raise CommandError(str(error)) from error
        summary = ", ".join(f"{number} {key}" for key, number in ctx.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo company ready: {summary}."))
        self.stdout.write("Demo logins: " + ", ".join(f"{u}/{p}" for u, p, *_ in demo.DEMO_USERS))

"""``bizloom createadmin``: create a superuser, from options or by asking."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction


class Command(BaseCommand):
    """Create an administrator (superuser); asks for what the options do not give when on a terminal."""

    help = "Create an administrator account (superuser). Non-interactive with --username and --password."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--username, --password, --email, --no-input."""
        parser.add_argument("--username")
        parser.add_argument("--password", help="Avoid on shared machines: it shows in the process list.")
        parser.add_argument("--email", default=None)
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="Never prompt; fail when a value is missing.")

    def _ask(self, prompt: str, *, secret: bool = False) -> str:
        if secret:
            return getpass.getpass(prompt)
        self.stdout.write(prompt, ending="")
        self.stdout.flush()
        return sys.stdin.readline().strip()

    def handle(self, *args: Any, username: str | None, password: str | None, email: str | None,
               interactive: bool, **options: Any) -> None:
        """Validate the values (password rules included) and create the user."""
        User = get_user_model()  # noqa: N806
        can_ask = interactive and sys.stdin.isatty()
        if not username and can_ask:
            username = self._ask("Username: ")
        if not username:
            raise CommandError("A username is required (--username).")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists. Change its password with "
                               f"`bizloom changepassword {username}`.")
        if email is None and can_ask:
            email = self._ask("Email (optional): ")
        email = email or ""
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(f"Invalid email address: {email}") from error
        user = User(username=username, email=email, is_staff=True, is_superuser=True)
        while True:
            if not password and can_ask:
                password = self._ask("Password: ", secret=True)
                if password != self._ask("Password (again): ", secret=True):
                    self.stderr.write("The passwords do not match.")
                    password = None
                    continue
            if not password:
                raise CommandError("A password is required (--password).")
            try:
                validate_password(password, user)
            except ValidationError as error:
                if not can_ask:
                    raise CommandError("Password rejected: " + " ".join(error.messages)) from error
                self.stderr.write(" ".join(error.messages))
                password = None
                continue
            break
        user.set_password(password)
        with transaction.atomic():
            user.save()
        self.stdout.write(self.style.SUCCESS(f"Administrator {username!r} created."))

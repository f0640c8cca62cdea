"""The ``bizloom`` console command: Django's management commands plus Bizloom's own.

``bizloom migrate``, ``bizloom check``, ``bizloom shell`` and every other Django command work as
with ``manage.py``. Bizloom adds ``run`` (everything for a local installation), ``serve``,
``worker``, ``scheduler``, ``demo`` and ``createadmin`` (see ``bizloom help <command>``).
"""

from __future__ import annotations

import os
import sys

from bizloom.platform.management.commands._localenv import prepare_local_environment, use_local_secret_key

SETTINGS_MODULE = "bizloom.settings"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``bizloom`` console script: prepare the environment, then run the command."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if args and args[0] == "run":
        prepare_local_environment()
    else:
        use_local_secret_key()
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["bizloom", *args])
    except ImproperlyConfigured as error:
        raise SystemExit(f"bizloom: configuration error: {error}") from error


if __name__ == "__main__":
    main()

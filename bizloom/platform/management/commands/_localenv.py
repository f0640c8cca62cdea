"""Environment of a local installation, prepared before Django reads its settings.

Used by the ``bizloom`` entry point (``bizloom.cli``) and by ``bizloom run``. Imports nothing
from Django: it runs before settings exist. (The leading underscore keeps Django from taking
this module for a management command.)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[4]
SECRET_KEY_FILE = "secret_key"


def var_dir() -> Path:
    """Where Bizloom keeps its data: ``BIZLOOM_VAR_DIR``, else ``var/`` beside the package (as settings.py)."""
    return Path(os.environ.get("BIZLOOM_VAR_DIR") or PROJECT_DIR / "var")


def read_or_create_secret_key(directory: Path) -> str:
    """The key in ``directory/secret_key``, created (random, mode 0600) on first use."""
    path = directory / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 50:
            raise SystemExit(f"{path} holds no usable secret key; delete it to have a new one generated.") from None
        return key
    key = secrets.token_urlsafe(64)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def prepare_local_environment() -> None:
    """Set up the environment for ``bizloom run``.

    Creates the var directory and, unless ``BIZLOOM_SECRET_KEY`` is given, a persistent random
    key in ``var/secret_key``; plain-HTTP cookies (``BIZLOOM_HTTPS=false``) unless set otherwise.
    """
    directory = var_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("BIZLOOM_SECRET_KEY"):
        os.environ["BIZLOOM_SECRET_KEY"] = read_or_create_secret_key(directory)
    os.environ.setdefault("BIZLOOM_HTTPS", "false")


def use_local_secret_key() -> None:
    """Without ``BIZLOOM_SECRET_KEY``, use the key ``bizloom run`` generated, if there is one.

    So ``bizloom migrate``, ``bizloom shell`` and the others work on a local installation.
    """
    path = var_dir() / SECRET_KEY_FILE
    if not os.environ.get("BIZLOOM_SECRET_KEY") and path.is_file():
        os.environ["BIZLOOM_SECRET_KEY"] = read_or_create_secret_key(path.parent)

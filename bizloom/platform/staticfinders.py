"""Serve exactly the front-end files we use from node_modules (npm lockfile), nothing more.

Pointing STATICFILES_DIRS at whole package folders would copy and compress megabytes of
sources, maps and alternative builds on every ``collectstatic``; ECharts alone is 100 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files import File
from django.core.files.storage import FileSystemStorage


class VendorFinder(BaseFinder):
    """Finds ``settings.VENDOR_STATIC_FILES`` entries: static path → file under node_modules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files: dict[str, Path] = {
            static_path: settings.NODE_MODULES / source for static_path, source in settings.VENDOR_STATIC_FILES.items()
        }
        self.storage = FileSystemStorage(location=str(settings.NODE_MODULES))

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:  # str, or list when find_all
        source = self.files.get(path)
        if source is None or not source.exists():
            return [] if find_all else ""
        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, Any]]:
        for static_path, source in self.files.items():
            if source.exists():
                yield static_path, _RenamedStorage(source, static_path)


class _RenamedStorage(FileSystemStorage):
    """A storage exposing one node_modules file under its static path (for collectstatic)."""

    def __init__(self, source: Path, static_path: str) -> None:
        super().__init__(location=str(source.parent))
        self.source = source
        self.static_path = static_path

    def path(self, name: str) -> str:
        return str(self.source)

    def open(self, name: str, mode: str = "rb") -> Any:
        return File(self.source.open(mode), name=self.static_path)

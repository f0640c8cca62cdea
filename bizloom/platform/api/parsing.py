"""The request body parser: JSON only, with a clear 415 for anything else."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

from bizloom.platform.api.problem import UnsupportedMediaType


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or any ``+json`` structured suffix (``application/merge-patch+json``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonParser(Parser):
    """Parse JSON bodies; refuse other media types (ninja turns errors raised here into a 400,
    the problem handler recognises the cause and answers 415 or 400)."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.headers.get("Content-Type", "")
        # A missing Content-Type is read as JSON: curl-like clients often omit it.
        if content_type and not is_json_media_type(content_type):
            raise UnsupportedMediaType(content_type.split(";", 1)[0].strip())
        return json.loads(request.body)

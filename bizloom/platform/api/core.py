"""The NinjaAPI subclass every Bizloom API is built from."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.constants import NOT_SET
from ninja.openapi.docs import Swagger, _csrf_needed

from bizloom.platform.api.idempotency import idempotent
from bizloom.platform.api.parsing import JsonParser
from bizloom.platform.api.problem import install_problem_handlers, problem_response


def _problem_405(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ninja's plain-text 405 into a problem document."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return problem_response(405, detail=_("%(method)s is not allowed here.") % {"method": request.method},
                                    headers={"Allow": response["Allow"]})
        return response

    return wrapper


def _not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_response(404, detail=_("There is no API resource at this address."))


_not_found.csrf_exempt = True  # type: ignore[attr-defined]


class LocalSwagger(Swagger):
    """Swagger UI from ninja's bundled static files, never from a CDN.

    Ninja falls back to a CDN template when "ninja" is not in INSTALLED_APPS; we do not
    load anything from a CDN at run time, so this always renders the local template (it
    needs "ninja" in INSTALLED_APPS for the template and static files; see
    :func:`check_docs_assets`).
    """

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api,
                   "add_csrf": _csrf_needed(api)}
        return render(request, self.template, context)


def check_docs_assets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: the API docs need ninja's templates and static files."""
    if "ninja" in settings.INSTALLED_APPS:
        return []
    return [checks.Warning("'ninja' is not in INSTALLED_APPS: /api/v1/docs cannot find its bundled "
                           "Swagger UI template and static files.", hint="Add \"ninja\" to INSTALLED_APPS.",
                           id="bizloom.W001")]


class BizloomAPI(NinjaAPI):
    """NinjaAPI answering every error as problem+json, parsing JSON only, giving 404/405
    problems (not HTML pages) for unknown addresses and methods under its prefix, and
    honouring ``Idempotency-Key`` on write calls (``idempotency.py``)."""

    def __init__(self, *, auth: Sequence[Callable[..., Any]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("parser", JsonParser())
        kwargs.setdefault("docs", LocalSwagger())
        super().__init__(auth=auth if auth is not None else NOT_SET, **kwargs)
        install_problem_handlers(self)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and pattern.name not in {"openapi-json", "openapi-view", "api-root"}:
                pattern.callback = idempotent(_problem_405(pattern.callback))
        patterns.append(re_path(r"^.*$", _not_found, name="not-found"))
        return patterns

"""The standard REST operations of a record type — list, get, create, update, delete — registered
on a ninja router in one place, so every resource answers them the same way.

Usage (an app's ``api.py``)::

    accounts = RecordOperations(router, Account, "/accounts", app="crm", name="account", out=AccountOut,
                                get_record=selectors.get_account, services=services, to_data=_account_data)
    accounts.list(page=AccountPage, filters=AccountFilters, ordering=AccountOrdering, allowed=ACCOUNT_ORDERING,
                  default=["name"], records=selectors.list_accounts, description="Accounts you may see.")
    accounts.get()
    accounts.create(AccountIn)
    accounts.update(AccountPatch)
    accounts.delete()

registers ``GET /accounts`` (``crm_account_list``), ``GET /accounts/{account_id}`` (``crm_account_get``),
``POST /accounts`` (201, ``crm_account_create``), ``PATCH /accounts/{account_id}`` (``crm_account_update``)
and ``DELETE /accounts/{account_id}`` (204, ``crm_account_delete``). Each operation checks the model
permission (``access.require``) and reads the record through ``get_record`` (the selector, which
applies the caller's scope); writes turn the body into the service's data with ``to_data`` and
refuse hidden or read-only custom fields, then call the service ``services.create_account``,
``services.update_account`` or ``services.delete_account`` (looked up when the call comes, so a
test may replace it), or the function passed as ``service``. Register only the operations that
follow the standard; write the others (extra actions, special bodies) by hand next to these.

The generated views carry real signatures (``__signature__``) and the usual names
(``list_accounts``, ``get_account``, …), so the OpenAPI document — parameters, bodies, summaries,
URL names — reads exactly as for hand-written views.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import FilterSchema, Query, Router, Schema, Status

from bizloom.platform import access
from bizloom.platform.api.listing import OrderingParams, describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api

M = TypeVar("M", bound=Model)

View = Callable[..., Any]


def sent_fields(payload: Schema, user: Any) -> dict[str, Any]:
    """The fields the client sent (the default ``to_data``: the body needs no translation)."""
    return payload.model_dump(exclude_unset=True)


class RecordOperations(Generic[M]):
    """Registers the standard operations of ``model`` under ``path`` on ``router`` (see the module doc).

    ``get_record(user, pk, action)`` returns the record ``user`` may ``action`` or raises Http404;
    ``services`` is the module with ``create_<name>``, ``update_<name>`` and ``delete_<name>``;
    ``to_data(payload, user)`` turns a create or update body into the service's ``data`` (ids become
    records the caller may see). Operation ids are ``<app>_<name>_<verb>``; the path parameter is
    ``<name>_id`` unless ``id_param`` says otherwise.
    """

    def __init__(self, router: Router, model: type[M], path: str, *, app: str, name: str, out: type[Schema],
                 get_record: Callable[[Any, int, str], M], services: ModuleType,
                 to_data: Callable[[Any, Any], dict[str, Any]] = sent_fields,
                 id_param: str | None = None) -> None:
        self.router = router
        self.model = model
        self.path = path
        self.app = app
        self.name = name
        self.plural = path.rsplit("/", 1)[-1].replace("-", "_")
        self.out = out
        self.get_record = get_record
        self.services = services
        self.to_data = to_data
        self.id_param = id_param or f"{name}_id"
        self.item_path = f"{path}/{{{self.id_param}}}"

    def _register(self, method: str, path: str, verb: str, view: View, *, view_name: str, response: Any,
                  params: Mapping[str, Any], description: str | None) -> View:
        """Give ``view`` the signature ninja reads (request plus ``params``) and its usual name."""
        request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HttpRequest)
        view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [request, *(inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
                        for param, annotation in params.items())])
        view.__name__ = view.__qualname__ = view_name
        return self.router.api_operation([method], path, response=response,
                                         operation_id=f"{self.app}_{self.name}_{verb}",
                                         description=description)(view)

    def _service(self, verb: str, service: Callable[..., Any] | None) -> Callable[..., Any]:
        """``service``, or else a call of the services module's ``<verb>_<name>`` (looked up per call)."""
        if service is not None:
            return service
        name = f"{verb}_{self.name}"
        getattr(self.services, name)  # a missing service fails at import, not at the first request
        return lambda *args, **kwargs: getattr(self.services, name)(*args, **kwargs)

    def list(self, *, page: type[Schema], filters: type[FilterSchema], ordering: type[OrderingParams],
             allowed: Mapping[str, str], default: Sequence[str], records: Callable[[Any], QuerySet[M]],
             description: str) -> View:
        """``GET <path>``: one page of ``records(user)`` (the selector: already scoped), filtered and
        ordered by the allow-list. The description gets the sort keys and custom-field filters added."""

        def view(request: HttpRequest, *, filters: Any, ordering: Any, page: PageParams) -> dict[str, Any]:
            access.require(request.user, self.model, "view")
            return list_page(request, records(request.user), filters=filters, ordering=ordering.ordering,
                             allowed=allowed, default=default, page=page)

        return self._register(
            "GET", self.path, "list", view, view_name=f"list_{self.plural}", response=page,
            params={"filters": Query[filters], "ordering": Query[ordering],  # type: ignore[misc, valid-type]
                    "page": Query[PageParams]},
            description=f"{description} {describe_ordering(allowed)} {custom_api.describe()}")

    def get(self, *, description: str | None = None) -> View:
        """``GET <path>/{id}``: one record the caller may view (404 otherwise)."""

        def view(request: HttpRequest, **path: int) -> M:
            access.require(request.user, self.model, "view")
            return self.get_record(request.user, path[self.id_param], "view")

        return self._register("GET", self.item_path, "get", view, view_name=f"get_{self.name}", response=self.out,
                              params={self.id_param: RecordId}, description=description)

    def create(self, payload: type[Schema], service: Callable[..., M] | None = None, *,
               description: str | None = None) -> View:
        """``POST <path>`` → 201: ``service(data, actor=user)`` (``create_<name>``) with the body's data."""
        create = self._service("create", service)

        def view(request: HttpRequest, *, payload: Schema) -> Status[M]:
            access.require(request.user, self.model, "add")
            data = self.to_data(payload, request.user)
            custom_api.check_writable(request.user, self.model, data.get("custom_fields"), "add")
            with custom_api.body_errors():
                record = create(data, actor=request.user)
            return Status(201, record)

        return self._register("POST", self.path, "create", view, view_name=f"create_{self.name}",
                              response={201: self.out}, params={"payload": payload}, description=description)

    def update(self, payload: type[Schema], service: Callable[..., M] | None = None, *,
               description: str | None = None) -> View:
        """``PATCH <path>/{id}``: ``service(record, data, actor=user)`` (``update_<name>``) with the
        fields sent."""
        update = self._service("update", service)

        def view(request: HttpRequest, *, payload: Schema, **path: int) -> M:
            access.require(request.user, self.model, "change")
            record = self.get_record(request.user, path[self.id_param], "change")
            data = self.to_data(payload, request.user)
            custom_api.check_writable(request.user, self.model, data.get("custom_fields"), "change")
            with custom_api.body_errors():
                return update(record, data, actor=request.user)  # type: ignore[no-any-return]

        return self._register("PATCH", self.item_path, "update", view, view_name=f"update_{self.name}",
                              response=self.out, params={self.id_param: RecordId, "payload": payload},
                              description=description)

    def delete(self, service: Callable[..., Any] | None = None, *, description: str | None = None) -> View:
        """``DELETE <path>/{id}`` → 204: ``service(record, actor=user)`` (``delete_<name>``)."""
        delete = self._service("delete", service)

        def view(request: HttpRequest, **path: int) -> Status[None]:
            access.require(request.user, self.model, "delete")
            delete(self.get_record(request.user, path[self.id_param], "delete"), actor=request.user)
            return Status(204, None)

        return self._register("DELETE", self.item_path, "delete", view, view_name=f"delete_{self.name}",
                              response={204: None}, params={self.id_param: RecordId}, description=description)

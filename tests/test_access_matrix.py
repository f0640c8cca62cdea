"""The access matrix (issue #3, STYLE §7): every action on every registered business model,
through the UI (the list kit's registered lists) and the API (the OpenAPI document).

Models come from ``access.business_models()`` and pages from the list kit's registry, so
the matrix grows as modules are added. For each model: anonymous → login redirect / 401;
no permission → 403 and nothing changed; permission but record outside scope → 404 and
nothing changed; allowed → success; the role's hidden field is absent from list, detail,
export and API; writing its read-only field is refused.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import models
from django.forms.models import model_to_dict
from django.urls import get_resolver

from bizloom.platform import access
from bizloom.platform.listing.views import record_urls, registered_lists
from bizloom.platform.models import User
from bizloom.platform.org import services as org
from tests import factories

pytestmark = pytest.mark.django_db

HIDDEN_MARK = "HIDDENMARK42"
_SEQUENCE = itertools.count(1001)


def _text_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    owner = access.owner_field(model)
    return [f for f in model._meta.concrete_fields if isinstance(f, models.CharField) and f.blank and not f.choices
            and f.editable and f.name != owner and f.max_length and f.max_length >= len(HIDDEN_MARK)
            and not isinstance(f, models.EmailField | models.URLField)]


def _make(model: type[models.Model], owner: User | None, **values: Any) -> models.Model:
    """A record of ``model``: from its factory in ``tests.factories`` when it has one, else with
    generic values for required fields (skips when it cannot)."""
    factory = factories.factory_for(model)
    if factory is not None:
        return factory(owner, **values)
    data: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.has_default() or field.null or getattr(field, "auto_now", False) \
                or getattr(field, "auto_now_add", False):
            continue
        if field.is_relation:
            pytest.skip(f"{model._meta.label}: no generic value for {field.name}")
        if field.choices:
            data[field.name] = field.choices[0][0]
        elif isinstance(field, models.CharField | models.TextField):
            data[field.name] = "" if field.blank else f"{model._meta.model_name}-{next(_SEQUENCE)}"
        elif isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
            data[field.name] = 0
        elif isinstance(field, models.BooleanField):
            data[field.name] = False
        else:
            pytest.skip(f"{model._meta.label}: no generic value for {field.name}")
    owner_name = access.owner_field(model)
    if owner_name:
        data[owner_name] = owner
    data.update(values)
    return model._default_manager.create(**data)


def _snapshot(obj: models.Model) -> dict[str, Any]:
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
    return model_to_dict(fresh) if fresh is not None else {}


@pytest.fixture
def matrix_world(model):
    if access.owner_field(model) is None:
        pytest.skip(f"{model._meta.label} has no owner: scope cases do not apply")
    texts = _text_fields(model)
    if len(texts) < 2:
        pytest.skip(f"{model._meta.label}: needs two optional text fields for field rules")
    hidden, readonly = texts[0].name, texts[1].name
    root = User.objects.create_superuser("matrix-root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="matrix rep")
    for action in access.model_actions(model):
        try:
            org.set_role_grant(role, model, action, "own", actor=root)
        except Exception:  # noqa: S112 - an action without a permission row
            continue
    org.set_field_rule(role, model, hidden, "hidden", actor=root)
    org.set_field_rule(role, model, readonly, "readonly", actor=root)
    rep = User.objects.create_user("matrix-rep", password="pw-secret-123")
    rep.groups.add(role)
    other = User.objects.create_user("matrix-other", password="pw-secret-123")
    other.groups.add(role)
    nobody = User.objects.create_user("matrix-nobody", password="pw-secret-123")
    mine = _make(model, rep, **{hidden: HIDDEN_MARK})
    theirs = _make(model, other, **{hidden: HIDDEN_MARK})
    return {"root": root, "rep": rep, "nobody": nobody, "mine": mine, "theirs": theirs, "hidden": hidden,
            "readonly": readonly}


def _lists_of(model: type[models.Model]) -> list[Any]:
    get_resolver().url_patterns  # noqa: B018 - importing the URLconf registers every list
    return [c for c in registered_lists() if c.model is model]


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("model", access.business_models(), ids=lambda m: m._meta.label)
def test_ui_matrix(client, model, matrix_world):
    w = matrix_world
    configs = _lists_of(model)
    if not configs:
        pytest.skip(f"{model._meta.label} has no registered list")
    for config in configs:
        mine_urls, theirs_urls = record_urls(config, w["mine"]), record_urls(config, w["theirs"])
        before = {"mine": _snapshot(w["mine"]), "theirs": _snapshot(w["theirs"])}
        reads = [u for k, u in mine_urls.items() if k in ("list", "detail", "create", "update") or
                 k.startswith("export/")]
        writes = [mine_urls[k] for k in ("update", "delete", "bulk", "create") if k in mine_urls]
        # anonymous → login redirect
        client.logout()
        for url in reads:
            response = client.get(url)
            assert response.status_code == 302, url
            assert "/login/" in response["Location"], url
        # no permission → 403, nothing changed
        client.force_login(w["nobody"])
        for url in reads:
            assert client.get(url).status_code == 403, url
        for url in writes:
            assert client.post(url, {"action": "delete", "ids": [w["mine"].pk]}).status_code in (403, 302), url
        assert _snapshot(w["mine"]) == before["mine"]
        # permission, record outside scope → 404, nothing changed
        client.force_login(w["rep"])
        for key in ("detail", "update", "delete"):
            if key in theirs_urls:
                method = client.post if key == "delete" else client.get
                assert method(theirs_urls[key]).status_code == 404, theirs_urls[key]
        if "bulk" in theirs_urls:
            client.post(theirs_urls["bulk"], {"action": "delete", "ids": [w["theirs"].pk]})
        assert _snapshot(w["theirs"]) == before["theirs"]
        # allowed → success, hidden field absent everywhere
        listing = _body(client.get(mine_urls["list"] + f"?cols={w['hidden']}&cols={config.default_columns[0]}"))
        assert str(w["mine"]) in listing
        assert str(w["theirs"]) not in listing
        assert HIDDEN_MARK not in listing
        for key in [k for k in mine_urls if k.startswith("export/")]:
            response = client.get(mine_urls[key] + f"?cols={w['hidden']}")
            assert response.status_code == 200
            if key.endswith("csv"):
                assert HIDDEN_MARK not in _body(response)
        if "detail" in mine_urls:
            detail = client.get(mine_urls["detail"])
            assert detail.status_code == 200
            assert HIDDEN_MARK not in _body(detail)
        if "update" in mine_urls:
            form = _body(client.get(mine_urls["update"]))
            assert f'name="{w["hidden"]}"' not in form
            assert HIDDEN_MARK not in form
            # forging the read-only field is refused
            client.post(mine_urls["update"], {w["readonly"]: "forged"})
            assert _snapshot(w["mine"]).get(w["readonly"]) != "forged"
        if "delete" in mine_urls:
            assert client.post(mine_urls["delete"]).status_code == 302
            assert not model._default_manager.filter(pk=w["mine"].pk).exists()
        # superuser sees both
        client.force_login(w["root"])
        assert str(w["theirs"]) in _body(client.get(mine_urls["list"]))


def _operations(app_label: str) -> list[tuple[str, str, dict[str, Any]]]:
    from bizloom.api import api

    schema = api.get_openapi_schema()
    found = []
    for route, methods in schema["paths"].items():
        for method, op in methods.items():
            if app_label in op.get("tags", []):
                found.append((route, method, op))
    return found


def _op_model(app_label: str, operation_id: str) -> type[models.Model] | None:
    parts = operation_id.split("_")[1:] if operation_id.startswith(app_label + "_") else []
    names = {m._meta.model_name: m for m in access.business_models() if m._meta.app_label == app_label}
    for size in range(len(parts), 0, -1):
        joined = "".join(parts[:size])
        for candidate in (joined, app_label + joined):
            if candidate in names:
                return names[candidate]
    return None


def _minimal_body(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref:
        schema = components[ref.rsplit("/", 1)[1]]
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        kind = prop.get("type") or next((p.get("type") for p in prop.get("anyOf", []) if p.get("type") != "null"),
                                        "string")
        body[name] = {"string": prop.get("enum", ["matrix"])[0], "integer": 1, "number": 1, "boolean": True}.get(
            kind, "matrix")
    return body


@pytest.mark.parametrize("model", access.business_models(), ids=lambda m: m._meta.label)
def test_api_matrix(client, model, matrix_world):
    from bizloom.api import api

    w = matrix_world
    app_label = model._meta.app_label
    components = api.get_openapi_schema()["components"]["schemas"]
    operations = [(r, m, op) for r, m, op in _operations(app_label) if _op_model(app_label, op["operationId"]) is model]
    if not operations:
        pytest.skip(f"{model._meta.label} has no API operations")
    before = {"mine": _snapshot(w["mine"]), "theirs": _snapshot(w["theirs"])}
    count = model._default_manager.count()
    for route, method, op in operations:
        has_id = bool(re.search(r"\{[a-z_]*id\}", route))

        def call(user: User | None, obj: models.Model | None, body: dict[str, Any] | None = None,
                 route: str = route, method: str = method, op: dict[str, Any] = op) -> Any:
            url = "/api" + re.sub(r"\{[a-z_]*id\}", str(obj.pk if obj else 0), route) if route.startswith("/v1") \
                else re.sub(r"\{[a-z_]*id\}", str(obj.pk if obj else 0), route)
            client.logout()
            if user is not None:
                client.force_login(user)
            if body is None and "requestBody" in op:
                body = _minimal_body(op["requestBody"]["content"]["application/json"]["schema"], components)
            return getattr(client, method)(url, body, content_type="application/json") if method != "get" \
                else client.get(url)

        assert call(None, w["mine"]).status_code == 401, (method, route)
        assert call(w["nobody"], w["mine"]).status_code == 403, (method, route)
        if has_id:
            assert call(w["rep"], w["theirs"]).status_code == 404, (method, route)
        if method == "get":
            response = call(w["rep"], w["mine"])
            assert response.status_code == 200
            assert HIDDEN_MARK not in response.content.decode()
            data = response.json()
            items = data.get("results", [data]) if isinstance(data, dict) else data
            assert all(w["hidden"] not in item for item in items if isinstance(item, dict))
        if method == "patch":
            response = call(w["rep"], w["mine"], {w["readonly"]: "forged"})
            assert response.status_code == 422
            assert w["readonly"] in response.json()["errors"]
    assert _snapshot(w["mine"]) == before["mine"]
    assert _snapshot(w["theirs"]) == before["theirs"]
    assert model._default_manager.count() == count

"""Throw bad input at every operation of the live OpenAPI document: the answer is never a 5xx.

Operations are read from ``api.get_openapi_schema()`` when this module is collected, so a
router an app adds is fuzzed without touching this file. Each operation gets malformed
and non-object JSON, wrong types and nulls for every body field, unknown and missing
fields, an oversized body, other media types, junk in every path and query parameter.
Every answer must be 2xx (the input happened to be valid) or a 4xx problem document
(``application/problem+json`` with ``status``); all offenders are listed together.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client

from bizloom.api import api
from bizloom.platform.models import User

SCHEMA = api.get_openapi_schema(path_prefix="/api/v1/")
COMPONENTS = SCHEMA.get("components", {}).get("schemas", {})
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in sorted(SCHEMA["paths"].items())
    for method, operation in sorted(item.items())
    if method in {"get", "post", "put", "patch", "delete"}
]

JUNK_TEXT = [
    "", " ", "abc", "-1", "0", "1.5", "1e999", "NaN", "true", "null", "[]", "{}", "99999999999999999999999",
    "-9223372036854775809", "9223372036854775808", "\x00", "%00", "' OR 1=1 --", "<script>", "../../etc/passwd",
    "😀", "名字", "a" * 5000, "\\", "%", "__proto__", "-", ",", "-name", "name__password",
]
JUNK_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, -(10**30), 1e308, "", "x", "\x00", "a" * 100_000, [], [1, "a"], {},
    {"nested": {"deep": [None]}}, "2020-13-45", "NaN", "-Infinity",
]
MALFORMED_BODIES: dict[str, bytes] = {
    "truncated_json": b'{"name": "x",',
    "not_json": b"name=x&other=y",
    "bad_utf8": b'{"name": "\xff\xfe"}',
    "trailing_garbage": b'{"name": "x"} trailing',
    "deep_nesting": b"[" * 100_000,
    "huge_integer": b'{"name": ' + b"9" * 10_000 + b"}",
    "empty": b"",
    "array": b"[]",
    "null": b"null",
    "number": b"42",
    "string": b'"text"',
    "bom": b'\xef\xbb\xbf{"name": "x"}',
}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref``s into components."""
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def sample_value(schema: dict[str, Any]) -> Any:
    """A plausible valid value for a field schema (first enum member, a short string, 1, …)."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][-1] if schema["enum"][0] == "" else schema["enum"][0]
    for option in schema.get("anyOf", []):
        if resolve(option).get("type") != "null":
            return sample_value(option)
    kind = schema.get("type")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return sample_body(schema)
    return "Sample" if schema.get("format") not in {"date", "date-time"} else "2025-01-02"


def sample_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A body with only the required fields, each with a sample value."""
    schema = resolve(schema)
    properties = schema.get("properties", {})
    return {name: sample_value(properties[name]) for name in schema.get("required", []) if name in properties}


def body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None
    return resolve(next(iter(content.values()))["schema"])


def parameters(operation: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == where]


def build_url(path: str, operation: dict[str, Any], path_values: dict[str, str] | None = None,
              query: dict[str, str] | None = None) -> str:
    values = {p["name"]: str(sample_value(p["schema"])) for p in parameters(operation, "path")}
    values.update(path_values or {})
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    if query:
        path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return path


def cases(path: str, operation: dict[str, Any]) -> list[tuple[str, str, bytes | None, str]]:
    """(label, url, body, content type) for every bad-input case of one operation."""
    rng = random.Random(operation["operationId"])
    result: list[tuple[str, str, bytes | None, str]] = []
    json_type = "application/json"
    schema = body_schema(operation)
    valid = sample_body(schema) if schema is not None else None
    body = json.dumps(valid).encode() if valid is not None else None

    junk_path_values = [*JUNK_TEXT, "a/b", "1/..", "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(40))]
    for param in parameters(operation, "path"):
        for value in junk_path_values:
            result.append((f"path {param['name']}={value[:30]!r}", build_url(path, operation, {param["name"]: value}),
                           body, json_type))
    for param in parameters(operation, "query"):
        for value in JUNK_TEXT:
            result.append((f"query {param['name']}={value[:30]!r}",
                           build_url(path, operation, query={param["name"]: value}), body, json_type))
    result.append(("unknown query param", build_url(path, operation, query={"no_such_param": "1"}), body, json_type))

    if schema is None:
        return result
    url = build_url(path, operation)
    for label, raw in MALFORMED_BODIES.items():
        result.append((f"body {label}", url, raw, json_type))
    media_types = ("text/plain", "multipart/form-data; boundary=x", "application/xml",
                   "application/x-www-form-urlencoded")
    for media in media_types:
        result.append((f"content-type {media}", url, body, media))
    oversized = b'{"name": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    result.append(("oversized body", url, oversized, json_type))
    result.append(("unknown field", url, json.dumps({**(valid or {}), "no_such_field": 1}).encode(), json_type))
    result.append(("empty object", url, b"{}", json_type))
    for name in schema.get("required", []):
        missing = {k: v for k, v in (valid or {}).items() if k != name}
        result.append((f"missing {name}", url, json.dumps(missing).encode(), json_type))
    for name in schema.get("properties", {}):
        for value in JUNK_VALUES:
            payload = json.dumps({**(valid or {}), name: value}).encode()
            result.append((f"field {name}={json.dumps(value)[:30]}", url, payload, json_type))
    return result


def offenders(client: Client, who: str, method: str, path: str, operation: dict[str, Any]) -> list[str]:
    found = []
    for label, url, body, content_type in cases(path, operation):
        kwargs: dict[str, Any] = {"content_type": content_type}
        if body is not None:
            kwargs["data"] = body
        response = client.generic(method, url, **kwargs)
        status = response.status_code
        if 200 <= status < 300:
            continue
        problem = None
        if 400 <= status < 500 and response.get("Content-Type", "").startswith("application/problem+json"):
            problem = json.loads(response.content)
        if problem is None or problem.get("status") != status:
            found.append(f"{who} {method} {path} [{label}] → {status} {response.get('Content-Type')}")
    return found


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS,
                         ids=[operation["operationId"] for _, _, operation in OPERATIONS])
def test_bad_input_never_causes_a_server_error(db, method, path, operation):
    # given
    superuser = User.objects.create_superuser(username="root", password="pw-secret-123", email="root@example.com")
    authenticated, anonymous = Client(), Client()
    authenticated.force_login(superuser)

    # when
    found = offenders(authenticated, "superuser", method, path, operation)
    found += offenders(anonymous, "anonymous", method, path, operation)

    # then
    assert not found, f"{len(found)} answers were not 2xx or a 4xx problem:\n" + "\n".join(found)


def test_every_operation_is_discovered_with_an_explicit_id():
    # given
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]

    # then: ninja's generated ids look like bizloom_<module>_<function>
    assert {"platform_health", "crm_account_list", "crm_account_create", "crm_account_update"} <= set(ids)
    assert [i for i in ids if i.startswith("bizloom_")] == []
    assert len(ids) == len(set(ids))

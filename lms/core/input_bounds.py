"""Input bounds for every route, in one place (issue 15): no request reaches the database with a value it
cannot store, so bad input is a 422 with a Japanese message, never a 500.

- Integer path and query parameters (ids, offsets, limits) must fit PostgreSQL's ``integer`` (±2³¹−1):
  a larger value used to reach the database and fail there ("integer out of range").
- Text may not contain NUL (PostgreSQL refuses it in text columns) or a lone UTF-16 surrogate (``\\ud800``:
  not encodable as UTF-8), in query and path parameters, form fields and JSON bodies.

`check_request` is an app-wide dependency (``FastAPI(dependencies=...)``): it runs before the route's own
parameters are validated.  A JSON body is scanned as bytes first; only a body with a ``\\u0000`` or a
surrogate escape is parsed to decide (a valid pair, an emoji written as two escapes, is fine).
`add_bounds_to_openapi` writes the integer bounds into the OpenAPI document; lms/web.py adds a last net (a
database ``DataError`` that still gets through answers 422 with `DATABASE_REFUSED`, not 500).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from lms.core.errors import DomainError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_INTEGER_RE = re.compile(r"^[+-]?\d+$")
_SUSPECT_ESCAPE_RE = re.compile(rb"\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")

TOO_LARGE = "{name} の値 {value} は大きすぎます（{low}〜{high} の整数を指定してください）。"
BAD_CHARACTER = (
    "{name} に使えない文字（NUL文字、または対になっていないサロゲート）がふくまれています。"
    "文字を確かめて、もう一度送信してください。"
)
DATABASE_REFUSED = "入力された値は保存できません。値の大きさや文字を確かめて、もう一度送信してください。"


class InvalidValue(DomainError):
    """A value outside what the LMS can store (422)."""

    status_code = 422


def bad_text(value: str) -> bool:
    """True when ``value`` holds NUL or a lone surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _integer_names(route: APIRoute) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(route, "_giga_integer_params", None)
    if cached is None:
        cached = frozenset(_integer_params(route.dependant))
        route._giga_integer_params = cached  # type: ignore[attr-defined]
    return cached


def _integer_params(dependant: Dependant) -> set[str]:
    names = {
        param.alias
        for param in (*dependant.path_params, *dependant.query_params)
        if _is_integer(param.field_info.annotation)
    }
    for sub in dependant.dependencies:
        names |= _integer_params(sub)
    return names


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    return int in getattr(annotation, "__args__", ()) and bool not in getattr(annotation, "__args__", ())


def _check_integer(name: str, value: str) -> None:
    if _INTEGER_RE.match(value.strip()) and not INT_MIN <= int(value) <= INT_MAX:
        shown = value if len(value) <= 30 else value[:27] + "…"
        raise InvalidValue(TOO_LARGE.format(name=name, value=shown, low=INT_MIN, high=INT_MAX))


def _walk_json(value: Any) -> str | None:
    """The key of the first bad string in a parsed JSON document (keys count too), else None."""
    if isinstance(value, str):
        return "本文" if bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if bad_text(key):
                return "本文のキー"
            if isinstance(item, str) and bad_text(item):
                return str(key)
            found = _walk_json(item)
            if found is not None:
                return str(found)
    if isinstance(value, list):
        for item in value:
            found = _walk_json(item)
            if found is not None:
                return found
    return None


async def check_request(request: Request) -> None:
    """App-wide dependency: refuse out-of-range integers and NUL/lone surrogates (422)."""
    route = request.scope.get("route")
    integers = _integer_names(route) if isinstance(route, APIRoute) else frozenset()
    for name, value in request.path_params.items():
        if isinstance(value, str):
            if bad_text(value):
                raise InvalidValue(BAD_CHARACTER.format(name=name))
            if name in integers:
                _check_integer(name, value)
    for name, value in request.query_params.multi_items():
        if bad_text(value) or bad_text(name):
            raise InvalidValue(BAD_CHARACTER.format(name=name))
        if name in integers:
            _check_integer(name, value)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if _SUSPECT_ESCAPE_RE.search(body):
            try:
                document = json.loads(body)
            except ValueError:
                return  # not JSON: the route's own validation says so
            found = _walk_json(document)
            if found is not None:
                raise InvalidValue(BAD_CHARACTER.format(name=found))
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        for name, item in form.multi_items():
            if isinstance(item, str) and bad_text(item):
                raise InvalidValue(BAD_CHARACTER.format(name=name))


def add_bounds_to_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Write the integer bounds `check_request` enforces into every integer parameter of ``schema``."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                _bound(parameter.get("schema", {}))
    return schema


def _bound(schema: dict[str, Any]) -> None:
    if schema.get("type") == "integer":
        schema["maximum"] = min(schema.get("maximum", INT_MAX), INT_MAX)
        schema["minimum"] = max(schema.get("minimum", INT_MIN), INT_MIN)
    for option in schema.get("anyOf", []):
        _bound(option)


ERROR_RESPONSES = {
    "400": "入力が正しくありません",
    "401": "サインインまたはAPIトークンが必要です",
    "403": "この操作の権限がありません",
    "404": "見つかりません（または見る権限がありません）",
    "409": "ほかの変更と競合しました",
    "422": "入力の形式・範囲・文字が正しくありません",
    "429": "試行が多すぎます",
    "503": "混み合っているか、データベースにつながりません",
}


def add_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """List the error answers every operation can give (domain errors, limits, the database being away)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "ErrorDetail",
        {"type": "object", "properties": {"detail": {}}, "required": ["detail"], "title": "ErrorDetail"},
    )
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_RESPONSES.items():
                operation["responses"].setdefault(status, {"description": description, "content": reference})
    return schema

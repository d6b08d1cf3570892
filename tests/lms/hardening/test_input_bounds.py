"""Input bounds (issue 15): integers that do not fit the database and text with NUL or a lone surrogate are
a 422 with a Japanese message on every route, never a 500 ("integer out of range" on PostgreSQL)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from lms.core.input_bounds import INT_MAX, add_bounds_to_openapi
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment

TOO_LARGE_VALUES = [str(INT_MAX + 1), "9" * 25]


def _integer_path_routes(app: Any) -> list[tuple[str, str, list[str]]]:
    from lms.core.input_bounds import _integer_names

    found: list[tuple[str, str, list[str]]] = []
    for context in iter_route_contexts(app.routes):  # routers included in routers, with their prefixes
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        path = str(context.path)
        names = [name for name in re.findall(r"{(\w+)}", path) if name in _integer_names(route)]
        if names:
            found.extend((method, path, names) for method in sorted(route.methods or ()))
    return found


@pytest.mark.parametrize("value", TOO_LARGE_VALUES)
def test_every_integer_path_parameter_refuses_values_the_database_cannot_hold(
    client: Any, app: Any, api_token: Any, value: str
) -> None:
    token = api_token(
        "admin", ["roster:read", "results:read", "grades:write", "audit:read", "roster:write", "hub"]
    )
    routes = _integer_path_routes(app)
    assert len(routes) > 40  # every domain's routes are there
    for method, path, names in routes:
        url = path
        for name in names:
            url = url.replace("{" + name + "}", value)
        url = re.sub(r"{\w+}", "x", url)
        response = client.request(method, url, headers={"Authorization": f"Bearer {token}"}, json={})
        assert response.status_code == 422, (method, url, response.status_code)
        assert "大きすぎます" in response.text, (method, url)


def test_offsets_and_limits_in_the_query_are_bounded(client: Any, api_token: Any) -> None:
    token = api_token("admin", ["audit:read"])
    headers = {"Authorization": f"Bearer {token}"}
    for query in (f"offset={INT_MAX + 1}", "offset=6.7e21", "offset=-1", "limit=99999999999999999999"):
        response = client.get(f"/api/v1/audit?{query}", headers=headers)
        assert response.status_code == 422, (query, response.text)
    assert client.get("/api/v1/audit?offset=0", headers=headers).status_code == 200


@pytest.fixture
def answering(client: Any, world: Any, sign_in: Any, clock: Any, db_session: Any, settings: Any) -> Any:
    assignment = make_assignment(db_session, world, clock)
    sign_in("s-a1")
    headers = {**csrf_headers(client, settings), "Content-Type": "application/json"}
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()

    def post(**changes: Any) -> Any:
        body = {**answer_body(view["items"][0]), **changes}
        # json.dumps escapes a lone surrogate as \ud800 (an encoder that writes UTF-8 could not send it)
        return client.post(
            f"/api/v1/attempts/{view['attempt_id']}/answers", content=json.dumps(body), headers=headers
        )

    return post


@pytest.mark.parametrize(
    "changes",
    [
        {"device_hint": "chromebook\x00"},
        {"device_hint": "\ud800"},
        {"device_hint": "x\udc00y"},
        {"accommodations": {"read_aloud\x00": True}},
        {"accommodations": {"font": "big\ud800"}},
    ],
    ids=["NUL", "lone high surrogate", "lone low surrogate", "NUL in a key", "surrogate in a value"],
)
def test_text_with_nul_or_a_lone_surrogate_is_422_in_japanese(
    answering: Any, changes: dict[str, Any]
) -> None:
    response = answering(**changes)
    assert response.status_code == 422, response.text
    assert "使えない文字" in response.json()["detail"]


def test_a_surrogate_pair_is_an_ordinary_character(answering: Any) -> None:
    response = answering(device_hint="tablet \ud83d\ude00")  # one emoji, written as its two escapes
    assert response.status_code == 200, response.text


def test_forms_and_query_strings_refuse_nul_too(client: Any) -> None:
    page = client.post("/login", data={"username": "t-a1\x00", "password": "x", "csrf_token": "x"})
    assert page.status_code == 422 and "使えない文字" in page.text
    assert client.get("/login?next=%00").status_code == 422


def test_the_openapi_document_states_the_bounds_and_the_error_answers(client: Any) -> None:
    document = client.get("/openapi.json").json()
    roster = document["paths"]["/api/v1/classes/{class_id}"]["get"]
    (class_id,) = [p for p in roster["parameters"] if p["name"] == "class_id"]
    assert class_id["schema"]["maximum"] == INT_MAX
    assert {"401", "403", "404", "422", "503"} <= set(roster["responses"])
    assert add_bounds_to_openapi({"paths": {}}) == {"paths": {}}

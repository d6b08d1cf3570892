"""Every JSON endpoint documents its response's shape in OpenAPI (issue 16): programs are its readers."""

from __future__ import annotations

from typing import Any

from lms.main import create_app

# Endpoints whose success has no JSON body, or that are not ours to shape (the OAuth protocol's own).
NO_JSON_BODY = {("DELETE", "/api/v1/tokens/{token_id}")}
PROTOCOL = {("POST", "/api/v1/oauth/token"), ("GET", "/api/v1/oauth/userinfo")}


def _success_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    responses = operation.get("responses", {})
    code = next((c for c in responses if c.startswith("2")), None)
    if code is None:
        return None
    schema = responses[code].get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _is_shaped(schema: dict[str, Any] | None) -> bool:
    """A named model (or a list of one), not ``{}`` or a bare ``dict[str, Any]``."""
    if not schema:
        return False
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _is_shaped(schema.get("items"))
    return False


def test_every_api_endpoint_has_a_response_model() -> None:
    spec = create_app().openapi()
    unshaped = [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        if (method.upper(), path) not in NO_JSON_BODY | PROTOCOL
        and not _is_shaped(_success_schema(operation))
    ]
    assert unshaped == []

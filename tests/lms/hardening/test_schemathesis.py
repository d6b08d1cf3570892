"""schemathesis over the whole OpenAPI document (issue 15): as an admin with a token of every scope and as a
signed-in teacher (session cookie + CSRF header), no operation answers 500 and none answers a status code
that the document does not list.

Examples are bounded (``EXAMPLES`` per operation, valid and invalid input) to keep the run short;
``GIGA_SCHEMATHESIS_EXAMPLES`` raises them for a deeper local run.  Every failure of every operation is
collected and reported together (no shrinking: the first example that fails an operation is shown).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

EXAMPLES = int(os.environ.get("GIGA_SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance]
ALL_SCOPES = ["roster:read", "roster:write", "grades:write", "audit:read", "results:read", "hub"]
BOUNDED = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _fuzz_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], failures: list[str]
) -> int:
    """Call one operation with up to ``EXAMPLES`` generated inputs; add its failures; return the calls."""
    calls, seen = 0, set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @BOUNDED
    def run(case: Any) -> None:
        nonlocal calls
        calls += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failure:  # collected: one line per operation and failure
            what = [getattr(item, "title", str(item)) for item in getattr(failure, "exceptions", [failure])]
            line = f"{operation.label} ({mode.value}): {'; '.join(sorted(set(what)))[:300]}"
            if line not in seen:
                seen.add(line)
                example = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                failures.append(f"{line}\n    {example[:400]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: no parameters, no body
        run()
    return calls


def _fuzz(app: Any, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Run every operation with generated valid and invalid input; return the calls made and the failures."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    calls, failures = 0, list[str]()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here: a failure too
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _fuzz_operation(operation, mode, headers, failures)
    return calls, failures


@pytest.fixture
def admin_headers(api_token: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token('admin', ALL_SCOPES)}"}


@pytest.fixture
def teacher_headers(client: Any, sign_in: Any, settings: Any) -> dict[str, str]:
    from lms.auth.csrf import token_for
    from lms.auth.sessions import SESSION_COOKIE

    sign_in("t-a1")
    cookie = client.cookies.get(SESSION_COOKIE)
    return {"Cookie": f"{SESSION_COOKIE}={cookie}", "X-CSRF-Token": token_for(cookie, settings)}


def test_the_api_as_an_admin(app: Any, admin_headers: dict[str, str]) -> None:
    calls, failures = _fuzz(app, admin_headers)
    print(f"\nadmin: {calls} calls, {len(failures)} failures")
    assert failures == [], "\n".join(failures)


def test_the_api_as_a_teacher(app: Any, teacher_headers: dict[str, str]) -> None:
    calls, failures = _fuzz(app, teacher_headers)
    print(f"\nteacher: {calls} calls, {len(failures)} failures")
    assert failures == [], "\n".join(failures)


def test_the_harness_reports_server_errors_and_undocumented_status_codes() -> None:
    """The same fuzzing on a small app with both faults must report both (the checks are really run, and a
    failure is collected, not lost)."""
    broken = FastAPI()

    @broken.get("/crash/{n}")
    def crash(n: int) -> dict[str, int]:
        raise RuntimeError(f"a bug for {n}")  # a 500

    @broken.get("/teapot", response_model=None)
    def teapot() -> JSONResponse:
        return JSONResponse({}, status_code=418)  # not in the document

    calls, failures = _fuzz(broken, {})
    assert calls > 0
    # the in-process client re-raises the server's exception (else: a "Server error" failure)
    assert any("GET /crash/{n}" in line and "a bug for" in line for line in failures), failures
    assert any("GET /teapot" in line and "Undocumented" in line for line in failures), failures

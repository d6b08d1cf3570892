"""The per-worker limits of lms/ops/limits.py (issue 15) on a stand-in app whose requests wait until told."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lms.cli.serve import proxy_options
from lms.core.settings import Settings
from lms.ops.limits import ConcurrencyLimitMiddleware


class HeldApp:
    """An ASGI app whose requests stay in flight until ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.started += 1
        if scope["path"] != "/healthz":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url="http://t"
    )


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_requests_beyond_the_limit_get_a_japanese_503_at_once_and_healthz_is_never_limited() -> None:
    inner = HeldApp()
    app = ConcurrencyLimitMiddleware(
        inner, max_requests=2, sign_ins_per_client=1, queued_sign_ins_per_client=0
    )
    async with _client(app, "10.0.0.1") as client:
        held = [asyncio.create_task(client.get(f"/page/{n}")) for n in range(2)]
        await _settle()
        page = await client.get("/home")
        api = await client.get("/api/v1/classes")
        health = await client.get("/healthz")
        inner.release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        after = await client.get("/home")
    assert page.status_code == 503 and "混み合っています" in page.text
    assert page.headers["retry-after"] == "5" and page.headers["content-type"].startswith("text/html")
    assert api.status_code == 503 and "混み合っています" in api.json()["detail"]
    assert health.status_code == 200
    assert after.status_code == 200  # the slots came back


@pytest.mark.anyio
async def test_a_sign_in_flood_from_one_address_leaves_other_addresses_alone() -> None:
    inner = HeldApp()
    app = ConcurrencyLimitMiddleware(
        inner, max_requests=50, sign_ins_per_client=2, queued_sign_ins_per_client=3
    )
    async with _client(app, "203.0.113.7") as attacker, _client(app, "198.51.100.2") as teacher:
        flood = [asyncio.create_task(attacker.post("/login", data={"u": str(n)})) for n in range(20)]
        await _settle()
        assert inner.started == 2  # two run, three wait, fifteen were refused
        other = asyncio.create_task(teacher.post("/login", data={"u": "t"}))
        await _settle()
        assert inner.started == 3  # the other address did not queue behind the flood
        inner.release.set()
        statuses = sorted(r.status_code for r in await asyncio.gather(*flood))
        assert (await other).status_code == 200
    assert statuses.count(200) == 5 and statuses.count(429) == 15
    refused = next(r for r in await asyncio.gather(*flood) if r.status_code == 429)
    assert "サインインが集中しています" in refused.text
    assert not app._gates  # nothing kept per address once its requests are done


def test_forwarded_headers_are_believed_only_from_configured_proxies() -> None:
    assert proxy_options(Settings(trusted_proxies="")) == (False, "")
    assert proxy_options(Settings(trusted_proxies=" 127.0.0.1, 10.0.0.0/8 ")) == (
        True,
        "127.0.0.1,10.0.0.0/8",
    )


def test_the_docker_image_trusts_no_forwarded_header_by_itself() -> None:
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[3] / "docker" / "lms.Dockerfile").read_text(
        encoding="utf-8"
    )
    assert "FORWARDED_ALLOW_IPS=" not in dockerfile

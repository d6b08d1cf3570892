"""A child's LTI 1.3 launch (the form post of a signed id_token) against the same child's password sign-in,
measured in the same run.

Usage: ``.venv/bin/python benchmarks/bench_lti_launch.py [--runs N]``

SQLite (a temporary file), the app with its production password-hashing parameters, an in-process HTTP client
for the tool and a real LTI 1.3 platform (`lti1p3platform`, tests/lti/platform.py) on 127.0.0.1 for the
id_tokens. Timed: only the POST that signs in — ``/login`` (throttle, argon2id, session, audit) against
``/lti/launch`` (state spent, RS256 signature checked against the platform's JWKS — cached after the first
launch, as in production — claims, roster match, session, audit). The login initiation and the platform's
round trip before each launch are not timed. Runs alternate. Printed: medians with bootstrap 95 % intervals
and the ratio of the medians (launch / password) with its interval.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.*

PASSWORD = "bench-password-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOOL = "https://testserver"


def seed(url: str) -> None:
    from sqlmodel import Session

    from lms.auth.passwords import hash_password
    from lms.core.db import make_engine
    from lms.roster.models import Org, User

    engine = make_engine(url)
    with Session(engine) as session:
        school = Org(sourced_id="b-school", name="ベンチ小学校", type="school", identifier="B000000000001")
        session.add(school)
        session.flush()
        session.add(
            User(
                username="b-child",
                sourced_id="b-child-sourced",
                role="student",
                primary_org_id=school.id,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()


def register(url: str, platform: object) -> None:
    from sqlmodel import Session

    from lms.core.db import make_engine
    from lms.lti import registration
    from tests.lti.platform import TestPlatform

    assert isinstance(platform, TestPlatform)
    with Session(make_engine(url)) as session:
        registration.register_platform(
            session=session,
            data=registration.PlatformInput(
                name="bench portal",
                issuer=platform.issuer,
                client_id=platform.client_id,
                auth_login_url=platform.auth_login_url,
                auth_token_url=platform.auth_token_url,
                jwks_url=platform.jwks_url,
                deployment_ids=(platform.deployment_id,),
            ),
            actor_id=None,
            ip=None,
        )
        session.commit()


def _median_ci(values: list[float], rng: random.Random, rounds: int = 2000) -> tuple[float, float, float]:
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return statistics.median(values), medians[int(0.025 * rounds)], medians[int(0.975 * rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from lms.core.settings import load_settings
    from lms.main import create_app
    from lms.migrations import upgrade
    from tests.lti.platform import LaunchSpec, parse_form_post, running_platform

    with tempfile.TemporaryDirectory() as folder, running_platform(TOOL) as platform:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        seed(url)
        register(url, platform)
        platform.launches["child"] = LaunchSpec(sub="b-child-sourced")
        app = create_app(load_settings(database_url=url, environment="test"))
        times: dict[str, list[float]] = {"password": [], "launch": []}
        with TestClient(app, base_url=TOOL) as client:

            def sign_in(kind: str) -> float:
                client.cookies.clear()
                if kind == "password":
                    match = CSRF.search(client.get("/login").text)
                    assert match
                    path, form = (
                        "/login",
                        {"username": "b-child", "password": PASSWORD, "csrf_token": match[1]},
                    )
                else:
                    login = client.get(
                        "/lti/login", params=platform.login_params("child"), follow_redirects=False
                    )
                    _action, form = parse_form_post(httpx.get(login.headers["location"], timeout=10).text)
                    path = "/lti/launch"
                started = time.perf_counter()
                response = client.post(path, data=form, follow_redirects=False)
                elapsed = time.perf_counter() - started
                assert response.status_code == 303, response.text[:300]
                return elapsed

            for kind in ("password", "launch"):  # warm-up (and the one JWKS fetch)
                sign_in(kind)
            for _ in range(args.runs):
                for kind in ("password", "launch"):
                    times[kind].append(sign_in(kind))
    rng = random.Random(11)
    for kind, values in times.items():
        median, low, high = _median_ci(values, rng)
        print(
            f"{kind:>8} sign-in: median {1000 * median:7.1f} ms "
            f"(95 % CI {1000 * low:.1f}–{1000 * high:.1f}), n={len(values)}"
        )
    ratios = []
    for _ in range(2000):
        launch = statistics.median(rng.choices(times["launch"], k=len(times["launch"])))
        password = statistics.median(rng.choices(times["password"], k=len(times["password"])))
        ratios.append(launch / password)
    ratios.sort()
    point = statistics.median(times["launch"]) / statistics.median(times["password"])
    print(f"launch / password: {point:.3f} (95 % CI {ratios[50]:.3f}–{ratios[1949]:.3f})")
    print(f"platform JWKS fetched {platform.jwks_requests} time(s) for {len(times['launch']) + 1} launches")


if __name__ == "__main__":
    main()

"""A child's sign-in with a QR card against the same child's password sign-in, measured in the same run.

Usage: ``.venv/bin/python benchmarks/bench_card_sign_in.py [--runs N]``

SQLite (a temporary file), the app with its production password-hashing parameters (argon2id as configured in
`lms.auth.passwords`), an in-process HTTP client. Each run is one whole sign-in as the browser sends it: the
form POST (throttle slot, check, session row, audit row, commit, redirect). Password and card runs
alternate, so a slow phase of the shared machine affects both. Printed: the median of each with a bootstrap
95 % interval, and the ratio of the medians (card / password) with its bootstrap 95 % interval.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.factories

PASSWORD = "bench-password-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(url: str) -> tuple[str, int]:
    """A school, a class, a teacher and one child with a password; return the child's card code."""
    from sqlmodel import Session

    from lms.auth.cards import service as cards
    from lms.auth.passwords import hash_password
    from lms.core.db import make_engine
    from lms.core.settings import load_settings
    from lms.roster.models import Org, SchoolClass, User
    from tests.factories import enrol

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        school = Org(sourced_id="b-school", name="ベンチ小学校", type="school", identifier="B000000000001")
        session.add(school)
        session.flush()
        assert school.id is not None
        klass = SchoolClass(sourced_id="b-class", title="1年1組", grades="P1", school_id=school.id)
        teacher = User(username="b-teacher", role="teacher", primary_org_id=school.id)
        child = User(
            username="b-child",
            role="student",
            primary_org_id=school.id,
            password_hash=hash_password(PASSWORD),
        )
        session.add_all([klass, teacher, child])
        session.flush()
        enrol(session, user=teacher, klass=klass, role="teacher")
        enrol(session, user=child, klass=klass, number=1)
        session.flush()
        assert child.id is not None
        issued = cards.issue_cards(
            session=session,
            actor=teacher,
            class_=klass,
            student_ids=[child.id],
            listed_at=datetime.now(UTC),
            now=datetime.now(UTC),
            ip=None,
            settings=load_settings(database_url=url, environment="test"),  # the app's secret key
        )
        session.commit()
        return issued[0].code, child.id


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

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        code, _child = seed(url)
        app = create_app(load_settings(database_url=url, environment="test"))
        times: dict[str, list[float]] = {"password": [], "card": []}
        with TestClient(app) as client:

            def sign_in(kind: str) -> float:
                client.cookies.clear()
                page = client.get("/login" if kind == "password" else "/login/card")
                match = CSRF.search(page.text)
                assert match
                form = {"username": "b-child", "password": PASSWORD} if kind == "password" else {"code": code}
                started = time.perf_counter()
                response = client.post(
                    "/login" if kind == "password" else "/login/card",
                    data={**form, "csrf_token": match.group(1)},
                    follow_redirects=False,
                )
                elapsed = time.perf_counter() - started
                assert response.status_code == 303, response.text
                return elapsed

            for kind in ("password", "card"):  # warm-up
                sign_in(kind)
            for _ in range(args.runs):
                for kind in ("password", "card"):
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
        card = statistics.median(rng.choices(times["card"], k=len(times["card"])))
        password = statistics.median(rng.choices(times["password"], k=len(times["password"])))
        ratios.append(card / password)
    ratios.sort()
    point = statistics.median(times["card"]) / statistics.median(times["password"])
    print(f"card / password: {point:.3f} (95 % CI {ratios[50]:.3f}–{ratios[1949]:.3f})")


if __name__ == "__main__":
    main()

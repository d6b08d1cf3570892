"""Sign-in storms (issue 22): OWASP's argon2id minimum, rehash on login, a bound on concurrent hashes, and
the session with its CSRF token in the sign-in response itself."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher, profiles
from sqlmodel import Session

from lms.auth import passwords
from lms.auth.csrf import PRE_SESSION_COOKIE, token_for
from lms.auth.sessions import SESSION_COOKIE
from lms.roster.models import User
from tests.lms.conftest import PASSWORD, csrf_of, post_login


def test_default_parameters_are_owasps_argon2id_minimum() -> None:
    params = passwords.DEFAULT_HASHER
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19456, 1)
    assert passwords.DEFAULT_HASHER.type.name == "ID"


def test_a_hash_of_the_former_profile_is_upgraded_at_sign_in(
    client: Any, world: Any, db_session: Session
) -> None:
    """A hash made with the RFC 9106 low-memory profile (the former default) verifies and is replaced by
    one with the current parameters at that sign-in."""
    user = world.users["t-a1"]
    old = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY).hash(PASSWORD)
    user.password_hash = old
    db_session.add(user)
    db_session.commit()
    previous = passwords.set_hasher_for_tests(passwords.DEFAULT_HASHER)
    try:
        assert post_login(client, "t-a1", PASSWORD).status_code == 303
    finally:
        passwords.set_hasher_for_tests(previous)
    db_session.expire_all()
    stored = db_session.get(User, user.id)
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.DEFAULT_HASHER.verify(stored.password_hash, PASSWORD)


class _CountingHasher(PasswordHasher):
    """Records how many verifications run at the same time (each takes a little while)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.02)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def counting_hasher() -> Iterator[_CountingHasher]:
    hasher = _CountingHasher()
    previous = passwords.set_hasher_for_tests(hasher)
    limit = passwords.hash_concurrency()
    yield hasher
    passwords.set_hasher_for_tests(previous)
    passwords.set_hash_concurrency(limit)


def test_no_more_hashes_run_at_once_than_the_bound(counting_hasher: _CountingHasher) -> None:
    stored = counting_hasher.hash(PASSWORD)
    passwords.set_hash_concurrency(2)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda _: passwords.verify_password(stored, PASSWORD), range(12)))
    assert all(ok for ok, _ in results)
    assert counting_hasher.most == 2  # bounded, yet more than one at a time


def test_the_bound_also_holds_for_unknown_accounts_and_rejects_bad_values(
    counting_hasher: _CountingHasher,
) -> None:
    passwords.set_hash_concurrency(1)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: passwords.verify_password(None, PASSWORD), range(6)))
    assert results == [(False, None)] * 6 and counting_hasher.most == 1
    with pytest.raises(ValueError):
        passwords.set_hash_concurrency(0)


def test_the_password_step_runs_in_the_thread_pool_not_on_the_event_loop() -> None:
    from lms.pages.auth_routes import login_submit

    assert not inspect.iscoroutinefunction(login_submit)  # FastAPI runs a plain def in its thread pool


def test_the_sign_in_response_carries_the_session_and_the_next_page_its_csrf_token(
    client: Any, world: Any
) -> None:
    """GET /login, POST /login, GET /home: no further request fetches a token; the one on the first page
    after sign-in is the new session's and works for the next form."""
    response = post_login(client, "s-a1", PASSWORD)
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith(f"{SESSION_COOKIE}=") for c in cookies)
    assert any(c.startswith(f"{PRE_SESSION_COOKIE}=") and "Max-Age=0" in c for c in cookies)
    raw = client.cookies.get(SESSION_COOKIE)
    home = client.get(response.headers["location"])
    token = csrf_of(home.text)
    assert token == token_for(raw, client.app.state.settings)
    bye = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert bye.status_code == 303 and bye.headers["location"] == "/login?bye=1"

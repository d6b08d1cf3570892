"""Password hashing with argon2id (argon2-cffi); hashes are upgraded when the parameters change.

Parameters: OWASP's Password Storage Cheat Sheet minimum for argon2id — 19 MiB of memory, 2 iterations,
1 lane (m=19456 KiB, t=2, p=1) — and not above it: the cost is paid by every child of a class signing
in in the same minute on a school's two-core server.  MEXT's guideline
(教育情報セキュリティポリシーに関するガイドライン) asks for stored passwords to be
protected (hashed) but names no parameters, so OWASP's figures are the bar.
Hashes made with other parameters (the former RFC 9106 "low memory" profile, t=3, m=64 MiB, p=4) still
verify; `verify_password` returns a new hash for them, stored at that sign-in (rehash on login).

Concurrency: at most `hash_concurrency()` hashes run at once in a process (default: the CPUs it may use).
Sign-in handlers are plain ``def`` routes, so the hash already runs in the thread pool, off the event
loop; the bound keeps a class signing in together from running 40 hashes side by side, each 19 MiB and
each finishing late because all share two cores — the waiting ones queue in order instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEFAULT_HASHER = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
_hasher = DEFAULT_HASHER

MIN_PASSWORD_LENGTH = 8

T = TypeVar("T")


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


_concurrency = _available_cpus()
_slots = threading.BoundedSemaphore(_concurrency)


def hash_concurrency() -> int:
    """How many hashes this process computes at once."""
    return _concurrency


def set_hash_concurrency(limit: int) -> None:
    """Change the bound (tests and benchmarks; call before any sign-in is running)."""
    global _concurrency, _slots
    if limit < 1:
        raise ValueError("hash concurrency must be at least 1")
    _concurrency, _slots = limit, threading.BoundedSemaphore(limit)


def _bounded(work: Callable[[], T]) -> T:
    with _slots:
        return work()


# A hash of a random string: verified against when the account does not exist, so that the time a failed
# sign-in takes does not tell whether the username is known.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    hasher = _hasher
    return _bounded(lambda: hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check ``password``; return ``(ok, new_hash)`` ``new_hash`` set when the stored one is outdated."""
    hasher = _hasher
    if not password_hash:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _bounded(lambda: hasher.verify(_DUMMY_HASH, password))
        return False, None
    try:
        _bounded(lambda: hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if hasher.check_needs_rehash(password_hash):
        return True, hash_password(password)
    return True, None


def set_hasher_for_tests(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (tests use cheap parameters, benchmarks the former ones); return the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous

"""The LMS app for `bench_sign_in.py`, with the password hashing of ``BENCH_SIGN_IN_PROFILE``:

- ``after`` (default): the shipped settings — OWASP's argon2id minimum, hashes bounded per process;
- ``before``: the former ones — argon2-cffi's RFC 9106 low-memory profile (t=3, m=64 MiB, p=4), no bound.

Loaded by uvicorn (``--app-dir benchmarks``) so that both can be measured alternately in one run.
"""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles

from lms.auth import passwords

if os.environ.get("BENCH_SIGN_IN_PROFILE", "after") == "before":
    passwords.set_hasher_for_tests(PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY))
    passwords.set_hash_concurrency(10_000)

from lms.main import app

__all__ = ["app"]

"""Password hashing with argon2id (argon2-cffi); hashes are upgraded when the parameters change."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2-cffi's RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4

# A hash of a random string: verified against when the account does not exist, so that the time a failed
# sign-in takes does not tell whether the username is known.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check ``password``; return ``(ok, new_hash)`` ``new_hash`` set when the stored one is outdated."""
    if not password_hash:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return False, None
    try:
        _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


def set_hasher_for_tests(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (tests use cheap parameters); return the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous

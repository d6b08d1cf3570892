"""The small city of tests/lms/conftest.py (``world``, ``clock``, ``sign_in``) for the LTI tests too."""

from tests.lms.conftest import cheap_password_hashing, clock, sign_in, world

__all__ = ["cheap_password_hashing", "clock", "sign_in", "world"]

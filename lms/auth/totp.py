"""Time-based one-time passwords (RFC 6238) for staff accounts, with pyotp.

The secret is stored encrypted (`lms.auth.secret_box`); the functions here take the stored value and the
settings' ``secret_key`` and hide the encryption from their callers. `verify_code` returns the 30-second
time step the code belongs to, so that the caller can refuse a second use of the same code (RFC 6238
§5.2: the step must be newer than the last accepted one, `lms.auth.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyotp
from pyotp import utils

from lms.auth import secret_box

ISSUER = "GIGA Learning Platform"
VALID_WINDOW = 1  # time steps of clock drift accepted either side of the server's step


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def seal_secret(secret: str, *, secret_key: str) -> str:
    """The value to store in ``User.totp_secret`` for ``secret``: encrypted with a key from ``secret_key``."""
    return secret_box.seal(secret, secret_key=secret_key)


def reveal_secret(stored: str, *, secret_key: str) -> str | None:
    """The base32 secret of a stored value (for the enrolment page); None when it cannot be decrypted."""
    return secret_box.open_stored(stored, secret_key=secret_key).secret


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://`` URI that authenticator apps import (as text or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def matching_step(secret: str, code: str, *, at: datetime) -> int | None:
    """The time step (``unix time // 30``) within one step of ``at`` whose code is ``code``, else None."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    try:
        otp = pyotp.TOTP(secret)
        now_step = otp.timecode(at)
        for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
            if utils.strings_equal(code, otp.generate_otp(step)):
                return step
    except ValueError:  # a malformed legacy secret (binascii.Error is a ValueError)
        return None
    return None


@dataclass(frozen=True)
class Match:
    """A matching code: its time step, and the value to store instead when the stored one was plaintext."""

    step: int
    reseal: str | None = None


def verify_code(stored: str, code: str, *, at: datetime, secret_key: str) -> Match | None:
    """Check ``code`` against the stored (encrypted or legacy plaintext) secret at ``at``.

    None when the code does not match or the stored value cannot be decrypted (logged by `secret_box`).
    Replay is not decided here: the caller compares ``Match.step`` with the last accepted step.
    """
    opened = secret_box.open_stored(stored, secret_key=secret_key)
    if opened.secret is None:
        return None
    step = matching_step(opened.secret, code, at=at)
    if step is None:
        return None
    reseal = seal_secret(opened.secret, secret_key=secret_key) if opened.legacy else None
    return Match(step=step, reseal=reseal)


def qr_svg(uri: str) -> str | None:
    """An inline SVG QR code of ``uri`` when the small ``segno`` library is installed, else None."""
    try:
        import segno
    except ImportError:
        return None
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, title="二段階認証の設定用QRコード")
    return svg

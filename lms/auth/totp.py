"""Time-based one-time passwords (RFC 6238) for staff accounts, with pyotp."""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "GIGA Learning Platform"


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://`` URI that authenticator apps import (as text or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def verify_code(secret: str, code: str, *, at: datetime) -> bool:
    """True when ``code`` is valid at ``at`` (one 30-second step of clock drift either side is accepted)."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    return pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1)


def qr_svg(uri: str) -> str | None:
    """An inline SVG QR code of ``uri`` when the small ``segno`` library is installed, else None."""
    try:
        import segno
    except ImportError:
        return None
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, title="二段階認証の設定用QRコード")
    return svg

"""Dependencies shared by every page router: the permission gate and the CSRF check."""

from __future__ import annotations

from fastapi import Depends

from lms.auth.csrf import verify_csrf
from lms.permissions import page_gate

PAGE_DEPENDENCIES = [Depends(page_gate), Depends(verify_csrf)]


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/home"

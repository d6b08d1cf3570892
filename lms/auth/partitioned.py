"""Partitioned cookies (CHIPS) for pages inside another site's iframe (an LTI launch from a portal).

``SameSite=None; Secure; Partitioned``: Chromium keeps such a cookie for the pair (top-level site, this
site) even when third-party cookies are blocked. Written by hand: Starlette's ``partitioned=True``
needs Python 3.14's ``http.cookies``.
"""

from __future__ import annotations

import re

from starlette.responses import Response

_SAFE = re.compile(r"[A-Za-z0-9_\-.~]+")


def set_partitioned_cookie(
    response: Response, name: str, value: str, *, path: str = "/", max_age: int | None = None
) -> None:
    """Append one ``Set-Cookie`` header (HttpOnly, SameSite=None, Secure, Partitioned); ``max_age`` 0 deletes
    it (the deletion must carry ``Partitioned`` too, or it would address another cookie)."""
    if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(value)):
        raise ValueError("cookie names and values here are URL-safe tokens")
    lifetime = f"; Max-Age={max_age}" if max_age is not None else ""
    response.raw_headers.append(
        (
            b"set-cookie",
            f"{name}={value}; HttpOnly; Path={path}{lifetime}; SameSite=None; Secure; Partitioned".encode(
                "latin-1"
            ),
        )
    )

"""The xAPI sender's section of the settings (``GIGA_XAPI_*``; the class lives in lms/core/settings.py)."""

from __future__ import annotations

from lms.core.settings import XapiSettings

__all__ = ["XapiSettings"]

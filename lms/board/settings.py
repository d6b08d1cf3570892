"""The board's section of the settings (``GIGA_BOARD_*``; the class lives in lms/core/settings.py)."""

from __future__ import annotations

from lms.core.settings import BoardSettings, get_settings

__all__ = ["BoardSettings", "get_board_settings"]


def get_board_settings() -> BoardSettings:
    """The process's board settings: the ``board`` section of `get_settings()` (tests clear that cache)."""
    return get_settings().board

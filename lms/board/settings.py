"""``GIGA_BOARD_*`` settings of the board's reports (suppression threshold, rounding, plausible values)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BoardSettings(BaseSettings):
    """Every field is ``GIGA_BOARD_<FIELD>``; the city may raise ``min_cell_size`` (never below 5)."""

    model_config = SettingsConfigDict(env_prefix="GIGA_BOARD_", env_file=None, extra="ignore")

    min_cell_size: int = Field(
        default=10, ge=5, le=100, description="no figure describing fewer students is shown or exported"
    )
    count_rounding: int = Field(
        default=5, ge=1, le=10, description="published counts are rounded to a multiple of this"
    )
    plausible_values: int = Field(default=5, ge=2, le=20, description="plausible values drawn per student")
    city_name: str = Field(default="みどり市", description="the city's name in reports and open data")
    city_code: str = Field(
        default="",
        pattern=r"^(\d{6})?$",
        description="全国地方公共団体コード (6 digits with check digit) for open data; empty until set",
    )
    licence: str = Field(default="CC BY 4.0", description="open-data licence")


@lru_cache(maxsize=1)
def get_board_settings() -> BoardSettings:
    """The process's board settings (cached; tests may call ``get_board_settings.cache_clear()``)."""
    return BoardSettings()

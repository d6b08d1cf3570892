"""The no-repeat window is a setting (GIGA_NO_REPEAT_TERMS) counted in school terms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from lms.core.jst import school_year_and_term, term_bounds
from lms.core.settings import Settings
from lms.reading.no_repeat import window_start

NOW = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)  # 2学期 of school year 2026


def test_the_window_reaches_back_the_given_number_of_terms() -> None:
    assert school_year_and_term(NOW) == (2026, 2)
    assert window_start(NOW, 1) == term_bounds(2026, 2)[0]
    assert window_start(NOW, 2) == term_bounds(2026, 1)[0]
    assert window_start(NOW, 3) == term_bounds(2025, 3)[0]  # across the school year (April)
    assert window_start(NOW, 5) == term_bounds(2025, 1)[0]


def test_the_setting_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_NO_REPEAT_TERMS", "4")
    assert Settings().no_repeat_terms == 4
    monkeypatch.setenv("GIGA_NO_REPEAT_TERMS", "0")
    with pytest.raises(ValidationError):
        Settings()

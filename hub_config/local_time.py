"""Submission times in Japan Standard Time on the students' side of nbgrader (the Assignments list, ``nbgrader
list``), while the exchange keeps recording them in UTC.

Why not ``Exchange.timezone = "Asia/Tokyo"``: nbgrader writes the zone into each submission's folder name and
``timestamp.txt`` with ``%Z``, i.e. ``JST``, and ``nbgrader.utils.parse_utc`` cannot resolve ``JST``
(``dateutil.tz.gettz("JST")`` is None): collect and the gradebook would then read a JST time as UTC and
every late-submission check would be off by nine hours. A numeric offset (``+0900``) breaks the
``+``-separated folder names instead. So the recorded value stays UTC and only what the list *shows* is
converted, after nbgrader has used the recorded value for its feedback paths.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from nbgrader.exchange.default.list import ExchangeList
from nbgrader.utils import parse_utc

# Japan has no daylight saving time: a fixed offset needs no tz database (slim images may lack one)
JST = timezone(timedelta(hours=9), "JST")
DISPLAY_FORMAT = "%Y-%m-%d %H:%M:%S（日本時間）"  # zero-padded: sorting the strings still sorts the times


def to_japan_time(recorded: str) -> str:
    """A recorded exchange timestamp (``2026-12-07 09:13:30.379753 UTC``) as JST for display; a value that
    does not parse is shown as it is."""
    try:
        moment = parse_utc(recorded)
    except (ValueError, OverflowError, TypeError):
        return recorded
    if not isinstance(moment, datetime):
        return recorded
    return moment.replace(tzinfo=UTC).astimezone(JST).strftime(DISPLAY_FORMAT)


class JapanTimeExchangeList(ExchangeList):  # type: ignore[misc]  # nbgrader ships no type hints
    """nbgrader's list with the submissions' times shown in JST."""

    def parse_assignments(self) -> list[dict[str, Any]]:
        assignments: list[dict[str, Any]] = super().parse_assignments()
        for assignment in assignments:
            # inbound/cached listings group the submissions; the released listing has no times
            for submission in assignment.get("submissions", ()):
                if isinstance(submission.get("timestamp"), str):
                    submission["timestamp"] = to_japan_time(submission["timestamp"])
        return assignments

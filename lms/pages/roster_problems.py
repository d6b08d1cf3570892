"""A roster problem line (``file.csv:line: column: message``, as the CLI prints it) the way a school's staff
reads it: 「users.csv の 12 行目（role 列）: …」, and no 「:0: -:」 when the whole file is meant."""

from __future__ import annotations

import re

LINE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<column>[^:]+): (?P<message>.*)$", re.S)


def problem_text(line: str) -> str:
    match = LINE_RE.match(line)
    if match is None:
        return line
    where = match["file"]
    if match["line"] != "0":
        where += f" の {match['line']} 行目"
    if match["column"].strip() not in ("-", ""):
        where += f"（{match['column'].strip()} 列）"
    return f"{where}: {match['message']}"

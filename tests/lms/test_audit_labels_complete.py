"""Every action and target type the LMS writes to the audit log has Japanese words on the audit page
(issue 19: the log showed ``auth.login`` and 「user 758」)."""

from __future__ import annotations

import re
from pathlib import Path

from lms.authz import Kind
from lms.pages.audit_labels import ACTION_LABELS, TARGET_LABELS

LMS = Path(__file__).resolve().parents[2] / "lms"
ACTION = re.compile(r'action="([a-z_]+\.[a-z_.]+)"')
AUDIT_ARG = re.compile(r'(?:audit=|_dependency\()"([a-z_]+\.[a-z_.]+)"')
TARGET = re.compile(r'target_type="([a-z_]+)"')


def _written(pattern: re.Pattern[str]) -> set[str]:
    found: set[str] = set()
    for path in LMS.rglob("*.py"):
        if "migrations" not in path.parts:
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_recorded_action_has_a_label() -> None:
    actions = _written(ACTION) | _written(AUDIT_ARG)
    assert len(actions) > 40  # the scan finds the log's actions (auth, roster, reading, board, cards …)
    assert sorted(a for a in actions if a not in ACTION_LABELS) == []


def test_every_target_type_has_a_label() -> None:
    targets = _written(TARGET) | {kind.value for kind in Kind} | {"class", "user", "assignment", "attempt"}
    assert sorted(t for t in targets if t not in TARGET_LABELS) == []

"""Whether the scores rest on provisional item parameters, and the sentence every teacher and board screen
shows while they do (DESIGN §5.2: "while item parameters are provisional, screens say so")."""

from __future__ import annotations

from lms.reading.delivery import DELIVERED_STATUSES, item_bank

#: Shown on every staff screen with scores or test planning (template ``provisional_note.html``).
PROVISIONAL_NOTE = (
    "得点は暫定です。問題の難しさなどの値（パラメータ）は暫定値で、まだ実際の児童生徒の解答で調整しておらず、"
    "模擬の試行調査から求めたものです。得点は目安として読み、幅（95%区間）をあわせて見てください。"
    "成績や進路など、重要な判断には使わないでください。"
)


def bank_is_provisional() -> bool:
    """True while any deliverable item's parameters are provisional (not yet from a real calibration)."""
    return any(
        item.irt is not None and item.irt.provisional
        for item in item_bank()
        if item.status in DELIVERED_STATUSES
    )

"""Every Japanese sentence the calibration service shows to people (one catalogue, not scattered)."""

from __future__ import annotations

# putting a calibration into use
ONLY_STAFF_PROMOTE = "試行問題を本番に使うのは、先生・学校管理者・システム管理者です。"
CALIBRATION_NOT_USABLE = "この較正結果は「{status}」なので、本番にできません。新しい較正を使ってください。"
CALIBRATION_NOT_FOUND = "その較正結果は見つかりません。"

# why a calibration row may not be promoted (shown on the teacher's screen)
NOT_CONVERGED = "この較正は収束しなかったので、本番には使えません。データを増やして較正し直してください。"
NEEDS_CHECKING = (
    "{item_id} は点検が必要なので、本番にできません（{reasons}）。正答や選択肢を見直してください。"
)

"""Every Japanese sentence the item-bank review shows to people (one catalogue, not scattered)."""

from __future__ import annotations

# naming a reviewer (giga items reviewers)
REVIEWER_NOT_FOUND = "利用者「{username}」は見つかりません。ユーザー名を確かめてください。"
ROLE_CANNOT_REVIEW = (
    "「{username}」の役割（{role}）ではレビュー担当になれません（教員・学校管理者・教育委員会のみ）。"
)
REVIEWER_BOARD_MISSING = "「{username}」の所属する教育委員会が名簿にありません。名簿を取り込んでください。"

# the reviewer's verdict on a draft item
CHOOSE_VERDICT = "「承認」か「差し戻し」を選んでください。"
BAD_CHECKLIST = "チェック項目が正しくありません。画面を開き直してください。"
COMMENT_TOO_LONG = "コメントは2000字以内にしてください。"
UNCHECKED_ITEMS = "承認するには、すべての項目を確認してチェックしてください（未確認：{missing}）。"
RETURN_NEEDS_COMMENT = "差し戻すときは、直してほしい点をコメントに書いてください。"

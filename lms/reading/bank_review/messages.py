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

#: The checklist of the page, in the words a reviewer reads (keys are `reading_tests.items.REVIEW_CHECKS`).
CHECK_LABELS: dict[str, str] = {
    "key": "正答：本文だけから、正答がただ一つに決まる",
    "distractors": "誤答の選択肢：それぞれ、書かれた理由（誤読）で誤りであり、正答とも言えない",
    "readings": "読み：ふりがなと読み上げの読みがすべて正しい",
    "grade_level": "学年：語彙・漢字・話題が対象学年に合っている",
    "bias": "偏り・配慮：特定の子どもに有利・不利な話題、名前、習慣がない",
    "text_only": "本文が必要：本文を読まなければ答えられない（常識だけでは解けない）",
}
DECISION_LABELS = {"approve": "承認", "send_back": "差し戻し"}

# refusals of a review
NOT_REVIEWER = (
    "問題のレビューは、レビュー担当に登録された教職員だけが行えます。"
    "担当になるには、学校管理者かシステム管理者に「問題の確認者」への指名を依頼してください。"
)
ITEM_NOT_FOUND = "その問題は見つかりません。問題の一覧から選んでください。"
OWN_ITEM = "自分で作成した問題はレビューできません。別の担当者にレビューを依頼してください。"
NOT_DRAFT = "この問題は下書きではないため、レビューの対象ではありません。"
ITEM_CHANGED = "問題の内容が、画面を開いた後に変わりました。画面を開き直して、もう一度確認してください。"

# appointing reviewers on the admin page (/admin/reviewers)
APPOINT_ADMINS_ONLY = (
    "問題の確認者を指名できるのは、システム管理者と学校管理者（自校の教員のみ）です。"
    "指名が必要なときは、学校管理者かシステム管理者に依頼してください。"
)
APPOINTEE_NOT_FOUND = "指名できる教職員の中に、そのユーザー名の人はいません。一覧から選んでください。"

# the sent-back notices (/bank/returned)
RETURNED_NOT_FOUND = (
    "差し戻された問題の中に、その問題はありません。作成者かレビューした人だけが見られます。"
    "ホームの「差し戻された問題」から選んでください。"
)

"""Every Japanese sentence the reading-test delivery shows to people (one catalogue, not scattered)."""

from __future__ import annotations

SKILL_NAMES_JA = {
    "DEP": "係り受け解析",
    "ANA": "照応解決",
    "PARA": "同義文判定",
    "INF": "推論",
    "REP": "イメージ同定",
    "INST_DICT": "具体例同定（辞書）",
    "INST_MATH": "具体例同定（理数）",
    "ALL": "読解力（総合）",
}

ADVICE_BY_BAND = {
    1: "『{name}』は、短い文をゆっくり読み、だれが・なにを・どうしたかを確かめることから始めましょう。",
    2: "『{name}』は、あと一歩です。まちがえた問題の文をもう一度読み、どこを見ればよいか確かめましょう。",
    3: "『{name}』は、標準的な力がついています。少し長い文にもちょうせんしましょう。",
    4: "『{name}』は、よくできています。理由を説明しながら読むと、さらに力がのびます。",
    5: "『{name}』は、たいへんよくできています。むずかしい文章にもちょうせんしてみましょう。",
}
GUESSING_ADVICE = (
    "『{name}』は、答えがあてずっぽうと区別できませんでした。一問ずつ、文をよく読んで答えましょう。"
)

ASSIGNMENT_NOT_FOUND = "そのテストは見つかりません。"
ATTEMPT_NOT_FOUND = "その受験は見つかりません。"
NOT_OPEN_YET = "このテストはまだ始まっていません。始まる時刻になってから、もう一度開いてください。"
WINDOW_CLOSED = "このテストの受付は終わりました。先生に相談してください。"
TIME_OVER = "時間が終わりました。ここまでの答えは保存されています。"
ATTEMPT_FINISHED = "このテストはもう終わっています。結果の画面を見てください。"
ATTEMPT_NOT_STARTED = "まだテストを始めていません。「はじめる」を押してください。"
ITEM_NOT_OFFERED = "この問題は、このテストで出された問題ではありません。ページを読み込み直してください。"
ITEM_ANSWERED = "この問題にはもう答えています。ページを読み込み直してください。"
BAD_OPTION = "選んだ答えが、この問題の選択肢にありません。ページを読み込み直してください。"
ONE_OPTION = "この問題では、答えを一つだけ選んでください。"
EVENT_ID_REUSED = "同じ送信IDが別の受験で使われています。ページを読み込み直してください。"
STATE_MISMATCH = "この受験の記録が、現在のテスト設定と合いません。先生に受験のやり直しを依頼してください。"
NOT_A_STUDENT = "テストを受けられるのは児童生徒のアカウントだけです。"
NO_RESULTS_YET = "まだ結果がありません。テストを最後まで終えると表示されます。"

# authoring: creating tests and assignments, resuming an attempt
BAD_KIND = "テストの種類は {kinds} のどれかです。"
NO_TITLE = "テストの名前を入れてください。"
BAD_ITEM_COUNTS = "問題数は 1 ≦ 最小 ≦ 最大 ≦ 100 にしてください。"
FIXED_NEEDS_ITEMS = "固定の問題セットには、問題を一つ以上選んでください。"
BAD_SE_TARGET = "測定精度（SE）の目標は 0 以上 2 未満にしてください。"
BAD_PILOT_SHARE = "試行問題の割合は 0 以上 0.5 以下にしてください。"
BAD_TIME_LIMIT = "制限時間は 1 分から 4 時間のあいだにしてください。"
CLOSES_BEFORE_OPENS = "終わりの時刻は、始まりの時刻より後にしてください。"
STUDENT_NOT_IN_CLASS = "このクラスに在籍していない児童生徒が選ばれています。"
ACCOMMODATION_NOT_TARGET = "配慮の設定に、このテストの対象でない児童生徒が含まれています。"
BAD_EXTRA_TIME = "延長時間は 0〜300 % にしてください。"
BAD_RUBY = "ふりがなの設定は、学年（P1〜J3）か all / none にしてください。"
CANNOT_RESUME = "続きから再開できるのは、時間切れか受験中の受験だけです。"

# board accounts see aggregates only
BOARD_CANNOT_TAKE = "教育委員会のアカウントでは、テストを受けられません。"
BOARD_CANNOT_SEE_ATTEMPT = "教育委員会のアカウントでは、児童生徒一人ひとりの受験は見られません。"

# choosing the items of a test (delivery pools)
UNKNOWN_SKILL = "読解スキル「{skill}」はありません（{choices} のどれかです）"
ITEM_NOT_IN_BANK = "問題「{item_id}」は問題バンクにありません"
ITEM_NOT_REVIEWED = "問題「{item_id}」はまだ点検が済んでいません（{status}）"
ITEM_PRACTICE_ONLY = "問題「{item_id}」は練習用の問題で、テストには使えません"
ITEM_NOT_CALIBRATED = "問題「{item_id}」は、まだ難しさなどの値が決まっていません"
NO_CALIBRATED_ITEMS_FOR_SKILLS = "選んだ読解スキルには、値の決まった問題がありません"
DESIGN_IMPOSSIBLE = "このテストの設定では出題できません（{error}）。問題の選び方を変えてください。"

# the student's test pages
TEST_NOT_GIVEN = "そのテストは見つかりません。先生に確かめてください。"

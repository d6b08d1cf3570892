"""Every Japanese sentence the teaching service and pages show to people (one catalogue, not scattered)."""

from __future__ import annotations

# assigning a test and operating the live view
NO_ASSIGNMENT_IN_CLASS = "このクラスには、そのテストの割り当てはありません。"
PAST_YEAR_CLASS = "過去の年度のクラスには、テストを割り当てられません。"
ASSIGNMENT_CLOSED = "このテストはもう終了しています。"
ANSWER_ALREADY_RESET = "この解答はもうやり直しになっています。画面を読み込み直してください。"
ASSIGNMENT_ENDED_REASSIGN = "このテストは終了しています。続きを受けさせるには、新しく割り当ててください。"

# reading the teacher's forms and query strings
BAD_DATETIME = "日時「{value}」を読み取れません（例: 2026-05-01T09:00）。"
NOT_A_NUMBER = "「{label}」には数字を入れてください。"
BAD_ASSIGNMENT_ID = "assignment_id には割り当ての番号（数字）を指定してください。"

# who may assign and operate a class's tests
ONLY_CLASS_TEACHER_CHANGES = (
    "テストの割り当てや操作は、クラスの担当の先生が行います（学校管理者は結果の閲覧のみ）。"
)

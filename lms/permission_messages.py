"""Every Japanese sentence the permission gates (`lms.permissions`) and the object-permission service
(`lms.authz`) show to people when they refuse (one catalogue, not scattered)."""

from __future__ import annotations

# objects out of the caller's reach answer 404 in the object's own words
CLASS_NOT_FOUND = "そのクラスは見つかりません。"
USER_NOT_FOUND = "その利用者は見つかりません。"
STUDENT_NOT_FOUND = "その児童生徒は見つかりません。"
ASSIGNMENT_NOT_FOUND = "そのテストの割り当ては見つかりません。"
TEACHER_ATTEMPT_NOT_FOUND = "その解答は見つかりません。"
COURSE_NOT_FOUND = "そのノートブックのコースは見つかりません。"
SCHOOL_NOT_FOUND = "その学校は見つかりません。"

# board accounts see aggregates only (403 whether the individual exists or not)
BOARD_INDIVIDUAL_MESSAGE = (
    "教育委員会のアカウントでは、児童生徒一人ひとりの情報は見られません。学校ごとの集計をご覧ください。"
)
BOARD_GRADES_MESSAGE = "教育委員会のアカウントでは、児童生徒一人ひとりの成績は見られません。"
BOARD_RESULTS_MESSAGE = "教育委員会のアカウントでは、児童生徒一人ひとりの結果は見られません。"

# fail closed: a route or a kind of object nobody classified serves nobody
UNKNOWN_KIND_MESSAGE = "この種類のデータの権限が設定されていません。管理者に連絡してください。"
ROUTE_NOT_CLASSIFIED = "この画面の権限が設定されていません。管理者に連絡してください。"

# role-level rules of the route table (ROUTE_POLICIES)
SCHOOL_AGGREGATES_ROLES = "学校ごとの集計は、学校管理者・教育委員会・管理者が見られます。"
BOARD_CANNOT_EDIT_BANK = "教育委員会のアカウントでは問題バンクを変更できません。"
STUDENTS_ONLY_TEST = "テストを受けられるのは児童生徒のアカウントだけです。"
SUPPORT_VIEW_GRANTED_BOARD_ONLY = "支援ビューは、許可を受けた教育委員会のアカウントだけが使えます。"
BOARD_AGGREGATES_ROLES = "教育委員会の集計は、教育委員会・学校管理者・システム管理者が見られます。"
ADMIN_ONLY = "この画面はシステム管理者だけが使えます。"
REVIEWER_APPOINTMENT_ROLES = (
    "問題の確認者の指名は、システム管理者と学校管理者（自校の教員のみ）が行えます。"
    "指名が必要なときは、学校管理者に依頼してください。"
)
BROWSER_ONLY = "この操作はAPIトークンではなく、サインインしたブラウザから行ってください。"
TOKEN_LACKS_SCOPE = "このAPIトークンには「{scope}」のスコープがありません。"

"""Every Japanese sentence the notebook service and pages show to people (one catalogue, not scattered)."""

from __future__ import annotations

BAD_COURSE_ID = "コースIDは半角英小文字・数字・ハイフンで3〜40文字にしてください（例: j1-1-2026）。"
ONLY_MANAGERS_FLAG = "ノートブックのコースにできるのは、クラスの担当の先生・学校管理者・管理者です。"
CLASS_NOT_FOUND = "そのクラスは見つかりません。"
CLASS_ALREADY_COURSE = "このクラスはすでにコース「{course_id}」になっています。"
COURSE_ID_TAKEN = "コースID「{course_id}」はほかのクラスで使われています。別のIDにしてください。"
ONLY_TEACHERS_GRADE = "成績を書き込めるのは、クラスの担当の先生と管理者です。"
NOT_IN_CLASS = "このクラスに在籍していない児童生徒が含まれています: {names}"
SCORE_OUT_OF_RANGE = "{student} の得点は 0 以上、満点（max_score）以下にしてください。"

NOT_A_COURSE = "このクラスはまだノートブックのコースになっていません。"
ONLY_MANAGERS_SYNC = "名簿をハブに反映できるのは、クラスの担当の先生・学校管理者・管理者です。"
ONLY_TEACHER_PRESTART = "全員のノートブックを起動できるのは、このクラスの担当の先生だけです。"
ONLY_TEACHER_PROGRESS = "起動の状況を見られるのは、このクラスの担当の先生だけです。"
NO_NOTEBOOK_CLASS = "ノートブックを使うクラスがありません。"

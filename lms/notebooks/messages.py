"""Every Japanese sentence the notebook service and pages show to people (one catalogue, not scattered)."""

from __future__ import annotations

BAD_COURSE_ID = "コースIDは半角英小文字・数字・ハイフンで3〜40文字にしてください（例: j1-1-2026）。"
RESERVED_COURSE_ID = "コースID「{course_id}」はJupyterHubの内部で使われている名前です。別のIDにしてください。"
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

# deadlines and extensions
BAD_DEADLINE = "提出期限は「2026-12-10 17:00」の形で入れてください。"
ONLY_TEACHERS_DEADLINE = "提出期限を決められるのは、クラスの担当の先生と管理者です。"
BAD_ASSIGNMENT_NAME = "課題名は formgrader の課題名（半角英数字・「_」「-」「.」）で入れてください。"
STUDENTS_NOT_IN_CLASS = "このクラスに在籍していない児童生徒がいます: {names}"
BAD_EXTENSION_DAYS = "延長は 0〜60日 の範囲で入れてください。"
BAD_EXTENSION_HOURS = "延長は時間の数（例: 24）で入れてください。"
ONLY_TEACHERS_SEND_GRADES = "成績をLMSへ送れるのは、クラスの担当の先生と管理者です。"

# talking to JupyterHub and the course's formgrader
# No setting names here: teachers read this. The operations manual says which settings the admin supplies.
HUB_NOT_CONFIGURED = (
    "ノートブック（JupyterHub）との連携が、まだ設定されていません。学校のICT担当の方（管理者）に連絡してください。"
    "管理者の方へ: LMS とハブで共有する連携用トークンを設定してから、LMS を再起動してください"
    "（`make run` では自動で設定されます）。"
)
HUB_UNAVAILABLE = "JupyterHub に接続できません。しばらくしてからもう一度お試しください。"
HUB_UNREACHABLE = "JupyterHub に接続できません（{error_type}）。ハブが動いているか確認してください。"
HUB_FORBIDDEN = (
    "JupyterHub が{what}を許可しませんでした（HTTP {status_code}）。"
    "管理者の方は、LMS とハブの連携用トークンとその権限を確認してください。"
)
HUB_FAILED = "JupyterHub で{what}に失敗しました（HTTP {status_code}）。"
FORMGRADER_NOT_FOUND = (
    "このコースの採点サービス（formgrader）が見つかりません。"
    "新しいコースは、ハブの再起動のあとで使えるようになります。管理者に連絡してください。"
)
FORMGRADER_NOT_RUNNING = "このコースの採点サービス（formgrader）がまだ動いていません。"

# starting every student's server (whole-class start)
START_HUB_BUSY = "ハブが混み合っていて起動できませんでした。"
START_TIMED_OUT = "時間内に起動しませんでした。"
START_FAILED = "サーバーの起動に失敗しました。"
START_UNEXPECTED_ERROR = "起動中に予期しないエラーが起きました（{error_type}）。"

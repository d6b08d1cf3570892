"""Every Japanese sentence the board of education screens and services show to people (one catalogue)."""

from __future__ import annotations

# who may use the board's screens and operations
ONLY_BOARD_PUBLISHES = "オープンデータの公開と集計の更新は、教育委員会とシステム管理者が行います。"
ONLY_BOARD_REFRESHES = "集計の更新は、教育委員会とシステム管理者が行います。"
ONLY_ADMIN_CREATES_RELEASE = "公表回の作成は、システム管理者が行います。"
ONLY_BOARD_SEES_RELEASE_JOBS = "公表回の作成状況は、教育委員会とシステム管理者が見られます。"
EBPM_BOARD_ONLY = "この画面は教育委員会とシステム管理者のためのものです（市全体の公表値を使います）。"

# objects out of reach
SCHOOL_NOT_FOUND = "その学校は見つかりません。"
OWN_SCHOOL_NOT_FOUND = "あなたの学校が見つかりません。"
CLASS_NOT_FOUND = "そのクラスは見つかりません。"
RELEASE_JOB_NOT_FOUND = "その作成依頼はありません。"
NO_RELEASE_YET = "公表された集計（リリース）はまだありません。"
RELEASE_NOT_FOUND = "そのリリースはありません。"

# filters of the dashboards and the open data (query strings and forms)
FILTER_NOT_A_NUMBER = "{label}（{name}）には数字を指定してください。"
BAD_SKILL_FILTER = "読解スキル（skill）は {skills} のどれかを指定してください。"
BAD_GRADE_FILTER = "学年（grade）は P1〜P6、J1〜J3 か ALL を指定してください。"
BAD_TERM_FILTER = "学期（term）は 1、2、3 のどれかを指定してください。"
EBPM_NOT_A_NUMBER = "{label}は数字で指定してください。"
EBPM_CHOOSE_SKILL = "読解スキルは一覧から選んでください。"
EBPM_BAD_TERM = "学期は 1、2、3 のどれかを指定してください。"
BAD_YEAR_AND_TERM = "年度（例：2025）と学期（1〜3）を数字で指定してください。"

# published reference values (national / prefectural surveys)
REFERENCE_NOT_A_NUMBER = "{label}には数値を入力してください（例：512.3）。"
REFERENCE_YEAR_NOT_A_NUMBER = "年度を数字で入力してください（例：2025）。"
REFERENCE_NO_PERCENT = "公表された平均正答率（%）を入力してください。"
REFERENCE_BAD_SOURCE = "出典は national（全国）、prefecture（都道府県）、other のどれかです。"
REFERENCE_BAD_GRADE_OR_SKILL = "学年（P1〜J3）と読解スキルを正しく指定してください。"
REFERENCE_BAD_PERCENT = "平均正答率は 0〜100 の百分率で入力してください（例：64.2）。"
REFERENCE_SCALE_NEEDS_LINKING_NOTE = (
    "尺度得点への換算値は、換算の根拠となるリンキング研究をメモに書いた場合だけ登録できます。"
)
REFERENCE_BAD_SCALE = "平均は 0〜1000、標準偏差は 0〜500 の尺度得点（500 + 100θ）で入力してください。"
REFERENCE_NO_NAME = "名称（例：令和8年度 全国学力・学習状況調査）を入力してください。"

# releases (the published, suppressed aggregates)
BAD_RELEASE_REASON = "公表の理由は term_closed（学期の締め）か admin（管理者による作成）です。"
NO_RESULTS_FOR_TERM = (
    "{school_year}年度 {term}学期 の結果がまだありません。テストの提出後に作成してください。"
)
RELEASE_CHECK_FAILED = "公表前の検査で {count} 件の問題が見つかったため、公表しませんでした。"

# open data
BAD_CITY_CODE = (
    "全国地方公共団体コード {city_code} の検査数字が合いません。"
    "GIGA_BOARD_CITY_CODE に総務省のコード（6桁）を設定してください。"
)

# the support view: grants by the administrator
ONLY_ADMIN_GRANTS = "支援ビューの許可はシステム管理者だけが出せます。"
GRANTEE_MUST_BE_BOARD = "許可を出す相手には、教育委員会のアカウントを選んでください。"
GRANT_SCHOOL_NOT_FOUND = "対象の学校が見つかりません。学校を選び直してください。"
GRANT_REASON_TOO_SHORT = "許可の理由を{min_chars}文字以上で書いてください（監査ログに残ります）。"
GRANT_ENDS_BEFORE_START = "終了日時は開始日時より後にしてください。"
GRANT_ENDS_IN_PAST = "終了日時が過去です。これから先の日時を指定してください。"
GRANT_TOO_LONG = "支援ビューの許可は最長{max_days}日です。期間を短くしてください。"
ONLY_ADMIN_REVOKES = "支援ビューの許可を取り消せるのはシステム管理者だけです。"
GRANT_NOT_FOUND = "その支援ビューの許可は見つかりません。"
BAD_DATETIME = "{label}は「2026-05-01T09:00」の形で入力してください。"

# the support view: refusals of a board account without a grant
NO_SUPPORT_GRANT = (
    "この学校の個別の情報を見る許可（支援ビュー）がありません。"
    "必要な場合は、理由と期間を添えてシステム管理者に申請してください。"
)
SUPPORT_GRANT_EXPIRED = (
    "支援ビューの許可の期間が終わっているか、取り消されています。必要ならもう一度申請してください。"
)
SUPPORT_VIEW_BOARD_ONLY = "支援ビューは教育委員会のアカウント（と管理者）だけが使えます。"

# research export
PURPOSE_TOO_SHORT = "利用目的を{min_chars}文字以上で書いてください（データ利用の注意書きに載ります）。"
BAD_EXPORT_KIND = "出力の種類は research（仮名化した個票）か public（公表した集計のみ）です。"

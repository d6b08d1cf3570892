"""Japanese sentences of the LTI services (deep-linking picker, score comments, the roster comparison).

Kept apart from `lms.lti.messages` (the launch's) so the two helpers of issue 23 did not edit one file."""

from __future__ import annotations

DL_STUDENT_REFUSED = (
    "教材の選択（ディープリンク）は先生だけが行えます。児童生徒のアカウントでは選べません。"
    "先生のアカウントでポータルにサインインし直してから、もう一度「教材を追加」を選んでください。"
)
DL_NOT_TEACHER_OF_CLASS = (
    "このクラスの担任・担当の先生ではないため、課題を作れません。"
    "クラスの担当が名簿に登録されているか、学校の管理者に確認してください。"
)
DL_CONTEXT_NOT_LINKED = (
    "ポータルのこのクラスが、まだ名簿のクラスと結び付けられていません。"
    "学校の管理者に「LTI 連携」でクラスを結び付けてもらってから、もう一度お試しください。"
)
DL_NO_RESOURCE_LINK = (
    "ポータルが「LTI リソースリンク」の追加を受け付けていません（accept_types に ltiResourceLink がない）。"
    "ポータルの管理者に、このツールの設定でディープリンクのリソースリンクを許可するよう伝えてください。"
)
DL_BAD_REQUEST = (
    "ポータルからの教材選択の要求を読み取れませんでした（{detail}）。"
    "ポータルの管理者に、このツールのディープリンク設定を確認するよう伝えてください。"
)
DL_TICKET_UNKNOWN = (
    "この教材選択の画面は期限切れか、すでに使われています。"
    "ポータルに戻り、もう一度「教材を追加」から始めてください。"
)
DL_TICKET_OTHER_USER = "この教材選択の画面は、別の先生のものです。ポータルからもう一度開いてください。"
DL_UNKNOWN_CHOICE = "選ばれた教材が見つかりません。一覧から選び直してください。"
DL_DONE_MESSAGE = "「{title}」を{klass}に出題しました。"

READING_TEST_TITLE = "読解力テスト（{term}学期）"
READING_TEST_TEXT = "7つの読解スキルの適応型テスト（{min_items}〜{max_items}問）"
PRACTICE_SET_TITLE = "練習セット：{skill}"
PRACTICE_SET_TEXT = "{skill}の練習問題 {n} 問（スコアはつきません）"
NOTEBOOK_CHOICE_TITLE = "ノートブックの授業：{assignment}"
NOTEBOOK_CHOICE_TEXT = (
    "JupyterHub のノートブック（コース {course}）。提出と採点はノートブックの採点で行い、"
    "ポータルに点数は送りません"
)
PICKER_TITLE = "ポータルに教材を追加"
RETURN_TITLE = "ポータルに戻ります"
ROSTER_TITLE = "ポータルの名簿と照合"
ROLE_LABELS = {"student": "児童生徒", "teacher": "教員", "administrator": "管理者", "other": "その他"}

SCORE_COMMENT = (
    "読解力スコア {score}（95%の範囲 {lower}〜{upper}、標準誤差 {se:.0f}）。段階：{band}。"
    "平均500・標準偏差100の尺度で、得点率（%）ではありません。採点した問題 {n_items} 問。"
)
SCORE_COMMENT_DISENGAGED = "解答時間から、急いで答えた問題があった可能性があります（結果は参考値）。"
SCORE_COMMENT_NONE = "採点できる解答がなかったため、スコアはありません。"
PRACTICE_COMMENT = "練習セット：{n_items}問中{n_correct}問正解。練習の結果はテストのスコアを変えません。"
LINE_ITEM_TEST_LABEL = "{title}（読解力スコア・最大1000）"

NRPS_NO_CONTEXT = (
    "このクラスは、まだポータルのクラスと結び付けられていません（ポータルから一度起動されると結び付きます）。"
)
NRPS_NO_SERVICE = (
    "ポータルがこのクラスの名簿サービス（NRPS）を提供していません。"
    "ポータルの管理者に、このツールへ名簿の参照"
    "（Names and Role Provisioning Services）を許可するよう伝えてください。"
)
NRPS_TOKEN_REFUSED = (
    "ポータルが名簿の参照を許可しませんでした（アクセストークンの拒否）。"
    "ポータルの管理者に、このツールの登録（クライアントID と公開鍵の URL）を確認するよう伝えてください。"
)
NRPS_UNAVAILABLE = "ポータルの名簿サービスに接続できませんでした。しばらくしてからもう一度お試しください。"

SCORES_TITLE = "ポータルへの成績送信（LTI AGS）"
SCORES_RETRIED = "{n} 件の成績を、次の送信で送り直します。"

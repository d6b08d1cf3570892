"""Every Japanese sentence the sign-in and admin pages show to people (one catalogue, not scattered)."""

from __future__ import annotations

# the administrator's roster upload and token pages
NO_TOKEN_FOR_USERNAME = "そのユーザー名のトークンは作れません。"
CHOOSE_ONEROSTER_ZIP = "OneRoster の CSV をまとめた zip ファイルを選んでください。"
FILE_TOO_LARGE = "ファイルが大きすぎます（50MBまで）。"
BAD_DATE = "日付は 2026-04-01 の形で入力してください。"

# the sign-in page, the second step and the school-account sign-in
OIDC_NOT_CONFIGURED = "学校のアカウントでのサインインは設定されていません。"
SIGNED_OUT_IDLE = "しばらく操作がなかったため、サインアウトしました。もう一度サインインしてください。"
SIGNED_OUT = "サインアウトしました。おつかれさまでした。"
USERNAME_AND_PASSWORD_NEEDED = "ユーザー名とパスワードを入力してください。"
WRONG_ENROLMENT_CODE = "確認コードがちがいます。アプリに表示されている6けたの数字を入力してください。"
OIDC_BAD_CALLBACK = "サインインの手続きが正しくありません。最初からやりなおしてください。"
OIDC_NOT_ON_ROSTER = "このアカウントは名簿に登録されていません。学校の先生か管理者に相談してください。"
SIGN_IN_LOCKED = (
    "サインインの失敗が続いたため、しばらくのあいだサインインできません。"
    "{minutes}分ほど待ってから、もう一度お試しください。"
)
WRONG_PASSWORD = "ユーザー名またはパスワードがちがいます。"
MFA_ERRORS = {
    "invalid": "確認コードがちがいます。",
    "reused": "この確認コードはもう使われました。アプリに次のコードが出てから入力してください。",
}

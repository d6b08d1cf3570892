"""Every Japanese sentence the sign-in and token services show to people (one catalogue, not scattered)."""

from __future__ import annotations

TOTP_STAFF_ONLY = "二段階認証は教職員のアカウントで使います。"
UNKNOWN_SCOPES = "不明なスコープです: {unknown}（使えるもの: {known}）"
NO_SCOPE = "スコープを1つ以上選んでください。"
TOKEN_FOR_OTHERS_ADMIN_ONLY = "ほかの人のAPIトークンは管理者だけが作れます。"
TOKEN_STAFF_ONLY = "APIトークンは教職員と管理者のアカウントで作れます。"
BAD_TOKEN_NAME = "トークンの名前を1〜100文字で入力してください。"
TOKEN_NOT_FOUND = "そのAPIトークンは見つかりません。"

# requests without a valid sign-in, token or form
BAD_API_TOKEN = "APIトークンが無効です（失効・取り消し済みか、まちがっています）。"
SIGN_IN_OR_TOKEN = "サインインするか、Authorization: Bearer でAPIトークンを送ってください。"
BROWSER_ONLY = "この操作はAPIトークンではなく、サインインした画面から行ってください。"
FORM_EXPIRED = "フォームの有効期限が切れました。ページを読み込み直してから、もう一度送信してください。"

# signing in with the school's account (OIDC)
OIDC_FAILED = "学校のアカウントでのサインインに失敗しました。もう一度お試しください。"
OIDC_NO_ID_TOKEN = "学校のアカウントでのサインインに失敗しました（IDトークンがありません）。"
OIDC_CHECK_FAILED = "学校のアカウントの確認に失敗しました。もう一度お試しください。"
OIDC_FLOW_NOT_FOUND = "サインインの手続きが見つかりません。最初からやりなおしてください。"
OIDC_FLOW_EXPIRED = "サインインの手続きの期限が切れました。最初からやりなおしてください。"

"""Every Japanese sentence the sign-in and token services show to people (one catalogue, not scattered)."""

from __future__ import annotations

TOTP_STAFF_ONLY = "二段階認証は教職員のアカウントで使います。"
UNKNOWN_SCOPES = "不明なスコープです: {unknown}（使えるもの: {known}）"
NO_SCOPE = "スコープを1つ以上選んでください。"
TOKEN_FOR_OTHERS_ADMIN_ONLY = "ほかの人のAPIトークンは管理者だけが作れます。"
TOKEN_STAFF_ONLY = "APIトークンは教職員と管理者のアカウントで作れます。"
BAD_TOKEN_NAME = "トークンの名前を1〜100文字で入力してください。"
TOKEN_NOT_FOUND = "そのAPIトークンは見つかりません。"

"""Every Japanese sentence the OAuth2 provider shows to people (one catalogue, not scattered)."""

from __future__ import annotations

# an authorization request the hub (or another client) sent wrongly
UNKNOWN_CLIENT = "連携先のアプリが登録されていません（client_id がちがいます）。管理者に連絡してください。"
REDIRECT_URI_MISMATCH = "連携先の戻り先URLが登録と一致しません。管理者に連絡してください。"
CODE_FLOW_ONLY = "response_type は code だけに対応しています。"
NO_STATE = "state がありません。連携先のアプリからもう一度サインインしてください。"
PKCE_REQUIRED = "PKCE（code_challenge_method=S256 と code_challenge）が必要です。"

# a signed-in person the hub does not serve
NOT_IN_NOTEBOOK_CLASS = "ノートブックを使うクラスに登録されていません。先生に確認してください。"

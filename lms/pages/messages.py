"""Every Japanese sentence the sign-in and admin pages show to people (one catalogue, not scattered)."""

from __future__ import annotations

# the administrator's roster upload page
CHOOSE_ONEROSTER_ZIP = "OneRoster の CSV をまとめた zip ファイルを選んでください。"
FILE_TOO_LARGE = "ファイルが大きすぎます（50MBまで）。"
BAD_DATE = "日付は 2026-04-01 の形で入力してください。"

# signing in
OIDC_NOT_CONFIGURED = "学校のアカウントでのサインインは設定されていません。"

"""Every Japanese sentence of the LTI tool: the launch's error pages (what went wrong, what to tell the
portal's administrator) and the administrator's platform page."""

from __future__ import annotations

TOOL_KEY_UNREADABLE = (
    "LTI の署名鍵を読み出せません（GIGA_SECRET_KEY が変わった可能性があります）。"
    "管理者は「LTI 連携」のページで鍵を作り直し、ポータル側に公開鍵を読み直してもらってください。"
)

# the administrator's page
FIELD_REQUIRED = "「{label}」を入力してください。"
URL_MUST_BE_HTTPS = (
    "「{label}」は https:// で始まる URL を入力してください"
    "（ポータルの LTI 設定画面に表示されている値です）。"
)
DISTRICT_UNKNOWN = "選ばれた教育委員会が名簿にありません。名簿を取り込んでから選んでください。"
PLATFORM_EXISTS = (
    "同じ発行者（issuer）とクライアントIDのプラットフォームは「{name}」として登録済みです。"
    "デプロイメントIDを足すときは、一覧からそのプラットフォームを選んでください。"
)
PLATFORM_NOT_FOUND = "そのプラットフォームは登録されていません。"

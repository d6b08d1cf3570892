"""Every Japanese sentence of the LTI tool: the launch's error pages (what went wrong, what to tell the
portal's administrator) and the administrator's platform page."""

from __future__ import annotations

TOOL_KEY_UNREADABLE = (
    "LTI の署名鍵を読み出せません（GIGA_SECRET_KEY が変わった可能性があります）。"
    "管理者は「LTI 連携」のページで鍵を作り直し、ポータル側に公開鍵を読み直してもらってください。"
)

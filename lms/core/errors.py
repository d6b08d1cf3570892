"""Domain errors: each carries its HTTP status and a message a person can act on.

Services raise these; one exception handler (in ``lms.main``) renders them as JSON or an HTML page.
Never put a password or token in a message.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``status_code`` and ``message`` (Japanese or plain, shown to the user)."""

    status_code: int = 400
    default_message: str = "リクエストを処理できませんでした。"

    def __init__(self, message: str | None = None, *, detail: object | None = None) -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)


class InvalidInput(DomainError):
    status_code = 400
    default_message = "入力内容に誤りがあります。"


class Unauthorized(DomainError):
    status_code = 401
    default_message = "サインインが必要です。"


class Forbidden(DomainError):
    status_code = 403
    default_message = "この操作を行う権限がありません。"


class NotFound(DomainError):
    status_code = 404
    default_message = "見つかりません。"


class Conflict(DomainError):
    status_code = 409
    default_message = "ほかの変更と競合しました。もう一度お試しください。"


class TooManyRequests(DomainError):
    status_code = 429
    default_message = "試行回数が多すぎます。しばらく待ってからもう一度お試しください。"


class SchemaOutOfDate(Exception):
    """The database schema is behind the newest migration (start-up refuses to serve it)."""

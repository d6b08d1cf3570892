"""Handlers for domain, HTTP and unexpected errors: JSON for the API, a Japanese page otherwise."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.exc import DisconnectionError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lms.auth.deps import LoginRequired
from lms.core.errors import DomainError
from lms.pages.render import render

TITLES = {
    400: "入力内容を確認してください",
    401: "サインインが必要です",
    403: "この画面は見られません",
    404: "ページが見つかりません",
    405: "この操作はできません",
    409: "ほかの変更と競合しました",
    422: "入力内容を確認してください",
    429: "しばらく待ってください",
    500: "サーバーで問題が起きました",
    503: "いまは使えません",
}
HTTP_MESSAGES = {
    404: "お探しのページは見つかりませんでした。アドレスを確かめるか、ホームにもどってください。",
    405: "この操作はできません。ホームにもどってやりなおしてください。",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/openapi.json")


def error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "エラーが起きました"), "message": message},
        status_code=status,
    )


async def domain_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    if wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        body: dict[str, object] = {"detail": error.message}
        if isinstance(error.detail, list):  # e.g. every `file:line: column: message` of a refused roster
            body["errors"] = [str(item) for item in error.detail]
        return JSONResponse(body, status_code=error.status_code, headers=headers)
    if isinstance(error, LoginRequired) and error.target:
        return RedirectResponse(error.target, status_code=303)
    if isinstance(error, LoginRequired) or error.status_code == 401:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += "?next=" + quote(request.url.path, safe="/")
        if getattr(request.state, "session_expired", False):
            target += ("&" if "?" in target else "?") + "expired=1"
        return RedirectResponse(target, status_code=303)
    return error_page(request, error.status_code, error.message)


async def http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if wants_json(request):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
    message = HTTP_MESSAGES.get(error.status_code, "リクエストを処理できませんでした。")
    return error_page(request, error.status_code, message)


async def validation_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if wants_json(request):
        return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)
    return error_page(request, 400, "入力内容に誤りがあります。もう一度お試しください。")


SERVER_ERROR_MESSAGE = (
    "サーバーで問題が起きました。少し待ってから、もう一度お試しください。続くときは管理者に連絡してください。"
)
DATABASE_DOWN_MESSAGE = "いまサーバーがデータベースにつながりません。少し待ってから、もう一度お試しください。"


async def server_error_handler(request: Request, error: Exception) -> Response:
    """An unexpected error: a Japanese page or JSON with a next step instead of "Internal Server Error";
    503 when the database cannot be reached (a restart, a failover).  The error is still logged: Starlette
    re-raises it after this response."""
    unreachable = isinstance(error, OperationalError | DisconnectionError)
    status = 503 if unreachable else 500
    message = DATABASE_DOWN_MESSAGE if unreachable else SERVER_ERROR_MESSAGE
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    try:
        return error_page(request, status, message)
    except Exception:  # the page itself could not be drawn: still say it in Japanese
        return PlainTextResponse(message, status_code=status)

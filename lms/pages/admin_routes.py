"""Admin pages: roster upload, audit log; API tokens page (staff: their own; admin: all)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from lms.api.queries import AuditFilter, search_audit
from lms.audit.service import record_event
from lms.auth import service
from lms.auth.deps import ClockDep, PageUser, client_ip
from lms.auth.models import API_SCOPES
from lms.core.db import SessionDep
from lms.core.errors import InvalidInput
from lms.core.jst import JST
from lms.pages import messages as msg
from lms.pages.audit_labels import ACTION_LABELS, audit_rows
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.roster.db_refusal import database_refusal
from lms.roster.export import export_zip
from lms.roster.models import User
from lms.roster.oneroster import BundleError
from lms.roster.service import MassChangeRefused, import_bundle

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PAGE_SIZE = 100


async def save_upload(upload: UploadFile, directory: Path) -> Path:
    """Write an uploaded zip to ``directory``; refuse anything that is not a zip or too large."""
    name = Path(upload.filename or "roster.zip").name
    if not name.lower().endswith(".zip"):
        raise InvalidInput(msg.CHOOSE_ONEROSTER_ZIP)
    target = directory / name
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise InvalidInput(msg.FILE_TOO_LARGE)
            out.write(chunk)
    return target


@router.get("/admin/roster")
def roster_page(request: Request, user: PageUser) -> Response:
    return render(request, "admin_roster.html", {})


@router.post("/admin/roster")
async def roster_upload(
    request: Request,
    session: SessionDep,
    user: PageUser,
    bundle: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
    allow_mass_change: Annotated[bool, Form()] = False,
) -> Response:
    with tempfile.TemporaryDirectory(prefix="giga-upload-") as tmp:
        try:
            path = await save_upload(bundle, Path(tmp))
            report = import_bundle(
                session=session,
                path=path,
                actor_id=user.id,
                ip=client_ip(request),
                dry_run=dry_run,
                allow_mass_change=allow_mass_change,
            )
        except BundleError as error:
            session.rollback()
            return render(
                request,
                "admin_roster.html",
                {"error": error.message, "problems": error.problems},
                status_code=400,
            )
        except MassChangeRefused as error:
            session.rollback()
            return render(
                request,
                "admin_roster.html",
                {"mass_change": error.change, "error": error.message},
                status_code=409,
            )
        except InvalidInput as error:
            session.rollback()
            return render(
                request, "admin_roster.html", {"error": error.message, "problems": []}, status_code=400
            )
        except DBAPIError as error:
            session.rollback()  # nothing of the import is kept
            refusal = database_refusal(error)
            if refusal.status_code != 503:  # the database is there: the refusal goes into the audit log
                record_event(
                    session=session,
                    actor_id=user.id,
                    action="roster.import_refused",
                    target_type="oneroster_bundle",
                    target_id=Path(bundle.filename or "roster.zip").name,
                    ip=client_ip(request),
                    detail={"database_error": refusal.error_type},
                )
            return render(
                request,
                "admin_roster.html",
                {"error": refusal.message, "problems": []},
                status_code=refusal.status_code,
            )
    if dry_run:
        session.rollback()
    return render(request, "admin_roster.html", {"report": report})


@router.get("/admin/roster/export")
def roster_export(
    request: Request, session: SessionDep, clock: ClockDep, user: PageUser, for_spreadsheet: bool = False
) -> Response:
    """The current roster as a zip: OneRoster (re-importable, byte-exact) or the copy for spreadsheets."""
    data, counts = export_zip(session, for_spreadsheet=for_spreadsheet)
    kind = "spreadsheet" if for_spreadsheet else "oneroster"
    record_event(
        session=session,
        actor_id=user.id,
        action="roster.export",
        target_type="oneroster_bundle",
        target_id=kind,
        ip=client_ip(request),
        detail={"rows": counts, "for_spreadsheet": for_spreadsheet},
    )
    day = clock.now().astimezone(JST).strftime("%Y%m%d")
    name = f"roster-{day}{'-spreadsheet' if for_spreadsheet else ''}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError as error:
        raise InvalidInput(msg.BAD_DATE) from error
    return day.replace(tzinfo=JST).astimezone(UTC)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    action: str = "",
    actor: str = "",
    date_from: str = "",
    date_to: str = "",
    page: int = 1,
) -> Response:
    until = _parse_day(date_to)
    filters = AuditFilter(
        action=action.strip() or None,
        actor=actor.strip() or None,
        since=_parse_day(date_from),
        until=until + timedelta(days=1) if until else None,
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )
    events, total = search_audit(session=session, filters=filters)
    return render(
        request,
        "admin_audit.html",
        {
            "events": audit_rows(session, events),
            "total": total,
            "page": max(page, 1),
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": {"action": action, "actor": actor, "date_from": date_from, "date_to": date_to},
            "action_choices": sorted(ACTION_LABELS.items(), key=lambda kv: kv[0]),
        },
    )


def _tokens_context(session: SessionDep, user: User, **extra: object) -> dict[str, object]:
    tokens = service.visible_tokens(session=session, actor=user)
    owners = {
        u.id: u.username
        for u in session.exec(select(User).where(col(User.id).in_({t.user_id for t in tokens} or {-1})))
    }
    return {"tokens": tokens, "owners": owners, "scopes": API_SCOPES, **extra}


@router.get("/tokens")
def tokens_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, "tokens.html", _tokens_context(session, user))


@router.post("/tokens")
async def tokens_create(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user: PageUser,
    name: Annotated[str, Form(max_length=100)] = "",
    owner: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    form = await request.form()
    scopes = [str(value) for value in form.getlist("scopes")]
    owner_user = user
    if owner.strip() and owner.strip() != user.username:
        found = session.exec(select(User).where(User.username == owner.strip())).first()
        if found is None or user.role != "admin":
            return render(
                request,
                "tokens.html",
                _tokens_context(session, user, error=msg.NO_TOKEN_FOR_USERNAME),
                status_code=400,
            )
        owner_user = found
    try:
        token, secret = service.create_api_token(
            session=session,
            actor=user,
            owner=owner_user,
            name=name,
            scopes=scopes,
            ip=client_ip(request),
            now=clock.now(),
        )
    except InvalidInput as error:
        return render(
            request, "tokens.html", _tokens_context(session, user, error=error.message), status_code=400
        )
    return render(request, "tokens.html", _tokens_context(session, user, new_secret=secret, new_token=token))


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(
    request: Request, session: SessionDep, clock: ClockDep, user: PageUser, token_id: int
) -> Response:
    service.revoke_api_token(
        session=session, actor=user, token_id=token_id, ip=client_ip(request), now=clock.now()
    )
    return RedirectResponse("/tokens", status_code=303)

"""JSON API routes. Each route's row of the permission matrix is in `lms.permissions.ROUTE_POLICIES`."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from lms import permission_messages as permission_msg
from lms.api.queries import AuditFilter, class_roster, school_names, search_audit, student_counts
from lms.api.schemas import (
    AuditEventPublic,
    AuditPage,
    ClassPublic,
    ClassRoster,
    ImportReportPublic,
    RosterMember,
    SchoolSummary,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserPublic,
)
from lms.auth import messages as auth_msg
from lms.auth import service
from lms.auth.deps import ApiPrincipal, ClockDep, client_ip
from lms.auth.models import ApiToken
from lms.authz import VisibleClassRoster, VisibleUser
from lms.board.roster_sizes import classes_for, schools_for
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, NotFound
from lms.pages.admin_routes import save_upload
from lms.permissions import api_gate, school_summaries, visible_classes_query
from lms.roster.db_refusal import ImportNotWritten, database_refusal
from lms.roster.models import SchoolClass, User
from lms.roster.service import import_bundle

router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(api_gate)])


def user_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def class_public(class_: SchoolClass, *, school_name: str = "", students: int = 0) -> ClassPublic:
    assert class_.id is not None
    return ClassPublic(
        id=class_.id,
        title=class_.title,
        grades=class_.grades,
        class_type=class_.class_type,
        school_id=class_.school_id,
        school_name=school_name,
        status=class_.status,
        read_only=class_.read_only,
        student_count=students,
    )


def token_public(token: ApiToken) -> TokenPublic:
    assert token.id is not None
    return TokenPublic(
        id=token.id,
        user_id=token.user_id,
        name=token.name,
        prefix=token.prefix,
        scopes=token.scope_list,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.get("/me", response_model=UserPublic, summary="The signed-in user (row: own data)")
def me(principal: ApiPrincipal) -> UserPublic:
    return user_public(principal.user)


@router.get(
    "/classes", response_model=list[ClassPublic], summary="Classes visible to the caller (row: class list)"
)
def list_classes(session: SessionDep, principal: ApiPrincipal) -> list[ClassPublic]:
    classes = list(session.exec(visible_classes_query(session, principal.user)))
    counts = student_counts(session=session, class_ids=[c.id for c in classes if c.id is not None])
    names = school_names(session=session, ids={c.school_id for c in classes})
    rows = [
        class_public(c, school_name=names.get(c.school_id, ""), students=counts.get(c.id or 0, 0))
        for c in classes
    ]
    return classes_for(principal.user, rows)  # issue 14: the board gets rounded sizes, no small class


@router.get("/classes/{class_id}", response_model=ClassRoster, summary="A class roster (row: class roster)")
def get_class(session: SessionDep, class_: VisibleClassRoster) -> ClassRoster:
    lines = class_roster(session=session, class_=class_)
    names = school_names(session=session, ids={class_.school_id})
    members = [
        RosterMember(
            user_id=line.user.id or 0,
            role=line.role,
            shusseki_no=line.shusseki_no,
            family_name=line.user.family_name,
            given_name=line.user.given_name,
            kana_family_name=line.user.kana_family_name,
            kana_given_name=line.user.kana_given_name,
        )
        for line in lines
    ]
    students = sum(1 for line in lines if line.role == "student")
    return ClassRoster(
        class_=class_public(class_, school_name=names.get(class_.school_id, ""), students=students),
        members=members,
    )


@router.get("/users/{user_id}", response_model=UserPublic, summary="One user's record (row: individual)")
def get_user(user: VisibleUser) -> UserPublic:
    return user_public(user)


@router.get(
    "/schools", response_model=list[SchoolSummary], summary="Schools with counts only (row: school summary)"
)
def list_schools(session: SessionDep, principal: ApiPrincipal) -> list[SchoolSummary]:
    rows = [SchoolSummary(**row) for row in school_summaries(session, principal.user)]
    return schools_for(principal.user, rows)  # issue 14: the board gets rounded enrolments


@router.post(
    "/roster/import",
    response_model=ImportReportPublic,
    summary="Import a OneRoster zip (row: admin); 400 lists every problem as file:line: column: message",
)
async def roster_import(
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    bundle: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Query(description="check and count, change nothing")] = False,
    allow_mass_change: Annotated[
        bool, Query(description="apply even if more than 10 % of active users would be disabled")
    ] = False,
) -> ImportReportPublic:
    with tempfile.TemporaryDirectory(prefix="giga-upload-") as tmp:
        path = await save_upload(bundle, Path(tmp))
        try:
            report = import_bundle(
                session=session,
                path=path,
                actor_id=principal.user.id,
                ip=client_ip(request),
                dry_run=dry_run,
                allow_mass_change=allow_mass_change,
            )
        except DBAPIError as error:
            session.rollback()  # nothing of the import is kept
            raise ImportNotWritten(database_refusal(error)) from None
    if dry_run:
        session.rollback()
    return ImportReportPublic(**report.as_dict())


@router.get("/audit", response_model=AuditPage, summary="The audit log, newest first (row: admin)")
def audit_log(
    session: SessionDep,
    action: Annotated[str | None, Query(description="action prefix, e.g. auth. or roster.import")] = None,
    actor: Annotated[str | None, Query(description="username of the actor")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    events, total = search_audit(
        session=session,
        filters=AuditFilter(action=action, actor=actor, since=since, until=until, limit=limit, offset=offset),
    )
    return AuditPage(
        total=total,
        events=[
            AuditEventPublic(
                id=event.id or 0,
                at=event.at,
                actor_id=event.actor_id,
                actor_username=username,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                ip=event.ip,
                detail=json.loads(event.detail) if event.detail else None,
            )
            for event, username in events
        ],
    )


@router.get("/tokens", response_model=list[TokenPublic], summary="API tokens (own; admin: all)")
def list_tokens(session: SessionDep, principal: ApiPrincipal) -> list[TokenPublic]:
    return [token_public(t) for t in service.visible_tokens(session=session, actor=principal.user)]


@router.post(
    "/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token (shown once)"
)
def create_token(
    request: Request, session: SessionDep, clock: ClockDep, principal: ApiPrincipal, body: TokenCreate
) -> TokenCreated:
    owner = principal.user
    if body.user_id is not None and body.user_id != owner.id:
        if principal.user.role != "admin":
            raise Forbidden(auth_msg.TOKEN_FOR_OTHERS_ADMIN_ONLY)
        found = session.get(User, body.user_id)
        if found is None:
            raise NotFound(permission_msg.USER_NOT_FOUND)
        owner = found
    token, secret = service.create_api_token(
        session=session,
        actor=principal.user,
        owner=owner,
        name=body.name,
        scopes=body.scopes,
        ip=client_ip(request),
        now=clock.now(),
    )
    return TokenCreated(**token_public(token).model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(
    request: Request, session: SessionDep, clock: ClockDep, principal: ApiPrincipal, token_id: int
) -> Response:
    service.revoke_api_token(
        session=session, actor=principal.user, token_id=token_id, ip=client_ip(request), now=clock.now()
    )
    return Response(status_code=204)

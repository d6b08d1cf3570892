"""``giga admin create USERNAME`` (the first system administrator of an installation) and
``giga sessions purge`` (a periodic job: delete expired sign-in sessions).

Exit codes: 0 success; 2 with one sentence on stderr (username taken, password refused, schema behind,
database unreachable), nothing written. The password is never taken from the command line (it would show in
``ps`` and the shell history): a hidden prompt typed twice, or one line of standard input with
``--password-stdin``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for

if TYPE_CHECKING:
    from lms.core.settings import Settings

admin_app = typer.Typer(
    help="System administrators: local accounts outside the roster.", no_args_is_help=True
)
sessions_app = typer.Typer(help="Sign-in sessions.", no_args_is_help=True)


def _settings_with_current_schema() -> Settings:

    settings = settings_or_exit()
    require_current_schema(settings)
    return settings


def _read_password(from_stdin: bool) -> str:

    if from_stdin:
        if sys.stdin.isatty():
            fail(
                "--password-stdin reads a pipe (e.g. `printf '%s\\n' \"$PW\" | giga admin create …`); "
                "in a terminal leave it out to be asked"
            )
        # One line; only the line ending is removed (spaces inside or around are part of the password).
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    try:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    except typer.Abort:  # end of input before two matching entries
        fail("no password was entered; nothing was created")
    return password


@admin_app.command("create")
def create_admin(
    username: Annotated[str, typer.Argument(help="the sign-in name of the new administrator")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="read the password from the first line of standard input (automation) instead of asking",
        ),
    ] = False,
    family_name: Annotated[str, typer.Option("--family-name", help="姓, shown in the pages")] = "システム",
    given_name: Annotated[str, typer.Option("--given-name", help="名, shown in the pages")] = "管理者",
    kana_family_name: Annotated[
        str, typer.Option("--kana-family-name", help="姓のよみ (katakana)")
    ] = "システム",
    kana_given_name: Annotated[
        str, typer.Option("--kana-given-name", help="名のよみ (katakana)")
    ] = "カンリシャ",
) -> None:
    """Create a system administrator (role admin) with a password; audited as user.create."""
    from sqlalchemy.exc import SQLAlchemyError

    from lms.auth.accounts import AdminNames, check_new_username, create_system_admin
    from lms.core.db import session_scope
    from lms.core.errors import DomainError

    settings = _settings_with_current_schema()
    names = AdminNames(family_name, given_name, kana_family_name, kana_given_name)
    try:
        # A taken username is reported before anyone types a password for it.
        with session_scope(engine_for(settings)) as session:
            check_new_username(session=session, username=username)
        password = _read_password(password_stdin)
        with session_scope(engine_for(settings)) as session:
            user = create_system_admin(session=session, username=username, password=password, names=names)
    except DomainError as error:
        fail(error.message)
    except SQLAlchemyError as error:
        fail(f"cannot write to the database ({type(error).__name__}); nothing was created")
    if "admin" in settings.require_mfa_for_staff_roles:
        second_factor = (
            "at the first sign-in they must set up a second factor (TOTP app) before anything else"
        )
    else:
        second_factor = (
            "a second factor is not required for admins here (GIGA_REQUIRE_MFA_FOR_STAFF_ROLES), "
            "but they can set one up at /mfa/enroll"
        )
    typer.echo(
        f"created system administrator {user.username!r} ({user.display_name}, user id {user.id}); "
        f"{second_factor}."
    )


@admin_app.command("reset-mfa")
def reset_mfa(
    username: Annotated[str, typer.Argument(help="the sign-in name whose second factor is removed")],
) -> None:
    """Remove a user's second factor (lost phone, or GIGA_SECRET_KEY changed); audited as auth.mfa_reset."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import select

    from lms.auth.service import reset_totp
    from lms.core.db import session_scope
    from lms.roster.models import User

    settings = _settings_with_current_schema()
    try:
        with session_scope(engine_for(settings)) as session:
            user = session.exec(select(User).where(User.username == username.strip())).first()
            if user is None:
                fail(f"no user is named {username.strip()!r}; nothing was changed")
            had_factor = user.totp_enabled
            reset_totp(session=session, actor_id=None, user=user, ip=None)
    except SQLAlchemyError as error:
        fail(f"cannot write to the database ({type(error).__name__}); nothing was changed")
    state = "removed their second factor" if had_factor else "cleared a second factor that was not set up"
    typer.echo(f"{state} for {username.strip()!r}; they set it up again at the next sign-in.")


@sessions_app.command("purge")
def purge_sessions() -> None:
    """Delete sign-in sessions past their idle or absolute timeout (run it daily)."""
    from sqlalchemy.exc import SQLAlchemyError

    from lms.auth.sessions import purge_expired_sessions
    from lms.core.clock import Clock
    from lms.core.db import session_scope

    settings = _settings_with_current_schema()
    try:
        with session_scope(engine_for(settings)) as session:
            removed = purge_expired_sessions(session=session, settings=settings, now=Clock().now())
    except SQLAlchemyError as error:
        fail(f"cannot purge the sessions ({type(error).__name__}); nothing was removed")
    typer.echo(
        f"removed {removed} expired sign-in session(s) (idle > {settings.session_idle_timeout_minutes} min "
        f"or older than {settings.session_absolute_timeout_minutes} min)"
    )

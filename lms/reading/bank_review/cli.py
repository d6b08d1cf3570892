"""``giga items apply-reviews`` and ``giga items reviewers grant|revoke|list``: the database side of the item
review.  `lms.cli` registers them on the ``giga items`` group next to the pure `reading_tests` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for

reviewers_app = typer.Typer(help="Who may review draft items in the LMS (the item-reviewer capability).")


def apply_reviews_command(
    bank: Annotated[Path | None, typer.Option("--bank", help="Item bank folder (default: shipped).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be written.")] = False,
) -> None:
    """Write the approvals made on the LMS's review page into the bank's files (review block, status
    reviewed); list sent-back items with the reviewers' comments.  Commit the changed files afterwards."""
    from lms.core.db import session_scope, utc_now
    from lms.reading.bank_review.apply import apply_reviews

    settings = settings_or_exit()
    require_current_schema(settings)
    if bank is not None and not bank.is_dir():
        fail(f"no item bank folder at {bank}")
    with session_scope(engine_for(settings)) as session:
        result = apply_reviews(session, bank=bank, dry_run=dry_run, now=utc_now())
    verb = "to write (dry run, nothing changed)" if dry_run else "written"
    typer.echo(f"{len(result.written)} approvals {verb}" + "".join(f"\n  {w}" for w in result.written))
    for item_id in result.stale:
        typer.echo(f"  {item_id}: changed since its review — not written; review it again on the page")
    for item_id in result.superseded:
        typer.echo(f"  {item_id}: not a draft any more or decided again — skipped")
    for item_id in result.missing:
        typer.echo(f"  {item_id}: no such file in this bank — skipped")
    if result.sent_back:
        typer.echo(f"{len(result.sent_back)} items sent back to their authors:")
        for line in result.sent_back:
            typer.echo(f"  {line}")


@reviewers_app.command("grant")
def grant_command(username: Annotated[str, typer.Argument(help="The staff account's user name.")]) -> None:
    """Let a teacher, school admin or board account review draft items of its district (audited)."""
    from lms.core.db import session_scope
    from lms.core.errors import DomainError
    from lms.reading.bank_review.service import grant_reviewer

    settings = settings_or_exit()
    require_current_schema(settings)
    try:
        with session_scope(engine_for(settings)) as session:
            grant_reviewer(session, username=username, by=None)
    except DomainError as error:
        fail(error.message)
    typer.echo(f"{username} may now review draft items")


@reviewers_app.command("revoke")
def revoke_command(username: Annotated[str, typer.Argument(help="The staff account's user name.")]) -> None:
    """Take the capability away (audited)."""
    from lms.core.db import session_scope
    from lms.reading.bank_review.service import revoke_reviewer

    settings = settings_or_exit()
    require_current_schema(settings)
    with session_scope(engine_for(settings)) as session:
        had = revoke_reviewer(session, username=username, by=None)
    typer.echo(f"{username}: " + ("capability revoked" if had else "was not a reviewer"))


@reviewers_app.command("list")
def list_command() -> None:
    """Everyone holding the capability, with the grant's date."""
    from sqlmodel import select

    from lms.core.db import session_scope
    from lms.reading.bank_review.models import ItemReviewer
    from lms.roster.models import User

    settings = settings_or_exit()
    require_current_schema(settings)
    with session_scope(engine_for(settings)) as session:
        rows = session.exec(select(ItemReviewer, User).where(ItemReviewer.user_id == User.id)).all()
        for grant, user in rows:
            typer.echo(f"{user.username}\t{user.role}\t{grant.granted_at:%Y-%m-%d}")

"""The reviewer's pages: the queue of draft items by skill × band, and one item's checklist with the
decision (row ``ITEM_REVIEW`` of the permission matrix; the capability is checked in the service)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lms.auth.deps import ClockDep, PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading.bank_review import messages as msg
from lms.reading.bank_review import returns, service
from lms.reading.messages import SKILL_NAMES_JA
from reading_tests.items import BANDS, REVIEW_CHECKS, SKILLS

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

BAND_LABELS = {"P1-2": "小1〜2", "P3-4": "小3〜4", "P5-6": "小5〜6", "J1-3": "中1〜3"}
COMMON = {
    "SKILLS": SKILLS,
    "BANDS": tuple(BANDS),
    "BAND_LABELS": BAND_LABELS,
    "SKILL_NAMES": SKILL_NAMES_JA,
    "CHECKS": REVIEW_CHECKS,
    "CHECK_LABELS": msg.CHECK_LABELS,
    "DECISION_LABELS": msg.DECISION_LABELS,
}


@router.get("/bank/review")
def queue_page(
    request: Request, session: SessionDep, user: PageUser, skill: str = "", band: str = ""
) -> Response:
    service.require_reviewer(session, user)
    queue = service.review_queue(session, user)
    chosen = queue.cells.get((skill, band))
    context = {"queue": queue, "chosen": chosen, "done": request.query_params.get("done")}
    return render(request, "bank_review_queue.html", {**COMMON, **context})


def _item_page(
    request: Request, session: SessionDep, item_id: str, error: DomainError | None, form: Mapping[str, object]
) -> Response:
    view = service.item_view(session, service.find_item(item_id))
    context = {**view, "error": error.message if error else None, "form": form}
    status = error.status_code if error else 200
    return render(request, "bank_review_item.html", {**COMMON, **context}, status_code=status)


@router.get("/bank/review/{item_id}")
def item_page(request: Request, session: SessionDep, user: PageUser, item_id: str) -> Response:
    service.require_reviewer(session, user)
    item = service.find_item(item_id)
    if service.author_of(item) == user.username:
        raise Forbidden(msg.OWN_ITEM)
    return _item_page(request, session, item_id, None, {})


@router.post("/bank/review/{item_id}")
async def decide(
    request: Request, session: SessionDep, user: PageUser, clock: ClockDep, item_id: str
) -> Response:
    service.require_reviewer(session, user)
    raw = await request.form()
    checks = [str(v) for v in raw.getlist("checks")]
    form = {
        "checks": checks,
        "comment": str(raw.get("comment") or ""),
        "decision": str(raw.get("decision") or ""),
    }
    try:
        row = service.decide(
            session,
            reviewer=user,
            item_id=item_id,
            decision=str(form["decision"]),
            checks=checks,
            comment=str(form["comment"]),
            digest=str(raw.get("digest") or ""),
            now=clock.now(),
            ip=client_ip(request),
        )
    except (InvalidInput, Conflict) as error:
        service.find_item(item_id)  # an unknown item stays a 404
        return _item_page(request, session, item_id, error, form)
    item = service.find_item(item_id)
    target = f"/bank/review?skill={item.skill}&band={item.grade_band}&done={row.item_id}"
    return RedirectResponse(target, status_code=303)


# --- sent-back notices: the author and the reviewers of an item sent back (lms.reading.bank_review.returns)


@router.get("/bank/returned")
def returned_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    entries = returns.sent_back_for(session, user)
    return render(request, "bank_review_returned.html", {**COMMON, "entries": entries})


@router.get("/bank/returned/{item_id}")
def returned_item_page(request: Request, session: SessionDep, user: PageUser, item_id: str) -> Response:
    entry = returns.sent_back_item(session, user, item_id)
    view = service.item_view(session, entry.item)
    assert entry.item.path is not None
    file = entry.item.path.relative_to(entry.item.path.parents[2]).as_posix()
    context = {**COMMON, **view, "entry": entry, "file": file}
    return render(request, "bank_review_returned_item.html", context)

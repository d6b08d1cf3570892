"""The review workflow of an item: draft → reviewed → pilot → operational (→ retired).

Who may move an item, and what is stored (the ``review`` block of the item file):

* **draft → reviewed** (:func:`record_review`): a second person — never the author in ``review.written_by``
  — records the checks of :data:`~reading_tests.items.REVIEW_CHECKS` they did; with all five the status
  becomes ``reviewed``, with fewer the review is stored and the item stays ``draft``.
* **reviewed → pilot** (:func:`set_status`): the item is given to students to collect responses.
* **pilot → operational**: only by the psychometrics role, only when the item's ``irt`` block comes from a
  calibration of real responses (``provisional: false``) with at least :data:`MIN_CALIBRATION_N` of them
  (DESIGN §5.2); the approver and the date are stored as ``review.approved_by`` / ``approved_on``.
* any → retired, by anyone who may edit the bank; retired items are never used again.

Files are edited in place: only the ``status`` line and the ``review`` block change, everything else the
author wrote stays byte for byte.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reading_tests.errors import InvalidInput
from reading_tests.items import REVIEW_CHECKS, TOOL_BLOCKS, Item, compose_located, dump_yaml, validate_file
from reading_tests.items import Report as _Report

MIN_CALIBRATION_N = 500
ROLES: tuple[str, ...] = ("author", "reviewer", "psychometrics")
#: Allowed status changes through :func:`set_status` (draft → reviewed goes through :func:`record_review`).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("retired",),
    "reviewed": ("pilot", "draft", "retired"),
    "pilot": ("operational", "reviewed", "retired"),
    "operational": ("retired",),
    "retired": (),
}


def _load(path: Path) -> Item:
    report = _Report()
    item = validate_file(path, report)
    if item is None:
        first = report.errors[0] if report.errors else "invalid item"
        raise InvalidInput(f"{first}; fix the item before changing its status")
    return item


def replace_top_level(path: Path, values: Mapping[str, Any]) -> None:
    """Replace (or add) top-level keys of an item file, keeping every other line byte for byte.

    A key that is absent is inserted before the tool-written blocks (``ruby``, ``readability``, ``irt``).
    """
    text = path.read_text(encoding="utf-8")
    doc = compose_located(text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    replaced: dict[int, str] = {}
    drop: set[int] = set()
    missing: list[str] = []
    for name, value in values.items():
        # scalars in block style (status: reviewed), mappings as the bank writes them
        chunk = dump_yaml({name: value}) if isinstance(value, dict) else f"{name}: {value}\n"
        if name in doc.top_spans:
            start, end = doc.top_spans[name]
            # keep blank lines and comments that trail the old block (they belong to the next key)
            while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
                end -= 1
            replaced[start] = chunk
            drop.update(range(start + 1, end))
        else:
            missing.append(chunk)
    tool_starts = [doc.top_spans[n][0] for n in TOOL_BLOCKS if n in doc.top_spans]
    insert_at = min(tool_starts) if tool_starts else len(lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        if i == insert_at:
            out += missing
        if i in drop:
            continue
        out.append(replaced.get(i, line))
    if insert_at >= len(lines):
        out += missing
    path.write_text("".join(out), encoding="utf-8")


def _review_data(item: Item) -> dict[str, Any]:
    review = item.review
    if review is None:
        return {}
    data: dict[str, Any] = {
        "written_by": review.written_by,
        "reviewed_by": review.reviewed_by,
        "reviewed_on": review.reviewed_on,
        "checks": list(review.checks),
    }
    if review.notes:
        data["notes"] = review.notes
    if review.approved_by:
        data["approved_by"] = review.approved_by
        data["approved_on"] = review.approved_on
    return data


def record_review(
    path: Path,
    *,
    reviewer: str,
    checks: Sequence[str],
    author: str | None = None,
    notes: str | None = None,
    today: dt.date | None = None,
) -> Item:
    """Store a second person's review; the item becomes ``reviewed`` when every check was done.

    Raises
    ------
    InvalidInput
        Unknown check, an item that is not a draft, no known author, or the author reviewing their own item.
    """
    item = _load(path)
    unknown = [c for c in checks if c not in REVIEW_CHECKS]
    if unknown:
        raise InvalidInput(f"unknown check {unknown[0]!r}: use {', '.join(REVIEW_CHECKS)}")
    if not checks:
        raise InvalidInput(f"name the checks you did with --checks (of {', '.join(REVIEW_CHECKS)})")
    if item.status != "draft":
        raise InvalidInput(f"{item.id} is {item.status}, not draft: only a draft is reviewed")
    written_by = item.review.written_by if item.review is not None else author
    if author is not None and item.review is not None and author != item.review.written_by:
        raise InvalidInput(f"{item.id} was written by {item.review.written_by}, not {author}")
    if not written_by:
        raise InvalidInput(f"{item.id} has no review.written_by: give the author with --author")
    if reviewer.strip() == written_by.strip():
        raise InvalidInput(f"{reviewer} wrote {item.id}: a second person must review it")
    done = list(dict.fromkeys(c for c in REVIEW_CHECKS if c in checks))
    review: dict[str, Any] = {
        "written_by": written_by,
        "reviewed_by": reviewer,
        "reviewed_on": (today or dt.date.today()).isoformat(),
        "checks": done,
    }
    if notes:
        review["notes"] = notes
    values: dict[str, Any] = {"review": review}
    if set(done) == set(REVIEW_CHECKS):
        values["status"] = "reviewed"
    replace_top_level(path, values)
    return _load(path)


def set_status(path: Path, *, status: str, by: str, role: str, today: dt.date | None = None) -> Item:
    """Move an item along :data:`TRANSITIONS`; ``operational`` needs the psychometrics role and real data."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use {', '.join(ROLES)}")
    item = _load(path)
    if status == "reviewed" and item.status == "draft":
        raise InvalidInput("a draft becomes reviewed through `giga items review` by a second person")
    if status not in TRANSITIONS.get(item.status, ()):
        allowed = ", ".join(TRANSITIONS.get(item.status, ())) or "nothing"
        raise InvalidInput(f"{item.id} is {item.status}: it may become {allowed}, not {status}")
    values: dict[str, Any] = {"status": status}
    if status == "operational":
        if role != "psychometrics":
            raise InvalidInput("only the psychometrics role may make an item operational")
        irt = item.irt
        if irt is None or irt.provisional or irt.n < MIN_CALIBRATION_N:
            have = "no irt block" if irt is None else f"provisional={irt.provisional}, n={irt.n}"
            raise InvalidInput(
                f"{item.id} needs parameters calibrated on ≥ {MIN_CALIBRATION_N} real responses "
                f"(it has {have}); run the pilot calibration first"
            )
        review = _review_data(item)
        review["approved_by"] = by
        review["approved_on"] = (today or dt.date.today()).isoformat()
        values["review"] = review
    replace_top_level(path, values)
    return _load(path)

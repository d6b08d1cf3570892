"""Online calibration: pilot items calibrated from live responses, anchored on the operational items.

Data
    Every stored response of a non-reset attempt to an operational or a pilot item; one attempt is one
    response vector (a child's ability may differ between tests).  Pilot responses were stored unscored
    (``response.pilot``) but are data for calibration like any other.
Model
    `reading_tests.calibration.calibrate` by MML with the operational items as anchors (their parameters
    fixed, the latent mean and SD estimated), so the new items land on the operational scale.  Pilot items
    are calibrated per format group with that group's prior on the lower asymptote
    (`reading_tests.pilot.C_PRIORS`), as in the initial pilot.  Without any operational item answered, the
    scale is fixed by θ ~ N(0, 1) and the row says ``anchored = False``.
Report
    `reading_tests.calibration_report.calibrate_with_report` per format group, with the options the children
    chose (the distractor check): log-likelihood, AIC/BIC, convergence, latent mean/SD and named warnings
    (``miskey``, ``distractor_beats_key``, ``separation`` …).  The same report `giga irt calibrate --report`
    writes; the CLI writes it with ``--report``, and each row keeps its item's warnings and ``converged``.
Fit
    `reading_tests.fit.item_fit` (leave-one-out χ², RMSD, infit/outfit) of each new item, stored with it.
Promotion
    A teacher, school admin or admin promotes a candidate: the item becomes operational with the new
    parameters (older promotions of the item are superseded), audited as ``item.promote``.  A candidate with a
    blocking warning (a suspected miskey, an unidentified slope, no SE) or from a run that did not converge is
    refused: the item needs a reviewer first, not a number.  The running
    process's bank is refreshed at once; other processes apply promotions when they start
    (`apply_promotions`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from sqlalchemy import update
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.reading import delivery as dl
from lms.reading.calibration import messages as msg
from lms.reading.calibration.models import ItemCalibration
from lms.reading.models import Attempt, Response
from lms.roster.models import User
from reading_tests.calibration_report import UNIDENTIFIED, CalibrationReport, calibrate_with_report
from reading_tests.errors import InvalidInput as EngineInvalidInput
from reading_tests.fit import item_fit
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import MODELS
from reading_tests.items import IrtParams, Item, ItemBank
from reading_tests.pilot import C_PRIORS

DEFAULT_MIN_RESPONSES = 500
# Findings after which the parameters must not be used (the item needs a reviewer, not a promotion).
BLOCKING_WARNINGS = frozenset(
    {"miskey", "distractor_beats_key", "separation", "se_unavailable", "extreme_difficulty"}
)
PROMOTERS = ("teacher", "school_admin", "admin")


@dataclass
class RecalibrationReport:
    """What one run did: new candidate rows, items left out (and why), and the data it used."""

    calibrated: list[ItemCalibration] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    promoted: list[str] = field(default_factory=list)
    n_anchors: int = 0
    n_attempts: int = 0
    n_responses: int = 0
    reports: dict[str, CalibrationReport] = field(default_factory=dict)  # per format group

    @property
    def converged(self) -> bool:
        return all(r.converged for r in self.reports.values())

    def to_dict(self) -> dict[str, object]:
        """The machine-readable report (`giga irt recalibrate --report`): one calibration report per group."""
        return {
            "n_anchors": self.n_anchors,
            "n_attempts": self.n_attempts,
            "n_responses": self.n_responses,
            "converged": self.converged,
            "skipped": dict(sorted(self.skipped.items())),
            "promoted": list(self.promoted),
            "groups": {group: report.to_dict() for group, report in self.reports.items()},
        }


def _format_group(fmt: str) -> str:
    return fmt if fmt in ("same_different", "select_all") else "choice"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def response_data(
    session: Session, item_ids: Iterable[str]
) -> tuple[ResponseData, dict[tuple[str, str], str]]:
    """Responses to ``item_ids`` from every non-reset attempt, one row per attempt, and the options chosen
    (``(attempt id, item id) → "A"`` or ``"A,C"`` for select-all) for the distractor check."""
    wanted = sorted(set(item_ids))
    rows = session.exec(
        select(Response.attempt_id, Response.item_id, Response.correct, Response.answer)
        .join(Attempt, col(Attempt.id) == col(Response.attempt_id))
        .where(col(Response.item_id).in_(wanted or ["-"]), Attempt.status != "reset")
        .order_by(col(Response.attempt_id))
    ).all()
    attempts = sorted({int(a) for a, _i, _c, _x in rows})
    row_of = {a: k for k, a in enumerate(attempts)}
    col_of = {i: j for j, i in enumerate(wanted)}
    data = ResponseData.from_triplets(
        [row_of[int(a)] for a, _i, _c, _x in rows],
        [col_of[i] for _a, i, _c, _x in rows],
        [1 if c else 0 for _a, _i, c, _x in rows],
        [str(a) for a in attempts],
        wanted,
    )
    choices = {(str(a), i): ",".join(sorted(x or [])) for a, i, _c, x in rows}
    return data, choices


def _anchor_params(items: Sequence[Item]) -> ItemParams:
    params = [i.irt for i in items if i.irt is not None]
    return ItemParams.create(
        [i.id for i in items if i.irt is not None],
        [p.a for p in params],
        [p.b for p in params],
        [p.c for p in params],
        model=[p.model for p in params],
    )


def recalibrate(
    *,
    session: Session,
    bank: ItemBank,
    now: datetime,
    min_responses: int = DEFAULT_MIN_RESPONSES,
    model: str = "3pl",
    actor: User | None = None,
    promote_fitting: bool = False,
) -> RecalibrationReport:
    """Calibrate every pilot item with at least ``min_responses`` responses; store candidate rows.

    With ``promote_fitting`` the new calibrations without a misfit flag are promoted at once.
    """
    if model not in MODELS:
        raise InvalidInput(f"unknown model '{model}' (use 1pl, 2pl or 3pl)")
    if min_responses < 1:
        raise InvalidInput("--min-responses must be at least 1")
    report = RecalibrationReport()
    anchors = [i for i in bank if i.status == "operational" and i.irt is not None]
    pilots = [i for i in bank if i.status == "pilot"]
    data, choices = response_data(session, [i.id for i in anchors] + [i.id for i in pilots])
    counts = dict(zip(data.item_ids, data.responses_per_item().tolist(), strict=True))
    correct = dict(zip(data.item_ids, np.asarray(data.correct.sum(axis=0)).ravel().tolist(), strict=True))
    eligible: list[Item] = []
    for item in pilots:
        n = int(counts.get(item.id, 0))
        if n < min_responses:
            if n:
                report.skipped[item.id] = f"{n} responses (fewer than {min_responses})"
            continue
        if correct[item.id] in (0, n):
            report.skipped[item.id] = (
                "every response is correct" if correct[item.id] else "every response is wrong"
            )
            continue
        eligible.append(item)
    anchor_ids = [i.id for i in anchors if counts.get(i.id, 0) > 0]
    report.n_anchors = len(anchor_ids)
    if not eligible:
        return report
    anchor_params = _anchor_params([i for i in anchors if i.id in set(anchor_ids)]) if anchor_ids else None
    used_attempts: set[int] = set()
    for group in ("choice", "same_different", "select_all"):
        members = [i for i in eligible if _format_group(i.format) == group]
        if not members:
            continue
        sub = data.subset_items(anchor_ids + [i.id for i in members])
        keep = np.flatnonzero(sub.items_per_student() > 0)
        used_attempts.update(int(sub.student_ids[k]) for k in keep.tolist())
        try:
            result, fit_report = calibrate_with_report(
                sub, model, anchors=anchor_params, c_prior=C_PRIORS[group], choices=choices
            )
            fit = item_fit(sub, result.params)
        except EngineInvalidInput as error:
            for item in members:
                report.skipped[item.id] = str(error)
            continue
        report.reports[group] = fit_report
        unidentified = [w for w in fit_report.warnings if w.code in UNIDENTIFIED]
        if unidentified:  # the whole group's parameters are not identified: no candidate rows
            for item in members:
                report.skipped[item.id] = unidentified[0].message
            continue
        pos = result.params.index
        fit_pos = {item_id: j for j, item_id in enumerate(fit.item_ids)}
        for item in members:
            j, f = pos[item.id], fit_pos[item.id]
            row = ItemCalibration(
                item_id=item.id,
                model=model,
                a=float(result.params.a[j]),
                b=float(result.params.b[j]),
                c=float(result.params.c[j]),
                se_a=_finite(result.params.se_a[j]),
                se_b=_finite(result.params.se_b[j]),
                se_c=_finite(result.params.se_c[j]),
                n=int(counts[item.id]),
                n_students=int(keep.size),
                anchored=anchor_params is not None,
                n_anchors=len(anchor_ids),
                latent_mean=float(result.latent_mean),
                latent_sd=float(result.latent_sd),
                loglik=_finite(result.loglik),
                fit_chi2=_finite(fit.chi2[f]),
                fit_df=int(fit.df[f]),
                fit_p=_finite(fit.p_value[f]),
                fit_rmsd=_finite(fit.rmsd[f]),
                infit=_finite(fit.infit[f]),
                outfit=_finite(fit.outfit[f]),
                misfit=bool(fit.misfit[f]),
                converged=fit_report.converged,
                warnings=[
                    {"code": w.code, "message": w.message, "value": _finite(w.value or math.nan)}
                    for w in fit_report.warnings
                    if w.item_id == item.id
                ],
                calibrated_at=now,
                calibrated_by_id=actor.id if actor else None,
            )
            _supersede(session, item.id, statuses=("candidate",))
            session.add(row)
            report.calibrated.append(row)
    report.n_attempts = len(used_attempts)
    report.n_responses = int(sum(counts.get(i, 0) for i in anchor_ids + [i.id for i in eligible]))
    session.flush()
    if promote_fitting:
        for row in report.calibrated:
            if not row.misfit and promotable(row) is None:
                promote(session=session, calibration=row, actor=actor, now=now, refresh=False)
                report.promoted.append(row.item_id)
        if report.promoted:
            refresh_process_bank(session)
    return report


def _supersede(session: Session, item_id: str, *, statuses: Sequence[str]) -> None:
    session.execute(
        update(ItemCalibration)
        .where(col(ItemCalibration.item_id) == item_id, col(ItemCalibration.status).in_(list(statuses)))
        .values(status="superseded")
        .execution_options(synchronize_session=False)
    )


def promotable(row: ItemCalibration) -> str | None:
    """None when the row may be promoted, else why not (Japanese, for the teacher's screen)."""
    if not row.converged:
        return msg.NOT_CONVERGED
    blocking = [w for w in row.warnings if w.get("code") in BLOCKING_WARNINGS]
    if blocking:
        reasons = "／".join(str(w.get("message") or w.get("code")) for w in blocking)
        return msg.NEEDS_CHECKING.format(item_id=row.item_id, reasons=reasons)
    return None


def promote(
    *,
    session: Session,
    calibration: ItemCalibration,
    actor: User | None,
    now: datetime,
    ip: str | None = None,
    refresh: bool = True,
) -> ItemCalibration:
    """Make the item operational with these parameters (audited as ``item.promote``)."""
    if actor is not None and actor.role not in PROMOTERS:
        raise Forbidden(msg.ONLY_STAFF_PROMOTE)
    if calibration.status != "candidate":
        raise Conflict(msg.CALIBRATION_NOT_USABLE.format(status=calibration.status))
    refusal = promotable(calibration)
    if refusal is not None:
        raise Conflict(refusal)
    _supersede(session, calibration.item_id, statuses=("promoted",))
    session.flush()
    calibration.status = "promoted"
    calibration.promoted_at = now
    calibration.promoted_by_id = actor.id if actor else None
    session.add(calibration)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id if actor else None,
        action="item.promote",
        target_type="item",
        target_id=calibration.item_id,
        ip=ip,
        detail={
            "calibration_id": calibration.id,
            "a": calibration.a,
            "b": calibration.b,
            "c": calibration.c,
            "n": calibration.n,
            "misfit": calibration.misfit,
            "anchored": calibration.anchored,
            "warnings": [w.get("code") for w in calibration.warnings],
        },
    )
    if refresh:
        refresh_process_bank(session)
    return calibration


def promote_by_id(
    *, session: Session, calibration_id: int, actor: User, now: datetime, ip: str | None = None
) -> ItemCalibration:
    row = session.get(ItemCalibration, calibration_id)
    if row is None:
        raise NotFound(msg.CALIBRATION_NOT_FOUND)
    return promote(session=session, calibration=row, actor=actor, now=now, ip=ip)


def list_calibrations(
    *, session: Session, status: str | None = None, limit: int = 500
) -> list[ItemCalibration]:
    query = select(ItemCalibration).order_by(col(ItemCalibration.id).desc()).limit(limit)
    if status:
        query = query.where(ItemCalibration.status == status)
    return list(session.exec(query))


def effective_bank(session: Session, bank: ItemBank) -> ItemBank:
    """``bank`` with every promoted calibration applied: status operational, the new parameters."""
    promoted = session.exec(
        select(ItemCalibration).where(ItemCalibration.status == "promoted").order_by(col(ItemCalibration.id))
    ).all()
    latest = {row.item_id: row for row in promoted}
    if not latest:
        return bank
    items = []
    for item in bank:
        row = latest.get(item.id)
        if row is None:
            items.append(item)
            continue
        params = IrtParams(
            model=row.model,
            a=row.a,
            b=row.b,
            c=row.c,
            se_a=row.se_a,
            se_b=row.se_b,
            se_c=row.se_c,
            n=row.n,
            provisional=False,
            source=f"online calibration {row.calibrated_at:%Y-%m-%d} (n={row.n}, "
            f"{'anchored' if row.anchored else 'not anchored'})",
        )
        items.append(replace(item, status="operational", irt=params))
    return ItemBank(items, root=bank.root)


def refresh_process_bank(session: Session) -> None:
    """Apply the promotions to this process's bank (the delivery caches are cleared with it)."""
    dl.set_item_bank(effective_bank(session, dl.item_bank()))


def apply_promotions(session: Session) -> int:
    """At start-up: apply promoted calibrations to the process's bank; the number of promoted items."""
    count = len(
        set(session.exec(select(ItemCalibration.item_id).where(ItemCalibration.status == "promoted")))
    )
    if count:
        refresh_process_bank(session)
    return count

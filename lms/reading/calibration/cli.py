"""``giga irt recalibrate``: calibrate pilot items from the responses in the LMS database.

`lms.cli` registers it on the ``giga irt`` group, next to the pure `reading_tests` commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def recalibrate_command(
    min_responses: Annotated[
        int, typer.Option("--min-responses", help="calibrate pilot items with at least this many responses")
    ] = 500,
    model: Annotated[
        str, typer.Option("--model", help="item model of the pilot items: 1pl, 2pl or 3pl")
    ] = "3pl",
    promote: Annotated[
        bool, typer.Option("--promote", help="make every new calibration without misfit operational at once")
    ] = False,
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="write the calibration report (fit indices, convergence, named warnings per group) as JSON",
        ),
    ] = None,
) -> None:
    """Calibrate pilot items from live responses with the operational items as anchors; report fit.

    Exit 3 when a group's calibration did not converge (its rows are stored but cannot be promoted).
    """
    from lms.core.db import session_scope, utc_now
    from lms.core.errors import DomainError
    from lms.ops.locks import job_lock
    from lms.reading import delivery as dl
    from lms.reading.calibration.service import apply_promotions, promotable, recalibrate

    settings = settings_or_exit()
    require_current_schema(settings)
    try:
        # one recalibration at a time across every process and machine (a second one is refused at once)
        with job_lock(engine_for(settings), "calibration"), session_scope(engine_for(settings)) as session:
            apply_promotions(session)
            report = recalibrate(
                session=session,
                bank=dl.item_bank(),
                now=utc_now(),
                min_responses=min_responses,
                model=model,
                promote_fitting=promote,
            )
    except DomainError as error:
        fail(error.message)
    scale = "anchored on" if report.n_anchors else "NOT anchored (no operational item answered);"
    typer.echo(
        f"{len(report.calibrated)} pilot item(s) calibrated from {report.n_attempts} attempts, "
        f"{scale} {report.n_anchors} operational item(s)"
    )
    if report.calibrated:
        typer.echo("item_id    model      a      b      c   se_b      n  rmsd  fit_p   misfit  id")
        for row in report.calibrated:
            typer.echo(
                f"{row.item_id:<10} {row.model:<5} {row.a:6.3f} {row.b:6.3f} {row.c:6.3f} "
                f"{_fmt(row.se_b):>6} {row.n:6d} {_fmt(row.fit_rmsd):>5} {_fmt(row.fit_p, 4):>6}   "
                f"{'yes' if row.misfit else 'no':<6} {row.id}"
            )
        first = report.calibrated[0]
        typer.echo(
            f"latent distribution of the sample: mean {first.latent_mean:.3f}, sd {first.latent_sd:.3f}"
        )
    for group, group_report in report.reports.items():
        typer.echo(
            f"{group}: loglik {group_report.loglik:.1f}, {group_report.n_parameters} parameters, "
            f"AIC {group_report.aic:.1f}, BIC {group_report.bic:.1f}, "
            f"{'converged' if group_report.converged else 'NOT converged'} "
            f"after {group_report.iterations} iterations"
        )
    for row in report.calibrated:
        for warning in row.warnings:
            typer.echo(f"warning {row.item_id}: {warning.get('code')} — {warning.get('message')}")
        if promotable(row) is not None:
            typer.echo(f"not promotable {row.item_id}: needs a review (see the warnings above)")
    for item_id, reason in sorted(report.skipped.items()):
        typer.echo(f"skipped {item_id}: {reason}")
    if report.promoted:
        typer.echo(f"promoted to operational: {', '.join(report.promoted)}")
    elif report.calibrated:
        typer.echo("candidates stored; promote with --promote or POST /api/v1/calibrations/{id}/promote")
    if report_path is not None:
        try:
            text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
            report_path.write_text(text, encoding="utf-8")
        except OSError as error:
            fail(f"cannot write the report to {report_path}: {error.strerror}")
        typer.echo(f"report written to {report_path}")
    if not report.converged:
        typer.echo("the calibration did not converge: rows stored, none promotable", err=True)
        raise typer.Exit(3)

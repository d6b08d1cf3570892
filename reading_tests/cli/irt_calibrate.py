"""``giga irt calibrate``: item calibration by marginal maximum likelihood (DESIGN §5.3)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput

EXIT_NOT_CONVERGED = 3

MODEL_HELP = (
    "Item model: rasch (a = 1), 1pl (one common slope, estimated — not Rasch), 2pl, or 3pl "
    "(a penalised fit: Beta prior on c and normal prior on log a, see --c-prior/--log-a-prior)."
)
SE_HELP = (
    "Standard errors from the observed information: louis (Louis's identity, all cross-item terms; "
    "exact), exact (numerical derivative of the exact gradient; slow reference), block (Louis per item; "
    "fast but too small by up to ~25 % on long complete forms), none, or auto (default): exact for tiny "
    "problems, louis while 3 × students × items² × nodes ≤ 2·10¹⁰ and items ≤ ~450 "
    "(e.g. 5,000 × 80 or 40,000 × 50), else block."
)


def _pair(text: str, option: str) -> tuple[float, float] | None:
    if text.strip().lower() == "none":
        return None
    try:
        first, second = (float(x) for x in text.split(","))
    except ValueError:
        raise InvalidInput(f"{option} must be two numbers 'x,y' or 'none' (got {text!r})") from None
    if not (math.isfinite(first) and math.isfinite(second)):
        raise InvalidInput(f"{option} must be finite numbers (got {text!r})")
    return first, second


@irt_app.command("calibrate")
@exits_2_on_invalid_input
def calibrate_command(
    responses: Annotated[Path, typer.Argument(help="Responses CSV: student_id,item_id,response (or wide).")],
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Where to write item_id,model,a,b,c,se_a,se_b,se_c,n.")],
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Parameters CSV of anchor items to hold fixed.")
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="RESPONSES is in wide form (one column per item).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write a JSON report: fit indices (AIC, BIC, G²) and named item warnings."
        ),
    ] = None,
    se: Annotated[str, typer.Option("--se", help=SE_HELP)] = "auto",
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", help="Quadrature nodes on [−6, 6] (default: chosen from the data, ≥ 41)."),
    ] = None,
    tol: Annotated[float, typer.Option("--tol", help="Convergence tolerance on the parameters.")] = 1e-4,
    max_iter: Annotated[int, typer.Option("--max-iter", help="Maximum number of EM steps.")] = 2000,
    c_prior: Annotated[
        str, typer.Option("--c-prior", help="3PL: Beta(α,β) prior on c as 'α,β' (default mode 0.2).")
    ] = "5,17",
    log_a_prior: Annotated[
        str, typer.Option("--log-a-prior", help="3PL: normal prior on log a as 'mean,sd', or 'none'.")
    ] = "0,1",
    choices: Annotated[
        Path | None,
        typer.Option(
            "--choices",
            help="CSV student_id,item_id,choice (the option each student chose): also warn when high "
            "scorers prefer a distractor to the key.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 4 when the report has item warnings (e.g. a miskey).")
    ] = False,
) -> None:
    """Calibrate the items in RESPONSES, write their parameters and print the marginal log-likelihood.

    Exit 0 on success; 2 on bad input, including a calibration that is not identified (fewer than 3
    items or 30 students: the report is written, the parameters are not); 3 when EM did not converge
    (parameters and report are still written); 4 with --strict when an item has a warning.
    """
    from reading_tests.calibration_report import (
        MIN_ITEMS,
        MIN_STUDENTS,
        MODEL_CHOICES,
        UNIDENTIFIED,
        calibrate_with_report,
    )
    from reading_tests.distractors import read_choices
    from reading_tests.io import read_params, read_responses, write_params

    if model not in MODEL_CHOICES:
        raise InvalidInput(f"--model must be one of {', '.join(MODEL_CHOICES)} (got {model!r})")
    if tol <= 0 or max_iter < 1:
        raise InvalidInput("--tol must be positive and --max-iter at least 1")
    c_pair = _pair(c_prior, "--c-prior")
    if c_pair is None or min(c_pair) <= 0:
        raise InvalidInput("--c-prior needs two positive numbers 'α,β'")
    anchors = read_params(anchor) if anchor is not None else None
    data = read_responses(responses, wide=wide)
    if anchors is not None and not set(anchors.item_ids) & set(data.item_ids):
        raise InvalidInput(f"{anchor}: none of the anchor items appears in {responses}")
    result, rep = calibrate_with_report(
        data,
        model,
        anchors=anchors,
        n_nodes=nodes,
        c_prior=c_pair,
        log_a_prior=_pair(log_a_prior, "--log-a-prior"),
        se=se,
        tol=tol,
        max_iter=max_iter,
        choices=read_choices(choices) if choices is not None else None,
    )
    unidentified = [w for w in rep.warnings if w.code in UNIDENTIFIED]
    try:
        if not unidentified:
            write_params(result.params, out)
        if report is not None:
            text = json.dumps(rep.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)
            report.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot write the output ({error.strerror}: {error.filename})") from None
    for warning in rep.warnings:
        typer.echo(f"warning [{warning.code}] {warning.message}", err=True)
    if unidentified:
        raise InvalidInput(
            f"the calibration is not identified ({data.n_items} items, {rep.n_students} students; "
            f"at least {MIN_ITEMS} items and {MIN_STUDENTS} students are needed); no parameters written"
        )
    typer.echo(
        f"{len(result.params)} items, {data.n_students} students, {result.n_nodes} quadrature nodes, "
        f"{result.n_iter} EM steps; latent mean {result.latent_mean:.3f}, SD {result.latent_sd:.3f}; "
        f"SE method {rep.se_method}; AIC {rep.aic:.2f}, BIC {rep.bic:.2f}",
        err=True,
    )
    typer.echo(f"marginal log-likelihood: {result.loglik:.4f}")
    if not result.converged:
        typer.echo(
            f"error: EM did not converge in {result.n_iter} steps (tolerance {tol:g}); the parameters are "
            "provisional — raise --max-iter or check the warnings",
            err=True,
        )
        raise typer.Exit(code=EXIT_NOT_CONVERGED)
    if strict and any(w.item_id is not None for w in rep.warnings):
        raise typer.Exit(code=4)

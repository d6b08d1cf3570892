"""``giga irt score``: ability estimates from responses and item parameters (DESIGN §5.3)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated

import typer

from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput


@irt_app.command("score")
@exits_2_on_invalid_input
def score_command(
    responses: Annotated[Path, typer.Argument(help="Responses CSV: student_id,item_id,response (or wide).")],
    params: Annotated[Path, typer.Option("--params", help="Item parameters CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write student_id,theta,se,n_items.")],
    method: Annotated[str, typer.Option("--method", help="eap (default), map or mle.")] = "eap",
    wide: Annotated[
        bool, typer.Option("--wide", help="RESPONSES is in wide form (one column per item).")
    ] = False,
    at_bound: Annotated[
        bool,
        typer.Option(
            "--at-bound",
            help="Add a column at_bound (1 when the MLE stopped at ±4: its maximum lies at or beyond it).",
        ),
    ] = False,
) -> None:
    """Estimate θ of every student in RESPONSES and write student_id,theta,se,n_items[,at_bound]."""
    from reading_tests.estimation import METHODS, estimate
    from reading_tests.io import read_params, read_responses

    if method not in METHODS:
        raise InvalidInput(f"--method must be one of {', '.join(METHODS)} (got {method!r})")
    item_params = read_params(params)
    data = read_responses(responses, wide=wide, params=item_params)
    result = estimate(data, item_params, method)
    try:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["student_id", "theta", "se", "n_items"] + (["at_bound"] if at_bound else []))
            for sid, theta, se, n, bound in zip(
                result.student_ids,
                result.theta.tolist(),
                result.se.tolist(),
                result.n_items.tolist(),
                result.at_bound.tolist(),
                strict=True,
            ):
                row = [sid, _fmt(theta), _fmt(se), int(n)]
                writer.writerow(row + ([int(bound)] if at_bound else []))
    except OSError as error:
        raise InvalidInput(f"{out}: cannot write the scores ({error.strerror})") from None
    bounded = int(result.at_bound.sum())
    if bounded:
        typer.echo(
            f"note: {bounded} MLE estimates stopped at the bound ±4 (their likelihood is highest at or "
            "beyond it: all or nearly all answers correct, or wrong); --at-bound marks them in the CSV",
            err=True,
        )
    typer.echo(f"{data.n_students} students scored with {method.upper()}")


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6f}"

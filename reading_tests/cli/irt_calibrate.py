"""``giga irt calibrate``: item calibration by marginal maximum likelihood (DESIGN §5.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput
from reading_tests.irt import MODELS


@irt_app.command("calibrate")
@exits_2_on_invalid_input
def calibrate_command(
    responses: Annotated[Path, typer.Argument(help="Responses CSV: student_id,item_id,response (or wide).")],
    model: Annotated[str, typer.Option("--model", help="Item model: 1pl, 2pl or 3pl.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write item_id,model,a,b,c,se_a,se_b,se_c,n.")],
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Parameters CSV of anchor items to hold fixed.")
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="RESPONSES is in wide form (one column per item).")
    ] = False,
) -> None:
    """Calibrate the items in RESPONSES, write their parameters and print the marginal log-likelihood."""
    from reading_tests.calibration import calibrate
    from reading_tests.io import read_params, read_responses, write_params

    if model not in MODELS:
        raise InvalidInput(f"--model must be one of {', '.join(MODELS)} (got {model!r})")
    anchors = read_params(anchor) if anchor is not None else None
    data = read_responses(responses, wide=wide)
    if anchors is not None and not set(anchors.item_ids) & set(data.item_ids):
        raise InvalidInput(f"{anchor}: none of the anchor items appears in {responses}")
    result = calibrate(data, model, anchors=anchors)
    try:
        write_params(result.params, out)
    except OSError as error:
        raise InvalidInput(f"{out}: cannot write the parameters ({error.strerror})") from None
    if not result.converged:
        typer.echo(f"warning: EM did not converge in {result.n_iter} steps", err=True)
    typer.echo(
        f"{len(result.params)} items, {data.n_students} students, {result.n_nodes} quadrature nodes, "
        f"{result.n_iter} EM steps; latent mean {result.latent_mean:.3f}, SD {result.latent_sd:.3f}",
        err=True,
    )
    typer.echo(f"marginal log-likelihood: {result.loglik:.4f}")

"""``giga irt calibrate-grm``: graded response model for partial-credit items (scores 0, 1, 2, …)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput


def read_scores(path: Path, wide: bool) -> tuple[list[str], list[str], np.ndarray]:
    """Students, items and a students × items array of integer scores (NaN = missing)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror})") from None
    if len(rows) < 2:
        raise InvalidInput(f"{path}: no responses")
    header, body = rows[0], rows[1:]
    students: dict[str, int] = {}
    items: dict[str, int] = {}
    cells: list[tuple[int, int, float]] = []

    def score(line: int, text: str) -> float:
        try:
            value = int(text)
        except ValueError:
            raise InvalidInput(f"{path}:{line}: score must be an integer 0, 1, 2, … (got {text!r})") from None
        if value < 0:
            raise InvalidInput(f"{path}:{line}: score must not be negative (got {value})")
        return float(value)

    if wide:
        if header[0] != "student_id" or len(header) < 2:
            raise InvalidInput(f"{path}:1: the wide form is student_id,<item>,…")
        for name in header[1:]:
            items.setdefault(name, len(items))
        for line, row in enumerate(body, start=2):
            i = students.setdefault(row[0], len(students))
            for name, text in zip(header[1:], row[1:], strict=False):
                if text.strip():
                    cells.append((i, items[name], score(line, text)))
    else:
        if header[:3] != ["student_id", "item_id", "response"]:
            raise InvalidInput(f"{path}:1: the header must be student_id,item_id,response")
        for line, row in enumerate(body, start=2):
            if len(row) < 3:
                raise InvalidInput(f"{path}:{line}: expected three columns")
            i = students.setdefault(row[0], len(students))
            j = items.setdefault(row[1], len(items))
            cells.append((i, j, score(line, row[2])))
    x = np.full((len(students), len(items)), np.nan)
    for i, j, v in cells:
        if not math.isnan(x[i, j]):
            raise InvalidInput(f"{path}: student {list(students)[i]} answered item {list(items)[j]} twice")
        x[i, j] = v
    return list(students), list(items), x


@irt_app.command("calibrate-grm")
@exits_2_on_invalid_input
def calibrate_grm_command(
    responses: Annotated[Path, typer.Argument(help="Scores CSV: student_id,item_id,response (0, 1, 2, …).")],
    out: Annotated[Path, typer.Option("--out", help="Parameters CSV: item_id,threshold,a,b,se_a,se_b.")],
    scores: Annotated[
        Path | None, typer.Option("--scores", help="Also write EAP scores: student_id,theta,se.")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="JSON: log-likelihood, AIC, BIC, …")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="RESPONSES is in wide form.")] = False,
    max_iter: Annotated[int, typer.Option("--max-iter", help="Maximum number of EM steps.")] = 1000,
) -> None:
    """Calibrate partial-credit items with the graded response model (exit 3 if EM does not converge)."""
    from reading_tests.grm import calibrate_grm, eap_grm

    students, items, x = read_scores(responses, wide)
    result = calibrate_grm(x, items, max_iter=max_iter)
    it = result.items
    n_par = int(sum(1 + t.size for t in it.b))
    n = int((~np.isnan(x)).any(axis=1).sum())
    try:
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["item_id", "threshold", "a", "b", "se_a", "se_b"])
            for j, item in enumerate(items):
                for k, (b, se_b) in enumerate(zip(it.b[j], it.se_b[j], strict=True), start=1):
                    w.writerow([item, k, f"{it.a[j]:.6f}", f"{b:.6f}", f"{it.se_a[j]:.6f}", f"{se_b:.6f}"])
        if scores is not None:
            mean, sd = eap_grm(x, it)
            with scores.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(["student_id", "theta", "se"])
                w.writerows(
                    [sid, f"{m:.6f}", f"{s:.6f}"] for sid, m, s in zip(students, mean, sd, strict=True)
                )
        if report is not None:
            body = {
                "model": "grm",
                "n_students": n,
                "n_items": len(items),
                "loglik": result.loglik,
                "n_parameters": n_par,
                "aic": -2 * result.loglik + 2 * n_par,
                "bic": -2 * result.loglik + n_par * math.log(max(n, 1)),
                "iterations": result.n_iter,
                "converged": result.converged,
                "se_method": "exact",
            }
            report.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot write the output ({error.strerror}: {error.filename})") from None
    typer.echo(f"marginal log-likelihood: {result.loglik:.4f}")
    if not result.converged:
        typer.echo(
            f"error: EM did not converge in {result.n_iter} steps; the parameters are provisional", err=True
        )
        raise typer.Exit(code=3)

"""``giga irt fit|dif|link|curves``: the checks a pilot needs after calibration (docs/psychometrics.md)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated

import typer

from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput

ResponsesArg = Annotated[Path, typer.Argument(help="Responses CSV: student_id,item_id,response (or wide).")]
WideOpt = Annotated[bool, typer.Option("--wide", help="RESPONSES is in wide form (one column per item).")]


def _f(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.6g}"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as error:
        raise InvalidInput(f"{path}: cannot write ({error.strerror})") from None


def _read_groups(path: Path) -> dict[str, str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"student_id", "group"} <= set(reader.fieldnames):
                raise InvalidInput(f"{path}: the header must contain student_id,group")
            return {row["student_id"]: row["group"] for row in reader if row.get("group")}
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror})") from None


@irt_app.command("fit")
@exits_2_on_invalid_input
def fit_command(
    responses: ResponsesArg,
    params: Annotated[Path, typer.Option("--params", help="Item parameters CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Item fit CSV.")],
    persons: Annotated[
        Path | None, typer.Option("--persons", help="Person fit CSV: student_id,theta,lz_star,n_items,flag.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="JSON with model fit (M2, RMSEA₂, SRMSR; complete data, ≤ 100 items)."),
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Item fit (leave-one-out χ², RMSD, infit/outfit; S-X² for complete data), model fit (M2) and person
    fit (lz*)."""
    from reading_tests.fit import item_fit
    from reading_tests.io import read_params, read_responses
    from reading_tests.m2 import MAX_ITEMS, m2
    from reading_tests.person_fit import lz_star
    from reading_tests.sx2 import s_x2

    p = read_params(params)
    data = read_responses(responses, wide=wide)
    fit = item_fit(data, p)
    complete = data.n_responses == data.n_students * data.n_items
    sx = s_x2(data, p) if complete else None  # the summed-score statistic needs complete data
    rows = [
        [item, str(int(fit.n[j])), _f(fit.chi2[j]), str(int(fit.df[j])), _f(fit.p_value[j]), _f(fit.rmsd[j]),
         _f(fit.infit[j]), _f(fit.outfit[j]), str(int(bool(fit.misfit[j]))),
         _f(sx.statistic[j]) if sx else "", str(int(sx.df[j])) if sx else "", _f(sx.p_value[j]) if sx else ""]
        for j, item in enumerate(fit.item_ids)
    ]  # fmt: skip
    header = ["item_id", "n", "chi2", "df", "p_value", "rmsd", "infit", "outfit", "misfit"]
    _write_csv(out, [*header, "sx2", "sx2_df", "sx2_p"], rows)
    typer.echo(f"{int(fit.misfit.sum())} of {len(fit.item_ids)} items misfit")
    model_fit: dict[str, object] = {"m2": None, "reason": ""}
    res = None
    if not complete:
        model_fit["reason"] = "M2 needs complete data (every student answered every item)"
    elif data.n_items > MAX_ITEMS:
        model_fit["reason"] = f"M2 is computed for at most {MAX_ITEMS} items"
    else:
        try:
            res = m2(data, p)
        except InvalidInput as error:  # item fit is still useful; say why the model fit is missing
            res = None
            model_fit["reason"] = str(error)
            typer.echo(f"warning: {error}", err=True)
    if res is not None:
        model_fit = {"m2": res.m2, "df": res.df, "p_value": res.p_value, "rmsea2": res.rmsea2,
                     "srmsr": res.srmsr}  # fmt: skip
        typer.echo(
            f"M2 = {res.m2:.2f}, df = {res.df}, p = {res.p_value:.4f}, RMSEA₂ = {res.rmsea2:.4f}, "
            f"SRMSR = {res.srmsr:.4f}"
        )
    if report is not None:
        doc = {
            "n_students": data.n_students,
            "n_items": data.n_items,
            "model_fit": model_fit,
            "misfit_items": [item for j, item in enumerate(fit.item_ids) if fit.misfit[j]],
        }
        try:
            report.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"{report}: cannot write ({error.strerror})") from None
    if persons is not None:
        pf = lz_star(data, p)
        prow = [
            [sid, _f(pf.theta[i]), _f(pf.lz_star[i]), str(int(pf.n_items[i])),
             str(int(bool(pf.lz_star[i] < -1.645)))]
            for i, sid in enumerate(pf.student_ids)
        ]  # fmt: skip
        _write_csv(persons, ["student_id", "theta", "lz_star", "n_items", "flag"], prow)
        flagged = int(sum(1 for r in prow if r[4] == "1"))
        typer.echo(f"{flagged} of {len(prow)} students with lz* < −1.645")


@irt_app.command("dif")
@exits_2_on_invalid_input
def dif_command(
    responses: ResponsesArg,
    groups: Annotated[Path, typer.Option("--groups", help="CSV student_id,group.")],
    focal: Annotated[str, typer.Option("--focal", help="Group label of the focal group.")],
    out: Annotated[Path, typer.Option("--out", help="DIF CSV (Mantel–Haenszel and logistic regression).")],
    reference: Annotated[
        str | None, typer.Option("--reference", help="Reference group label (default: everyone else).")
    ] = None,
    matching: Annotated[
        str, typer.Option("--matching", help="Matching score: total (includes the item, default) or rest.")
    ] = "total",
    wide: WideOpt = False,
) -> None:
    """Differential item functioning: Mantel–Haenszel Δ with ETS classes and logistic-regression tests."""
    from reading_tests.dif import DIF_COLUMNS, dif, dif_rows
    from reading_tests.io import read_responses

    data = read_responses(responses, wide=wide)
    results = dif(data, _read_groups(groups), focal, reference=reference, matching=matching)  # type: ignore[arg-type]
    _write_csv(out, list(DIF_COLUMNS), dif_rows(results))
    counts = {k: sum(1 for r in results if r.mh.ets_class == k) for k in "ABC"}
    typer.echo(f"ETS classes: A {counts['A']}, B {counts['B']}, C {counts['C']}")


@irt_app.command("link")
@exits_2_on_invalid_input
def link_command(
    source: Annotated[Path, typer.Option("--from", help="Parameters CSV to put on the other scale.")],
    target: Annotated[Path, typer.Option("--to", help="Parameters CSV that defines the scale.")],
    out: Annotated[Path, typer.Option("--out", help="Transformed parameters CSV (all items of --from).")],
    anchors: Annotated[
        str | None,
        typer.Option("--anchors", help="Comma-separated anchor item ids (default: all common items)."),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="mean-mean, mean-sigma, haebara or stocking-lord.")
    ] = "stocking-lord",
    report: Annotated[
        Path | None, typer.Option("--report", help="JSON with A, B and the anchor drift report.")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--drift-threshold", help="Difficulty change (logits) that counts as drift.")
    ] = 0.3,
    drop_drifted: Annotated[
        bool, typer.Option("--drop-drifted", help="Link again without the drifted anchors.")
    ] = False,
) -> None:
    """Link --from onto the scale of --to through anchor items; print A and B as JSON."""
    from reading_tests.io import read_params, write_params
    from reading_tests.linking import METHODS, link, transform

    if method not in METHODS:
        raise InvalidInput(f"--method must be one of {', '.join(METHODS)} (got {method!r})")
    src, tgt = read_params(source), read_params(target)
    ids = [s.strip() for s in anchors.split(",") if s.strip()] if anchors else None
    result = link(src, tgt, ids, method=method, threshold=threshold, drop_drifted=drop_drifted)
    try:
        write_params(transform(src, result.slope, result.intercept), out)
        if report is not None:
            report.write_text(
                json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
    except OSError as error:
        raise InvalidInput(f"cannot write the output ({error.strerror}: {error.filename})") from None
    for d in result.drift:
        if d.drifted:
            typer.echo(
                f"warning: anchor {d.item_id} drifted by {d.difference:+.3f} (z = {d.z:.2f})", err=True
            )
    typer.echo(json.dumps({"method": result.method, "A": result.slope, "B": result.intercept}))


@irt_app.command("curves")
@exits_2_on_invalid_input
def curves_command(
    params: Annotated[Path, typer.Option("--params", help="Item parameters CSV.")],
    out: Annotated[Path, typer.Option("--out", help="CSV theta,information,se.")],
    svg: Annotated[Path | None, typer.Option("--svg", help="Also draw the curves as SVG.")] = None,
    responses: Annotated[
        Path | None, typer.Option("--responses", help="Responses CSV for the empirical reliability of EAP.")
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Test information and conditional SE curves; print marginal (and empirical) reliability."""
    from reading_tests.curves import empirical_reliability, test_curves, write_curves
    from reading_tests.io import read_params, read_responses

    p = read_params(params)
    curves = test_curves(p)
    try:
        write_curves(curves, out, svg)
    except OSError as error:
        raise InvalidInput(f"cannot write the output ({error.strerror}: {error.filename})") from None
    typer.echo(f"marginal reliability: {curves.marginal_reliability:.4f}")
    if responses is not None:
        data = read_responses(responses, wide=wide)
        typer.echo(f"empirical reliability (EAP): {empirical_reliability(data, p):.4f}")

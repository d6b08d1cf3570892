"""``giga irt simulate-cat``: Monte Carlo study of the adaptive test on a parameter file (DESIGN §5.3)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from reading_tests.cat.bank import CatPool
from reading_tests.cat.selection import EXPOSURE_METHODS, ExposureControl
from reading_tests.cat.session import CatDesign
from reading_tests.cat.simulation import calibrate_sympson_hetter, simulate
from reading_tests.cli.apps import exits_2_on_invalid_input, irt_app
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams


def _content_targets(bank: CatPool, balance: str) -> dict[str, dict[str, float]]:
    """Target proportions = the pool's own proportions of each named attribute (e.g. ``skill,genre``)."""
    targets: dict[str, dict[str, float]] = {}
    for name in (x.strip() for x in balance.split(",") if x.strip()):
        attr = bank.attributes.get(name)
        if attr is None:
            raise InvalidInput(f"--balance: the parameter file has no column {name!r}")
        counts = Counter(attr.codes.tolist())
        targets[name] = {cat: counts[k] / bank.size for k, cat in enumerate(attr.categories)}
    return targets


@irt_app.command("simulate-cat")
@exits_2_on_invalid_input
def simulate_cat(
    params: Annotated[Path, typer.Option("--params", help="Item parameters CSV (item_id,model,a,b,c,…).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the result JSON.")],
    simulees: Annotated[int, typer.Option("--simulees", help="Number of simulees, θ ~ N(0, 1).")] = 1000,
    max_items: Annotated[int, typer.Option("--max-items", help="Maximum test length K.")] = 20,
    se_stop: Annotated[float, typer.Option("--se-stop", help="Stop at SE ≤ S; 0 means fixed length.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    min_items: Annotated[int, typer.Option("--min-items", help="Minimum length before the SE rule.")] = 1,
    exposure: Annotated[
        str, typer.Option("--exposure", help="Exposure control: none, randomesque or sympson-hetter.")
    ] = "none",
    randomesque_k: Annotated[int, typer.Option("--randomesque-k", help="Randomesque group size.")] = 5,
    r_max: Annotated[
        float, typer.Option("--r-max", help="Sympson–Hetter target maximum exposure rate (calibrated first).")
    ] = 0.25,
    balance: Annotated[
        str,
        typer.Option("--balance", help="Balance these columns (e.g. skill,genre) to the pool's proportions."),
    ] = "",
    band: Annotated[
        str | None,
        typer.Option(
            "--band",
            help="Only this grade band's test-pool items (params columns band, pool); θ from the band's "
            "population of the simulated pilot instead of N(0, 1), which is also the prior.",
        ),
    ] = None,
) -> None:
    """Simulate adaptive tests and write {"simulees": [...], "summary": {...}} as JSON."""
    from reading_tests.io import read_params

    if simulees < 1:
        raise InvalidInput(f"--simulees must be at least 1 (got {simulees})")
    if exposure not in EXPOSURE_METHODS:
        raise InvalidInput(f"--exposure must be one of {', '.join(EXPOSURE_METHODS)} (got {exposure!r})")
    if not params.is_file():
        raise InvalidInput(f"{params}: no such file")
    item_params = read_params(params)
    theta_mean, theta_sd = 0.0, 1.0
    if band is not None:
        item_params, theta_mean, theta_sd = _band_subset(item_params, band)
    bank = CatPool.build(
        item_params.item_ids, item_params.a, item_params.b, item_params.c, attributes=item_params.extra
    )
    if max_items > bank.size or max_items < 1:
        raise InvalidInput(f"--max-items must be between 1 and the pool size {bank.size} (got {max_items})")
    design = CatDesign.build(
        bank,
        max_items=max_items,
        min_items=min(min_items, max_items),
        se_target=se_stop,
        exposure="none" if exposure == "sympson-hetter" else exposure,
        randomesque_k=randomesque_k,
        content=_content_targets(bank, balance) if balance else None,
        prior_mean=theta_mean,
        prior_sd=theta_sd,
    )
    if exposure == "sympson-hetter":
        calibration = calibrate_sympson_hetter(
            design, r_max, seed=seed + 1, theta_mean=theta_mean, theta_sd=theta_sd
        )
        design = design.with_exposure(
            ExposureControl.build("sympson-hetter", bank=bank, sh_parameters=calibration.parameters)
        )
    thetas = theta_mean + theta_sd * np.random.default_rng(seed).standard_normal(simulees)
    result = simulate(design, thetas, seed=seed)
    try:
        out.write_text(json.dumps(result.to_json_dict()) + "\n", encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"{out}: cannot write the result ({error.strerror})") from None
    summary = result.summary()
    typer.echo(
        f"rmse={summary['rmse']:.4f} bias={summary['bias']:+.4f} mean_length={summary['mean_length']:.2f} "
        f"max_exposure={summary['max_exposure']:.3f} mean_step_ms={summary['mean_step_ms']:.4f} "
        f"p99_step_ms={summary['p99_step_ms']:.4f} never_used={int(np.sum(result.administered == 0))}"
    )


def _band_subset(params: ItemParams, band: str) -> tuple[ItemParams, float, float]:
    """The band's test-pool items of a parameter file and the band's θ population (mean, SD)."""
    from reading_tests.items import BANDS
    from reading_tests.pilot import band_population

    if band not in BANDS:
        raise InvalidInput(f"--band must be one of {', '.join(BANDS)} (got {band!r})")
    bands = params.extra.get("band")
    if bands is None:
        raise InvalidInput("--band: the parameter file has no band column; re-run `giga items pilot --write`")
    pools = params.extra.get("pool") or ["test"] * len(params.item_ids)
    ids = [i for i, b, p in zip(params.item_ids, bands, pools, strict=True) if b == band and p == "test"]
    if not ids:
        raise InvalidInput(f"--band {band}: no test-pool items of that band in the parameter file")
    mean, sd = band_population(band)
    return params.subset(ids), mean, sd

"""Per-band adaptive tests on the shipped bank: the study's numbers and `simulate-cat --band`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reading_tests.cat.band_study import study_band
from reading_tests.cli.root import root_app
from reading_tests.io import read_params
from reading_tests.items import load_bank
from reading_tests.pilot import PARAMS_PATH, band_population

runner = CliRunner()


def test_band_study_reports_exposure_under_sympson_hetter_and_overlap() -> None:
    bank = load_bank()
    ids = [i.id for i in bank.filter(band="P3-4", pool="test")]
    row = study_band(read_params(PARAMS_PATH), ids, band="P3-4", length=15, simulees=150, seed=3)
    assert row.pool == len(ids) and 0 <= row.never_used < len(ids)
    assert 0.1 < row.rmse < 1.0 and row.rmse_se > 0
    assert row.max_exposure <= row.r_max + 0.15  # Sympson–Hetter holds exposure near its target
    assert 15 / len(ids) - 0.05 < row.overlap < 1.0  # a small pool repeats items a term later


def test_simulate_cat_band_option(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["irt", "simulate-cat", "--params", str(PARAMS_PATH), "--out", str(out), "--simulees", "60"]
    result = runner.invoke(root_app, [*args, "--max-items", "15", "--band", "J1-3"])
    assert result.exit_code == 0, result.output
    assert "never_used=" in result.output
    data = json.loads(out.read_text())
    j13 = {i.id for i in load_bank().filter(band="J1-3")}
    assert all(set(s["items"]) <= j13 for s in data["simulees"])
    mean, _ = band_population("J1-3")
    thetas = [s["theta"] for s in data["simulees"]]
    assert abs(sum(thetas) / len(thetas) - mean) < 0.3  # drawn from the band's population
    bad = runner.invoke(root_app, [*args, "--band", "P9"])
    assert bad.exit_code == 2 and "--band must be one of" in bad.output
    plain = tmp_path / "plain.csv"
    plain.write_text("item_id,model,a,b,c\nX-001,2pl,1,0,0\nX-002,2pl,1,1,0\n", encoding="utf-8")
    no_column = runner.invoke(
        root_app,
        [
            "irt",
            "simulate-cat",
            "--params",
            str(plain),
            "--out",
            str(out),
            "--max-items",
            "1",
            "--band",
            "P1-2",
        ],
    )
    assert no_column.exit_code == 2 and "no band column" in no_column.output


def test_a_retest_without_repeats_never_shows_a_seen_item_and_reports_its_cost() -> None:
    from reading_tests.cat.band_study import band_pool
    from reading_tests.cat.session import CatDesign
    from reading_tests.cat.simulation import simulate

    bank = load_bank()
    ids = [i.id for i in bank.filter(band="P5-6", pool="test")]
    params = read_params(PARAMS_PATH)
    design = CatDesign.build(band_pool(params, ids), max_items=15, min_items=15)
    first = simulate(design, [0.0, 0.5, -0.5], seed=1)
    second = simulate(design, [0.1, 0.6, -0.4], seed=2, exclude=first.items)
    for seen, again in zip(first.items, second.items, strict=True):
        assert not set(seen) & set(again) and len(again) == 15
    row = study_band(params, ids, band="P5-6", length=15, simulees=120, seed=5)
    assert row.pool >= 30 and row.norepeat_short == 0.0  # room for two disjoint 15-item tests
    assert 0.1 < row.norepeat_rmse < 1.2 and row.norepeat_rmse_se > 0 and row.retest_rmse_se > 0
    assert 0 < row.max_exposure_se < 0.1 and 0 < row.overlap_se < 0.1

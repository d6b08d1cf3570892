"""Simulated pilot: deterministic, recovers the generating difficulties, writes irt blocks and params.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from reading_tests.io import read_params
from reading_tests.items import BANDS, default_bank_path, load_bank
from reading_tests.pilot import build_forms, run_pilot, write_results


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    for skill in ("DEP", "PARA", "INF"):
        shutil.copytree(default_bank_path() / skill, root / skill)
    return root


def test_forms_cover_every_item_and_link_bands(small_bank: Path) -> None:
    bank = load_bank(small_bank)
    forms = build_forms(bank, np.random.default_rng(0), form_length=20, n_forms=4)
    on_forms = {i for band in forms.values() for form in band for i in form}
    assert on_forms == {i.id for i in bank}
    p34 = {i.id for i in bank.filter(band="P3-4")}
    assert all(any(i not in p34 for i in form) for form in forms["P3-4"])  # linking items from P5-6


def test_pilot_is_seeded_and_recovers_difficulty(small_bank: Path) -> None:
    bank = load_bank(small_bank)
    first = run_pilot(bank, seed=7, n_students=2100, form_length=20, date="2024-06-01")
    again = run_pilot(bank, seed=7, n_students=2100, form_length=20, date="2024-06-01")
    assert np.array_equal(first.params.b, again.params.b)
    recovery = first.recovery()
    assert recovery["r_b"] > 0.6  # 3PL on ~500 responses per item: provisional, not precise
    c = dict(zip(first.params.item_ids, first.params.c, strict=True))
    para = [c[i.id] for i in bank.filter(skill="PARA")]
    assert 0.35 < float(np.mean(para)) < 0.65  # same/different guessing near 1/2


def test_write_results(small_bank: Path, tmp_path: Path) -> None:
    bank = load_bank(small_bank)
    result = run_pilot(bank, seed=3, n_students=1400, form_length=20, date="2024-06-01")
    csv = tmp_path / "params.csv"
    write_results(bank, result, params_path=csv)
    reloaded = load_bank(small_bank)
    item = reloaded["DEP-001"]
    assert item.irt is not None and item.irt.provisional and item.irt.model == "3pl"
    assert "simulated pilot 2024-06-01, seed 3" in item.irt.source
    params = read_params(csv)
    assert set(params.item_ids) == {i.id for i in bank}
    assert params.extra["skill"][params.index["DEP-001"]] == "DEP"
    assert item.irt.b == pytest.approx(float(params.b[params.index["DEP-001"]]), abs=1e-3)


def test_shipped_params_match_the_bank() -> None:
    bank = load_bank()
    params = read_params(default_bank_path().parent / "params.csv")
    assert set(params.item_ids) == {i.id for i in bank}
    for item in bank:
        assert item.irt is not None and item.irt.provisional
        assert item.irt.b == pytest.approx(float(params.b[params.index[item.id]]), abs=1e-3)


def test_population_is_standard_normal_over_nine_grades_and_bands_are_ordered() -> None:
    from reading_tests.pilot import GRADE_SD, band_population, grade_mean

    means = np.array([grade_mean(g) for g in range(9)])
    assert means.mean() == pytest.approx(0.0) and GRADE_SD**2 + means.var() == pytest.approx(1.0)
    bands = [band_population(b) for b in ("P1-2", "P3-4", "P5-6", "J1-3")]
    assert [m for m, _ in bands] == sorted(m for m, _ in bands) and bands[0][0] < -0.9


def test_p1_2_items_get_their_own_forms_and_large_bands_more_forms(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    shutil.copytree(default_bank_path() / "DEP", root / "DEP")
    swaps = {"grade_band: P3-4": "grade_band: P1-2", "grade_band: P5-6": "grade_band: P1-2"}
    swaps |= {f"grade_min: {g}": "grade_min: P2" for g in ("P3", "P4", "P5", "P6")}
    for path in sorted((root / "DEP").glob("*.yaml"))[:12]:
        text = path.read_text(encoding="utf-8")
        for old, new in swaps.items():
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    bank = load_bank(root)
    forms = build_forms(bank, np.random.default_rng(0), form_length=5, n_forms=2)
    p12 = {i.id for i in bank.filter(band="P1-2")}
    assert len(p12) >= 10 and "P1-2" in forms
    assert len(forms["P1-2"]) >= 3  # 4 own items per form cannot cover ≥ 10 items in 2 forms
    assert p12 <= {i for form in forms["P1-2"] for i in form}


def test_bands_keep_their_place_on_one_scale() -> None:
    """Band-by-band calibration: no band's items drift toward the middle of the scale.

    One N(0, 1) prior for 小1 and 中3 students together made the easy band's items 0.9 too hard and the
    hard band's 0.65 too easy; each band now has its own latent mean and SD.
    """
    bank = load_bank()
    result = run_pilot(bank, seed=11, n_students=3000, date="2024-06-01")
    index = result.params.index
    for band in BANDS:
        rows = [k for k, item in enumerate(result.truth.item_ids) if bank[item].grade_band == band]
        if not rows:
            continue
        b_hat = result.params.b[[index[result.truth.item_ids[k]] for k in rows]]
        assert abs(float(np.mean(b_hat - result.truth.b[rows]))) < 0.25, band
    assert result.recovery()["r_b"] > 0.9

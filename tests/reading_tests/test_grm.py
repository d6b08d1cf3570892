"""Graded response model: agreement with the PyPI mirt port, recovery, information and EAP."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from reading_tests.errors import InvalidInput
from reading_tests.grm import calibrate_grm, category_probs, eap_grm, item_information, simulate_grm


def _data(seed: int, n: int = 3000, j: int = 8) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 2.0, j)
    b = [np.sort(rng.normal(0, 1, 2)) for _ in range(j)]
    return simulate_grm(rng, rng.normal(size=n), a, b), a, b


def test_agrees_with_mirt_port() -> None:
    mirt = pytest.importorskip("mirt")
    x, _, _ = _data(3)
    ours = calibrate_grm(x)
    ref = mirt.fit_mirt(x.astype(int), model="GRM")
    coef = ref.coef()
    np.testing.assert_allclose(ours.items.a, coef["discrimination"].to_numpy(), atol=0.01)
    np.testing.assert_allclose(
        np.array(ours.items.b), coef[["thresholds_1", "thresholds_2"]].to_numpy(), atol=0.01
    )
    assert ours.loglik == pytest.approx(ref.log_likelihood, abs=0.05)
    np.testing.assert_allclose(ours.items.se_a, ref.standard_errors["discrimination"], rtol=0.05)


def test_recovery_and_uncertainty() -> None:
    x, a, b = _data(4, n=5000)
    res = calibrate_grm(x)
    assert res.converged
    z_a = (res.items.a - a) / res.items.se_a
    z_b = (np.array(res.items.b) - np.array(b)) / np.array(res.items.se_b)
    # estimates within 3.5 SE of the truth (24 thresholds + 8 slopes)
    assert np.abs(z_a).max() < 3.5 and np.abs(z_b).max() < 3.5


def test_information_is_the_fisher_information_of_the_categories() -> None:
    a, b = 1.4, np.array([-0.5, 0.3, 1.2])
    theta = np.linspace(-3, 3, 13)
    h = 1e-5
    dp = (category_probs(theta + h, a, b) - category_probs(theta - h, a, b)) / (2 * h)
    expected = (dp**2 / category_probs(theta, a, b)).sum(axis=0)
    np.testing.assert_allclose(item_information(theta, a, b), expected, rtol=1e-6)
    # two categories: the 2PL information a² P Q
    p = 1 / (1 + np.exp(-a * (theta - 0.2)))
    np.testing.assert_allclose(item_information(theta, a, np.array([0.2])), a * a * p * (1 - p), rtol=1e-10)


def test_eap_matches_direct_integration() -> None:
    x, _, _ = _data(5, n=50)
    res = calibrate_grm(x, se=False)
    mean, sd = eap_grm(x[:3], res.items)
    grid = np.linspace(-8, 8, 4001)
    for i in range(3):
        like = np.exp(-0.5 * grid**2)
        for j in range(x.shape[1]):
            like = like * category_probs(grid, res.items.a[j], res.items.b[j])[int(x[i, j])]
        m = np.trapezoid(grid * like, grid) / np.trapezoid(like, grid)
        assert mean[i] == pytest.approx(m, abs=1e-4)
        assert sd[i] > 0


def test_empty_category_is_invalid_input() -> None:
    x = np.array([[0, 2], [2, 0], [0, 2]], dtype=float)
    with pytest.raises(InvalidInput, match="every score"):
        calibrate_grm(x)


def test_calibrate_grm_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reading_tests.cli.root import root_app

    x, _, _ = _data(6, n=800, j=5)
    path = tmp_path / "scores.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "item_id", "response"])
        w.writerows([f"s{i}", f"q{j}", int(x[i, j])] for i in range(x.shape[0]) for j in range(x.shape[1]))
    out, theta, rep = tmp_path / "p.csv", tmp_path / "t.csv", tmp_path / "r.json"
    runner = CliRunner()
    args = [
        "irt",
        "calibrate-grm",
        str(path),
        "--out",
        str(out),
        "--scores",
        str(theta),
        "--report",
        str(rep),
    ]
    result = runner.invoke(root_app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and rows[0]["item_id"] == "q0" and rows[1]["threshold"] == "2"
    direct = calibrate_grm(x, se=False)
    assert float(rows[0]["a"]) == pytest.approx(direct.items.a[0], abs=1e-5)
    assert json.loads(rep.read_text())["n_parameters"] == 15
    assert len(list(csv.DictReader(theta.open()))) == 800
    path.write_text("student_id,item_id,response\ns1,q1,x\n")
    bad = runner.invoke(root_app, ["irt", "calibrate-grm", str(path), "--out", str(out)])
    assert bad.exit_code == 2 and "integer" in bad.stderr

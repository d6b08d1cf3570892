"""The new `giga irt` options and commands: calibrate --report/--se/exit 3, fit, dif, link, curves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reading_tests._simulate import simulate
from reading_tests.cli.root import root_app
from reading_tests.io import ItemParams, ResponseData, read_params, write_params, write_responses
from reading_tests.linking import transform

runner = CliRunner()


def _data(tmp_path: Path, *, miskey: int | None = None, seed: int = 0) -> tuple[Path, ItemParams]:
    rng = np.random.default_rng(seed)
    k = 15
    true = ItemParams.create([f"i{j}" for j in range(k)], rng.uniform(0.8, 2.0, k), rng.normal(0, 1, k))
    data = simulate(rng, rng.normal(size=1500), true.a, true.b)
    if miskey is not None:
        x = data.to_dense()
        x[:, miskey] = 1 - x[:, miskey]
        data = ResponseData.from_dense(x)
    path = tmp_path / f"resp{seed}.csv"
    write_responses(data, path)
    return path, true


def _invoke(*args: str) -> object:
    return runner.invoke(root_app, ["irt", *args])


def test_calibrate_report_and_miskey(tmp_path: Path) -> None:
    resp, _ = _data(tmp_path, miskey=4)
    out, rep = tmp_path / "p.csv", tmp_path / "r.json"
    result = _invoke("calibrate", str(resp), "--model", "2pl", "--out", str(out), "--report", str(rep))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads(rep.read_text())
    for key in ("loglik", "n_parameters", "aic", "bic", "iterations", "converged", "latent_mean",
                "latent_sd", "quadrature_nodes", "se_method", "priors", "warnings"):  # fmt: skip
        assert key in report
    assert report["n_parameters"] == 30
    assert report["aic"] == pytest.approx(-2 * report["loglik"] + 60)
    assert [w["item_id"] for w in report["warnings"] if w["code"] == "miskey"] == ["i4"]
    assert "i4" in result.stderr  # type: ignore[attr-defined]
    strict = _invoke("calibrate", str(resp), "--model", "2pl", "--out", str(out), "--strict")
    assert strict.exit_code == 4  # type: ignore[attr-defined]


def test_calibrate_non_convergence_exits_3_with_the_report(tmp_path: Path) -> None:
    resp, _ = _data(tmp_path)
    out, rep = tmp_path / "p.csv", tmp_path / "r.json"
    result = _invoke(
        "calibrate", str(resp), "--model", "3pl", "--out", str(out), "--report", str(rep), "--max-iter", "4"
    )
    assert result.exit_code == 3, result.output  # type: ignore[attr-defined]
    assert "did not converge" in result.stderr  # type: ignore[attr-defined]
    assert json.loads(rep.read_text())["converged"] is False
    assert out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--se", "magic"], "SE method"),
        (["--c-prior", "x"], "--c-prior"),
        (["--tol", "0"], "--tol"),
        (["--model", "4pl"], "--model"),
    ],
)
def test_calibrate_bad_options_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    resp, _ = _data(tmp_path)
    base = ["calibrate", str(resp), "--out", str(tmp_path / "p.csv")]
    if "--model" not in args:
        base += ["--model", "2pl"]
    result = _invoke(*base, *args)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert fragment in result.stderr  # type: ignore[attr-defined]


def test_rasch_and_se_options(tmp_path: Path) -> None:
    resp, _ = _data(tmp_path)
    out = tmp_path / "p.csv"
    result = _invoke("calibrate", str(resp), "--model", "rasch", "--out", str(out), "--se", "louis")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    p = read_params(out)
    np.testing.assert_allclose(p.a, 1.0)
    assert np.all(p.se_b > 0)


def test_fit_dif_curves_and_link_commands(tmp_path: Path) -> None:
    resp, true = _data(tmp_path)
    params = tmp_path / "true.csv"
    write_params(true, params)
    fit, persons, fit_json = tmp_path / "fit.csv", tmp_path / "persons.csv", tmp_path / "fit.json"
    result = _invoke("fit", str(resp), "--params", str(params), "--out", str(fit), "--persons", str(persons),
                     "--report", str(fit_json))  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    model_fit = json.loads(fit_json.read_text())["model_fit"]
    assert model_fit["df"] == 15 + 105 - 30 and 0 < model_fit["p_value"] <= 1  # true parameters: no misfit
    assert "M2 =" in result.stdout  # type: ignore[attr-defined]
    fit_rows = list(csv.DictReader(fit.open()))
    assert len(fit_rows) == 15 and all(float(r["sx2_p"]) >= 0 for r in fit_rows)
    assert list(next(csv.DictReader(persons.open()))) == ["student_id", "theta", "lz_star", "n_items", "flag"]

    groups = tmp_path / "groups.csv"
    with groups.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "group"])
        w.writerows([[f"s{i}", "F" if i % 2 else "R"] for i in range(1500)])
    out = tmp_path / "dif.csv"
    result = _invoke("dif", str(resp), "--groups", str(groups), "--focal", "F", "--out", str(out))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 15 and {r["ets_class"] for r in rows} <= {"A", "B", "C"}
    bad = _invoke("dif", str(resp), "--groups", str(groups), "--focal", "X", "--out", str(out))
    assert bad.exit_code == 2  # type: ignore[attr-defined]

    curves, svg = tmp_path / "c.csv", tmp_path / "c.svg"
    result = _invoke("curves", "--params", str(params), "--out", str(curves), "--svg", str(svg),
                     "--responses", str(resp))  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "marginal reliability" in result.stdout and "empirical reliability" in result.stdout  # type: ignore[attr-defined]
    assert svg.read_text().startswith("<svg")

    other = tmp_path / "other.csv"
    write_params(transform(true, 1 / 1.25, 0.3 / 1.25), other)
    linked, rep = tmp_path / "linked.csv", tmp_path / "link.json"
    result = _invoke("link", "--from", str(other), "--to", str(params), "--out", str(linked),
                     "--method", "haebara", "--report", str(rep))  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    constants = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert constants["A"] == pytest.approx(1.25, abs=1e-5) and constants["B"] == pytest.approx(-0.3, abs=1e-5)
    np.testing.assert_allclose(read_params(linked).b, true.b, atol=1e-5)
    assert json.loads(rep.read_text())["drift"][0]["drifted"] is False
    missing = _invoke(
        "link", "--from", str(other), "--to", str(params), "--out", str(linked), "--anchors", "i0,zz"
    )
    assert missing.exit_code == 2  # type: ignore[attr-defined]


def test_score_at_bound_column(tmp_path: Path) -> None:
    resp, true = _data(tmp_path)
    params = tmp_path / "true.csv"
    write_params(true, params)
    theta = tmp_path / "theta.csv"
    result = _invoke("score", str(resp), "--params", str(params), "--method", "mle", "--out", str(theta),
                     "--at-bound")  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = list(csv.DictReader(theta.open()))
    assert list(rows[0]) == ["student_id", "theta", "se", "n_items", "at_bound"]
    flagged = [r for r in rows if r["at_bound"] == "1"]
    assert flagged and all(abs(float(r["theta"])) >= 4 - 1e-5 for r in flagged)


def test_unidentified_calibrations_are_refused_with_the_report(tmp_path: Path) -> None:
    """One item, or two students: exit 2 naming the reason, the report written, no parameter file."""
    rng = np.random.default_rng(0)
    one_item = ResponseData.from_dense(rng.integers(0, 2, (200, 1)).astype(float))
    two_students = ResponseData.from_dense(np.array([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=float))
    for data, code in ((one_item, "too_few_items"), (two_students, "too_few_students")):
        resp, out, rep = tmp_path / f"{code}.csv", tmp_path / f"{code}_p.csv", tmp_path / f"{code}.json"
        write_responses(data, resp)
        result = _invoke("calibrate", str(resp), "--model", "2pl", "--out", str(out), "--report", str(rep),
                         "--max-iter", "200")  # fmt: skip
        assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
        assert "not identified" in result.output  # type: ignore[attr-defined]
        assert not out.exists()
        assert code in {w["code"] for w in json.loads(rep.read_text())["warnings"]}

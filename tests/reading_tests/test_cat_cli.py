"""``irt simulate-cat`` through the real command line (DESIGN §5.3 contract)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reading_tests.cli.root import root_app

runner = CliRunner()


@pytest.fixture(scope="module")
def params_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("cat") / "params.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "model", "a", "b", "c", "se_a", "se_b", "se_c", "n", "skill", "genre"])
        for k in range(120):
            writer.writerow(
                [
                    f"Q{k:03d}",
                    "3pl",
                    f"{rng.lognormal(0, 0.3):.4f}",
                    f"{rng.normal():.4f}",
                    f"{rng.uniform(0, 0.2):.3f}",
                    "",
                    "",
                    "",
                    "800",
                    ["DEP", "ANA", "INF"][k % 3],
                    ["news", "textbook"][k % 2],
                ]
            )
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(root_app, ["irt", "simulate-cat", *args])
    return result.exit_code, result.stdout, result.stderr


def test_simulate_cat_writes_the_contracted_json(params_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    code, stdout, _ = _run(
        "--params",
        str(params_csv),
        "--simulees",
        "60",
        "--max-items",
        "15",
        "--se-stop",
        "0",
        "--seed",
        "7",
        "--out",
        str(out),
    )
    assert code == 0, stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["summary"]) == {
        "rmse",
        "bias",
        "mean_length",
        "max_exposure",
        "mean_step_ms",
        "p99_step_ms",
    }
    assert len(data["simulees"]) == 60
    first = data["simulees"][0]
    assert set(first) == {"theta", "theta_hat", "se", "items"}
    assert all(len(s["items"]) == 15 for s in data["simulees"])
    assert data["summary"]["mean_length"] == 15
    assert 0.2 < data["summary"]["rmse"] < 0.6
    thetas = np.array([s["theta"] for s in data["simulees"]])
    estimates = np.array([s["theta_hat"] for s in data["simulees"]])
    assert np.corrcoef(thetas, estimates)[0, 1] > 0.85
    assert "rmse=" in stdout
    # Same seed, same result (apart from timings).
    again = tmp_path / "again.json"
    _run(
        "--params",
        str(params_csv),
        "--simulees",
        "60",
        "--max-items",
        "15",
        "--se-stop",
        "0",
        "--seed",
        "7",
        "--out",
        str(again),
    )
    assert json.loads(again.read_text())["simulees"] == data["simulees"]


def test_se_stop_and_exposure_options(params_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    code, stdout, stderr = _run(
        "--params",
        str(params_csv),
        "--simulees",
        "80",
        "--max-items",
        "30",
        "--se-stop",
        "0.5",
        "--seed",
        "1",
        "--out",
        str(out),
        "--exposure",
        "sympson-hetter",
        "--r-max",
        "0.4",
        "--balance",
        "skill,genre",
    )
    assert code == 0, stdout + stderr
    data = json.loads(out.read_text())
    lengths = [len(s["items"]) for s in data["simulees"]]
    assert min(lengths) < 30 and data["summary"]["mean_length"] == pytest.approx(np.mean(lengths))
    assert all(s["se"] <= 0.5 or len(s["items"]) == 30 for s in data["simulees"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "missing.csv"], "no such file"),
        (["--max-items", "500"], "pool size 120"),
        (["--simulees", "0"], "--simulees"),
        (["--se-stop", "-1"], "SE target"),
        (["--exposure", "magic"], "--exposure"),
        (["--balance", "format"], "no column 'format'"),
        (["--exposure", "sympson-hetter", "--r-max", "0.01"], "unattainable"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    params_csv: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    base = {"--params": str(params_csv), "--out": str(tmp_path / "r.json"), "--simulees": "5"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, _, stderr = _run(*[x for pair in base.items() for x in pair])
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_bad_parameter_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,model,a,b\nX1,2pl,abc,0\n", encoding="utf-8")
    code, _, stderr = _run("--params", str(bad), "--out", str(tmp_path / "r.json"))
    assert code == 2 and "not a number" in stderr

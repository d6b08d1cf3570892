"""The `irt calibrate` / `irt score` command-line contract (DESIGN §5.3)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reading_tests.cli.root import root_app
from reading_tests.io import read_params

LSAT7_COUNTS = [12, 19, 1, 7, 3, 19, 3, 17, 10, 5, 3, 7, 7, 23, 8, 28,
                7, 39, 11, 34, 14, 51, 15, 90, 6, 25, 7, 35, 18, 136, 32, 308]  # fmt: skip

runner = CliRunner()


def _lsat7_files(tmp_path: Path) -> tuple[Path, Path]:
    patterns = np.array([[int(bit) for bit in format(k, "05b")] for k in range(32)])
    x = np.repeat(patterns, LSAT7_COUNTS, axis=0)
    long = tmp_path / "long.csv"
    wide = tmp_path / "wide.csv"
    with long.open("w", newline="") as lh, wide.open("w", newline="") as wh:
        lw, ww = csv.writer(lh), csv.writer(wh)
        lw.writerow(["student_id", "item_id", "response"])
        ww.writerow(["student_id", *[f"item{j + 1}" for j in range(5)]])
        for i, row in enumerate(x):
            ww.writerow([f"p{i}", *row.tolist()])
            for j, v in enumerate(row):
                lw.writerow([f"p{i}", f"item{j + 1}", int(v)])
    return long, wide


def _loglik(output: str) -> float:
    match = re.search(r"marginal log-likelihood: (-?\d+\.\d+)", output)
    assert match, output
    return float(match.group(1))


def test_calibrate_and_score_round_trip(tmp_path: Path) -> None:
    long, wide = _lsat7_files(tmp_path)
    params = tmp_path / "params.csv"
    result = runner.invoke(root_app, ["irt", "calibrate", str(long), "--model", "2pl", "--out", str(params)])
    assert result.exit_code == 0, result.output
    assert _loglik(result.stdout) == pytest.approx(-2658.805, abs=0.01)
    header = params.read_text().splitlines()[0]
    assert header == "item_id,model,a,b,c,se_a,se_b,se_c,n"
    p = read_params(params)
    np.testing.assert_allclose(p.a, [0.988, 1.081, 1.706, 0.765, 0.736], atol=0.01)
    assert p.n.tolist() == [1000] * 5

    params_wide = tmp_path / "params_wide.csv"
    result = runner.invoke(
        root_app, ["irt", "calibrate", str(wide), "--wide", "--model", "2pl", "--out", str(params_wide)]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(read_params(params_wide).a, p.a, atol=1e-6)

    theta = tmp_path / "theta.csv"
    for method in ("eap", "map", "mle"):
        result = runner.invoke(
            root_app,
            ["irt", "score", str(long), "--params", str(params), "--method", method, "--out", str(theta)],
        )
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(theta.open()))
        assert list(rows[0]) == ["student_id", "theta", "se", "n_items"]
        assert len(rows) == 1000
        assert {r["n_items"] for r in rows} == {"5"}
        values = np.array([float(r["theta"]) for r in rows])
        # more correct answers → higher θ (the first students answered nothing right)
        assert values[0] < values[-1]


def test_anchor_option_fixes_anchor_items(tmp_path: Path) -> None:
    long, _ = _lsat7_files(tmp_path)
    anchors = tmp_path / "anchors.csv"
    anchors.write_text("item_id,model,a,b\nitem1,2pl,0.988,-1.879\nitem2,2pl,1.081,-0.748\n")
    out = tmp_path / "params.csv"
    result = runner.invoke(
        root_app,
        ["irt", "calibrate", str(long), "--model", "2pl", "--out", str(out), "--anchor", str(anchors)],
    )
    assert result.exit_code == 0, result.output
    p = read_params(out)
    assert p.a[:2].tolist() == [0.988, 1.081]
    # the anchors carry the published scale: the free items land where the unanchored fit put them
    np.testing.assert_allclose(p.a[2:], [1.706, 0.765, 0.736], atol=0.05)


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        ("student_id,item_id,response\ns1,q1,2\n", ["--model", "2pl"], "response must be 0 or 1"),
        ("", ["--model", "2pl"], "empty"),
        ("student_id,item_id,response\ns1,q1,1\n", ["--model", "4pl"], "--model must be one of"),
        ("student_id,item_id,response\ns1,q1,1\ns2,q1,1\n", ["--model", "2pl"], "every response"),
    ],
)
def test_calibrate_bad_input_exits_2_with_one_line(
    tmp_path: Path, content: str, args: list[str], fragment: str
) -> None:
    responses = tmp_path / "r.csv"
    responses.write_text(content)
    result = runner.invoke(
        root_app, ["irt", "calibrate", str(responses), *args, "--out", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0]


def test_score_rejects_unknown_items(tmp_path: Path) -> None:
    params = tmp_path / "p.csv"
    params.write_text("item_id,model,a,b,c,se_a,se_b,se_c,n\nq1,2pl,1,0,0,,,,0\n")
    responses = tmp_path / "r.csv"
    responses.write_text("student_id,item_id,response\ns1,q1,1\ns1,q9,0\n")
    result = runner.invoke(
        root_app, ["irt", "score", str(responses), "--params", str(params), "--out", str(tmp_path / "t.csv")]
    )
    assert result.exit_code == 2
    assert "unknown item 'q9'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

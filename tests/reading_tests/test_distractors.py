"""Distractor analysis: a miskey and a 'partly right' key are named; correctly keyed items are not."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from reading_tests.calibration_report import calibrate_with_report
from reading_tests.cli.root import root_app
from reading_tests.distractors import analyse_distractors
from reading_tests.io import ResponseData, write_responses

OPTIONS = np.array(list("ABCD"))


def _choices(seed: int, n: int = 3000, k: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Option indices chosen (0 = key A): 3PL-like key probability, distractors uniform otherwise."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.7, 2.2, k), rng.normal(0, 1, k)
    theta = rng.normal(0, 1, n)
    p = 0.2 + 0.8 / (1 + np.exp(-a * (theta[:, None] - b)))
    chosen = np.where(rng.random((n, k)) < p, 0, rng.integers(1, 4, (n, k)))
    return chosen, theta


def _data(chosen: np.ndarray, keys: np.ndarray) -> tuple[ResponseData, dict[tuple[str, str], str]]:
    data = ResponseData.from_dense((chosen == keys[None, :]).astype(float))
    choices = {
        (sid, iid): str(OPTIONS[chosen[i, j]])
        for i, sid in enumerate(data.student_ids)
        for j, iid in enumerate(data.item_ids)
    }
    return data, choices


def test_correct_keys_raise_no_warning_and_the_key_is_found() -> None:
    chosen, _ = _choices(1)
    data, choices = _data(chosen, np.zeros(chosen.shape[1], dtype=int))
    results = analyse_distractors(data, choices)
    assert {r.key for r in results} == {"A"}
    assert all(not r.beating_key for r in results)
    # the key's point-biserial with the rest score is positive, the distractors' negative
    for r in results:
        assert all((o.point_biserial > 0) == o.is_key for o in r.options), r


def test_a_flipped_key_is_named() -> None:
    chosen, _ = _choices(2)
    keys = np.zeros(chosen.shape[1], dtype=int)
    keys[5] = 2  # item i5 scored with option C as the key
    data, choices = _data(chosen, keys)
    _, rep = calibrate_with_report(data, "2pl", se="none", choices=choices)
    assert rep.items_with("distractor_beats_key") == ["i5"]
    warning = next(w for w in rep.warnings if w.code == "distractor_beats_key")
    assert "'A'" in warning.message and "'C'" in warning.message


def test_a_partly_right_key_is_named_although_its_discrimination_is_positive() -> None:
    """Key B attracts the middle, distractor A the top (nominal-model logits): only the options show it."""
    chosen, theta = _choices(3)
    rng = np.random.default_rng(4)
    logits = np.stack([2.5 * theta - 1.5, 1.0 * theta, 0 * theta, 0 * theta], axis=1)
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    chosen[:, 9] = (rng.random(theta.size)[:, None] > prob.cumsum(axis=1)).sum(axis=1)
    keys = np.zeros(chosen.shape[1], dtype=int)
    keys[9] = 1
    data, choices = _data(chosen, keys)
    result, rep = calibrate_with_report(data, "2pl", se="none", choices=choices)
    assert result.params.a[9] > 0 and "i9" not in rep.items_with("miskey")
    assert rep.items_with("distractor_beats_key") == ["i9"]


def test_cli_choices_option(tmp_path: Path) -> None:
    chosen, _ = _choices(5, n=1500, k=12)
    keys = np.zeros(12, dtype=int)
    keys[3] = 1
    data, choices = _data(chosen, keys)
    resp, ch, out, rep = (tmp_path / n for n in ("r.csv", "c.csv", "p.csv", "r.json"))
    write_responses(data, resp)
    with ch.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "item_id", "choice"])
        writer.writerows([s, i, c] for (s, i), c in choices.items())
    args = ["irt", "calibrate", str(resp), "--model", "2pl", "--out", str(out), "--report", str(rep)]
    result = CliRunner().invoke(root_app, [*args, "--choices", str(ch)])
    assert result.exit_code == 0, result.output
    codes = {(w["code"], w["item_id"]) for w in json.loads(rep.read_text())["warnings"]}
    assert ("distractor_beats_key", "i3") in codes
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,item_id\ns0,i0\n")
    result = CliRunner().invoke(root_app, [*args, "--choices", str(bad)])
    assert result.exit_code == 2 and "student_id,item_id,choice" in result.output

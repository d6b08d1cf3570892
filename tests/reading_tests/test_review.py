"""Review workflow: draft → reviewed by a second person → pilot → operational only via psychometrics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reading_tests.cli.root import root_app
from reading_tests.errors import InvalidInput
from reading_tests.items import load_bank, validate_path
from reading_tests.review import record_review, set_status
from tests.reading_tests.test_items import GOOD, write

runner = CliRunner()
TODAY = dt.date(2026, 12, 7)
ALL = ["key", "distractors", "readings", "grade_level", "bias", "text_only"]
AUTHORED = GOOD + "review:\n  written_by: author-a\n  reviewed_by: null\n  reviewed_on: null\n  checks: []\n"


def test_a_second_person_with_all_checks_makes_a_draft_reviewed(tmp_path: Path) -> None:
    path = write(tmp_path, AUTHORED)
    item = record_review(path, reviewer="reviewer-b", checks=ALL, today=TODAY, notes="key OK")
    assert item.status == "reviewed" and item.review is not None and item.review.complete
    assert (item.review.reviewed_by, item.review.reviewed_on, item.review.notes) == (
        "reviewer-b",
        "2026-12-07",
        "key OK",
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith(GOOD.split("status:")[0])  # the author's part is kept byte for byte
    assert GOOD.split("status: draft\n")[1] in text
    assert validate_path(tmp_path).ok


def test_partial_review_keeps_the_draft(tmp_path: Path) -> None:
    path = write(tmp_path, AUTHORED)
    item = record_review(path, reviewer="reviewer-b", checks=["key", "readings"], today=TODAY)
    assert item.status == "draft" and item.review is not None and item.review.checks == ("key", "readings")


def test_the_author_cannot_review_and_an_author_must_be_known(tmp_path: Path) -> None:
    path = write(tmp_path, AUTHORED)
    with pytest.raises(InvalidInput, match="a second person must review it"):
        record_review(path, reviewer="author-a", checks=ALL)
    bare = write(tmp_path, GOOD, name="ANA-902")
    bare.write_text(GOOD.replace("ANA-901", "ANA-902"), encoding="utf-8")
    with pytest.raises(InvalidInput, match="--author"):
        record_review(bare, reviewer="reviewer-b", checks=ALL)
    item = record_review(bare, reviewer="reviewer-b", checks=ALL, author="author-a", today=TODAY)
    assert item.review is not None and item.review.written_by == "author-a"
    with pytest.raises(InvalidInput, match="unknown check"):
        record_review(path, reviewer="reviewer-b", checks=["spelling"])


def test_operational_only_by_psychometrics_after_a_real_calibration(tmp_path: Path) -> None:
    path = write(tmp_path, AUTHORED)
    record_review(path, reviewer="reviewer-b", checks=ALL, today=TODAY)
    assert set_status(path, status="pilot", by="lead", role="reviewer").status == "pilot"
    with pytest.raises(InvalidInput, match="only the psychometrics role"):
        set_status(path, status="operational", by="lead", role="reviewer")
    with pytest.raises(InvalidInput, match="no irt block"):
        set_status(path, status="operational", by="psy", role="psychometrics")
    irt = (
        "irt: {model: 3pl, a: 1.1, b: 0.2, c: 0.2, se_a: 0.1, se_b: 0.1, se_c: 0.05, n: %d, "
        "provisional: %s, source: x}\n"
    )
    path.write_text(path.read_text(encoding="utf-8") + irt % (3000, "true"), encoding="utf-8")
    with pytest.raises(InvalidInput, match="provisional=True"):
        set_status(path, status="operational", by="psy", role="psychometrics")
    text = path.read_text(encoding="utf-8").replace("provisional: true", "provisional: false")
    path.write_text(text, encoding="utf-8")
    item = set_status(path, status="operational", by="psy", role="psychometrics", today=TODAY)
    assert item.status == "operational" and item.review is not None
    assert (item.review.approved_by, item.review.approved_on, item.review.reviewed_by) == (
        "psy",
        "2026-12-07",
        "reviewer-b",
    )
    assert path.read_text(encoding="utf-8").rstrip().endswith("source: x}")  # tool block stays last


def test_validator_refuses_operational_without_the_psychometrics_step(tmp_path: Path) -> None:
    done = AUTHORED.replace("reviewed_by: null", "reviewed_by: b").replace(
        "reviewed_on: null", "reviewed_on: 2026-12-07"
    )
    done = done.replace("checks: []", "checks: [key, distractors, readings, grade_level, bias, text_only]")
    write(tmp_path, done.replace("status: draft", "status: operational"))
    assert any("only the psychometrics step" in str(e) for e in validate_path(tmp_path).errors)


def test_skipping_a_step_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, AUTHORED)
    with pytest.raises(InvalidInput, match="through `giga items review`"):
        set_status(path, status="reviewed", by="x", role="reviewer")
    with pytest.raises(InvalidInput, match="may become retired, not pilot"):
        set_status(path, status="pilot", by="x", role="reviewer")


def test_cli_review_and_set_status(tmp_path: Path) -> None:
    write(tmp_path, AUTHORED)
    args = [
        "items",
        "review",
        "ANA-901",
        "--reviewer",
        "reviewer-b",
        "--checks",
        ",".join(ALL),
        "--bank",
        str(tmp_path),
    ]
    result = runner.invoke(root_app, args)
    assert result.exit_code == 0, result.output
    assert "status reviewed" in result.output
    assert load_bank(tmp_path)["ANA-901"].status == "reviewed"
    again = runner.invoke(root_app, args)
    assert again.exit_code == 2 and "only a draft is reviewed" in again.output
    bad = runner.invoke(
        root_app, ["items", "set-status", "ANA-999", "pilot", "--by", "x", "--bank", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "no item ANA-999" in bad.output

"""The shipped bank against the city-bank targets (issue 17, DESIGN §5.1) and the `giga items` commands."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reading_tests.bank_stats import MIN_TEST_ITEMS, counts, coverage_check, load_exemptions
from reading_tests.cli.root import root_app
from reading_tests.items import BANDS, default_bank_path, validate_path
from reading_tests.text import load_overrides, suggest_ruby

#: Every skill has reached the city target of MIN_TEST_ITEMS test items in every grade band (2026-12-07)
#: and may not fall below it.
SKILLS_AT_TARGET = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
runner = CliRunner()


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return validate_path()


def test_shipped_bank_is_valid(report) -> None:  # type: ignore[no-untyped-def]
    assert report.errors == []


def test_delivered_skills_have_20_test_items_in_every_band(report) -> None:  # type: ignore[no-untyped-def]
    active = counts([i for i in report.items if i.status != "retired"])
    short = {
        (skill, band): active[(skill, band, "test")]
        for skill in SKILLS_AT_TARGET
        for band in BANDS
        if active[(skill, band, "test")] < MIN_TEST_ITEMS
    }
    assert short == {}


def test_every_skill_and_band_reaches_the_city_target(report) -> None:  # type: ignore[no-untyped-def]
    check = coverage_check([i for i in report.items if i.status != "retired"], load_exemptions())
    assert check.ok, check.details


def test_skills_spread_over_bands_genres_and_formats(report) -> None:  # type: ignore[no-untyped-def]
    for skill in SKILLS_AT_TARGET:
        items = [i for i in report.items if i.skill == skill]
        assert set(Counter(i.grade_band for i in items)) == set(BANDS), skill  # 小1–2 included
        assert len({i.genre for i in items}) >= 3, skill
    assert any(i.writing_mode == "vertical" for i in report.items)
    inference = [i for i in report.items if i.skill == "INF" and i.format == "true_false_cannot_tell"]
    assert {i.grade_band for i in inference} == set(BANDS)  # RST's 正しい／誤り／判断できない in every band


def test_para_same_and_different_are_balanced_in_each_band(report) -> None:  # type: ignore[no-untyped-def]
    para = [i for i in report.items if i.skill == "PARA"]
    assert all(i.format == "same_different" for i in para)
    for band in BANDS:
        keys = Counter(i.key[0] for i in para if i.grade_band == band and i.pool == "test")
        total = keys["same"] + keys["different"]
        assert total >= 10 and 0.4 <= keys["same"] / total <= 0.6, (band, dict(keys))


def test_keys_are_spread_over_positions(report) -> None:  # type: ignore[no-untyped-def]
    keys = Counter(
        i.key[0] for i in report.items if i.skill in SKILLS_AT_TARGET and i.format == "single_choice"
    )
    assert min(keys.values()) >= 0.15 * sum(keys.values())


def test_stored_ruby_matches_fresh_suggestions(report) -> None:  # type: ignore[no-untyped-def]
    """The reviewed ruby in the files is what the tool produces now (overrides included), for every text."""
    overrides = load_overrides()
    for item in report.items:
        texts = {name: getattr(item, name) for name in ("stimulus", "compare", "instruction", "explanation")}
        for name, text in texts.items():
            if isinstance(text, str) and name in item.ruby:
                fresh, unknown = suggest_ruby(text, overrides)
                assert tuple(fresh) == item.ruby_for(name), (item.id, name)
                assert unknown == [], (item.id, name)
        for option in item.options:
            if option.text and item.ruby:
                fresh, _ = suggest_ruby(option.text, overrides)
                assert tuple(fresh) == tuple(option.ruby), (item.id, option.id)
        assert item.readability is not None, item.id


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    result = runner.invoke(root_app, ["items", "validate"])
    assert result.exit_code == 0, result.output
    assert "items valid" in result.output
    source = default_bank_path() / "ANA" / "ANA-001.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    bad = tmp_path / "ANA" / "ANA-001.yaml"
    bad.parent.mkdir()
    bad.write_text(
        source.read_text(encoding="utf-8").replace(f"key: [{data['key'][0]}]", "key: [Q]"), encoding="utf-8"
    )
    result = runner.invoke(root_app, ["items", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "ANA-001.yaml:" in result.output and "key 'Q' is not an option id" in result.output
    result = runner.invoke(root_app, ["items", "validate", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_cli_stats_and_ruby_dry_run() -> None:
    result = runner.invoke(root_app, ["items", "stats"])
    assert result.exit_code == 0 and "PARA\tP3-4\tsame_different" in result.output
    result = runner.invoke(root_app, ["items", "ruby", str(default_bank_path() / "DEP")])
    assert result.exit_code == 0 and "0 file(s) to update" in result.output


def test_cli_qti_export_import(tmp_path: Path) -> None:
    out = tmp_path / "qti"
    result = runner.invoke(root_app, ["items", "export-qti", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        root_app, ["items", "import-qti", str(out / "INF-013.xml"), "--out", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    imported = validate_path(tmp_path / "b")
    assert (imported.errors == [] and imported.items[0].key == ("A", "B", "D")) or imported.items[
        0
    ].format == "select_all"
    result = runner.invoke(root_app, ["items", "import-qti", str(tmp_path / "nope.xml")])
    assert result.exit_code == 2 and "no such file" in result.output

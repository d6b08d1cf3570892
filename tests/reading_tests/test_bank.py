"""The shipped bank and the `giga items` commands (exit codes, messages)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reading_tests.cli.root import root_app
from reading_tests.items import default_bank_path, validate_path
from reading_tests.text import suggest_ruby

MY_SKILLS = ("DEP", "ANA", "PARA", "INF")
runner = CliRunner()


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return validate_path()


def test_shipped_bank_is_valid(report) -> None:  # type: ignore[no-untyped-def]
    assert report.errors == []


def test_each_skill_has_20_items_spread_over_bands_and_genres(report) -> None:  # type: ignore[no-untyped-def]
    for skill in MY_SKILLS:
        items = [i for i in report.items if i.skill == skill]
        assert len(items) == 20
        bands = Counter(i.grade_band for i in items)
        assert bands == {"P3-4": 7, "P5-6": 7, "J1-3": 6}
        assert len({i.genre for i in items}) >= 3
    assert any(i.writing_mode == "vertical" for i in report.items)
    para = [i for i in report.items if i.skill == "PARA"]
    assert all(i.format == "same_different" for i in para)
    assert Counter(i.key[0] for i in para) == {"same": 10, "different": 10}


def test_keys_are_spread_over_positions(report) -> None:  # type: ignore[no-untyped-def]
    keys = Counter(i.key[0] for i in report.items if i.skill in MY_SKILLS and i.format == "single_choice")
    assert min(keys.values()) >= 0.15 * sum(keys.values())


def test_stored_ruby_matches_fresh_suggestions(report) -> None:  # type: ignore[no-untyped-def]
    """The reviewed ruby in the files is what the tool produces now (overrides included)."""
    for item in report.items:
        if item.skill in MY_SKILLS:
            fresh, unknown = suggest_ruby(item.stimulus)
            assert tuple(fresh) == item.ruby_for("stimulus"), item.id
            assert unknown == []
            assert item.readability is not None


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

"""Content checks for the REP, INST_DICT and INST_MATH items of the shipped bank (DESIGN §5.1)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from reading_tests.items import Item, default_bank_path, validate_path

SKILLS = ("REP", "INST_DICT", "INST_MATH")
MAX_SVG_BYTES = 1600


@pytest.fixture(scope="module", params=SKILLS)
def skill_items(request: pytest.FixtureRequest) -> tuple[str, list[Item]]:
    report = validate_path(default_bank_path() / request.param)
    assert report.ok, "\n".join(str(issue) for issue in report.errors)
    return request.param, report.items


def test_each_band_from_3rd_grade_up_has_twenty_test_items(skill_items: tuple[str, list[Item]]) -> None:
    """小3 to 中3 reach the city target (all bands with the whole bank in test_bank.py)."""
    skill, items = skill_items
    tests = Counter(item.grade_band for item in items if item.pool == "test")
    assert all(tests[band] >= 20 for band in ("P3-4", "P5-6", "J1-3")), f"{skill}: {dict(tests)}"
    assert len({item.id for item in items}) == len(items)


def test_each_skill_spreads_over_three_genres(skill_items: tuple[str, list[Item]]) -> None:
    skill, items = skill_items
    assert len({item.genre for item in items}) >= 3, skill


def test_difficulty_rises_with_the_band(skill_items: tuple[str, list[Item]]) -> None:
    _, items = skill_items
    by_band: dict[str, list[float]] = {}
    for item in items:
        by_band.setdefault(item.grade_band, []).append(item.design_difficulty)
    mean = {band: sum(values) / len(values) for band, values in by_band.items()}
    order = [band for band in ("P1-2", "P3-4", "P5-6", "J1-3") if band in mean]
    assert [mean[band] for band in order] == sorted(mean[band] for band in order), mean


def test_select_all_keys_are_proper_subsets(skill_items: tuple[str, list[Item]]) -> None:
    _, items = skill_items
    for item in items:
        if item.format == "select_all":
            assert 1 <= len(item.key) < len(item.options), item.id


def test_pictures_are_small_accessible_svgs() -> None:
    report = validate_path(default_bank_path() / "REP")
    for item in report.items:
        # a REP item matches text to pictures: picture options, or its picture in the question (figure)
        assert item.format == "picture_choice" or item.figure is not None, item.id
        pictures = [(o.id, o.svg, o.alt) for o in item.options if item.format == "picture_choice"]
        if item.figure is not None:
            pictures.append(("figure", item.figure.svg, item.figure.alt))
        for name, svg, alt in pictures:
            assert svg is not None and alt, (item.id, name)
            assert len(svg.encode()) <= MAX_SVG_BYTES, (item.id, name)
            root = ET.fromstring(svg)
            assert root.get("role") == "img" and root.get("viewBox"), (item.id, name)
            texts = [e for e in root.iter() if e.tag.endswith("text")]
            if texts:
                assert "BIZ UDGothic" in svg, (item.id, name)
            sizes = [float(e.get("font-size", "")) for e in root.iter() if e.get("font-size")]
            assert all(size >= 12 for size in sizes), (item.id, name, sizes)
        if item.format == "picture_choice":
            assert len({option.svg for option in item.options}) == len(item.options), item.id

"""One template environment over every domain's folder: names are unique, so none shadows another."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lms.pages.render import TEMPLATE_DIRS, templates

LMS = Path(__file__).resolve().parents[2] / "lms"


def test_every_template_folder_is_searched() -> None:
    assert set(TEMPLATE_DIRS) == set(LMS.rglob("templates"))


def test_template_names_are_unique_across_domains() -> None:
    names = Counter(p.relative_to(d).as_posix() for d in TEMPLATE_DIRS for p in d.rglob("*.html"))
    assert [name for name, n in names.items() if n > 1] == []


def test_domain_templates_resolve_in_the_one_environment() -> None:
    expected = {
        "runner_test.html": "reading/runner",
        "practice_class.html": "reading/practice",
        "base.html": "pages",
    }
    for name, folder in expected.items():
        assert Path(str(templates.get_template(name).filename)).parent == LMS / folder / "templates"

"""Released feedback shows no hidden test (nor a traceback quoting one) and explains 全角 mistakes.

A real nbgrader cycle in a temporary course: generate, a hard-coding student's submission, autograde (without
the sandbox: it is not what is tested here), generate_feedback; the HTML the student receives is read back.
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from hub_config.feedback import FAILED_HIDDEN, HIDDEN_PLACEHOLDER
from hub_config.nbgrader_config import configure_nbgrader
from hub_config.zenkaku import hint

ASSIGNMENT = "lesson"
HIDDEN_MARK = "HIDDEN-ANSWER-KEY-3141"


def _cell(source: str, grade_id: str, *, points: int = 0) -> nbformat.NotebookNode:
    node = nbformat.v4.new_code_cell(source)
    node.id = grade_id
    meta: dict[str, object] = {"grade_id": grade_id, "schema_version": 3, "locked": points > 0}
    meta.update(grade=points > 0, solution=points == 0)
    if points:
        meta["points"] = points
    node.metadata["nbgrader"] = meta
    return node


def _course(root: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "answer"),
        _cell(
            "assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
            f"assert double(5) == 10, 'double(5) {HIDDEN_MARK}'\n### END HIDDEN TESTS",
            "check",
            points=2,
        ),
        _cell("### BEGIN SOLUTION\ny = 1\n### END SOLUTION", "answer2"),
        _cell("assert y == 1", "check2", points=1),
    ]
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def _api(root: Path, *, ours: bool):  # type: ignore[no-untyped-def]
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = Config()
    if ours:
        configure_nbgrader(config, exchange_root=str(root / "exchange"), sandbox=False)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "feedback-ci"
    return NbGraderAPI(config=config)


def _feedback_html(root: Path, *, ours: bool) -> str:
    _course(root)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # nbgrader: alembic
    api = _api(root, ours=ours)
    assert api.generate_assignment(ASSIGNMENT, force=True)["success"]
    nb = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.id == "answer":  # hard-coded for the visible test only
            cell.source = "def double(x):\n    return 4"
        elif cell.id == "answer2":  # typed with the IME on
            cell.source = "y = １"
    folder = root / "submitted" / "hana" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text("2026-12-07 09:00:00.000000 UTC")
    result = api.autograde(ASSIGNMENT, "hana")
    assert result["success"], result["log"]
    result = api.generate_feedback(ASSIGNMENT, "hana")
    assert result["success"], result["log"]
    page = (root / "feedback" / "hana" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", page))  # the text a student reads (code is highlighted)


@pytest.mark.parametrize("ours", [True, False], ids=["platform", "stock-nbgrader"])
def test_feedback_hides_hidden_tests_and_explains_zenkaku(tmp_path: Path, ours: bool) -> None:
    text = _feedback_html(tmp_path, ours=ours)
    if not ours:  # the control: stock feedback is the answer key
        assert HIDDEN_MARK in text
        assert "ヒント" not in text
        return
    assert HIDDEN_MARK not in text and "BEGIN HIDDEN TESTS" not in text
    assert HIDDEN_PLACEHOLDER[2:] in text and FAILED_HIDDEN in text
    assert "assert double(2) == 4" in text  # the visible test stays
    assert "半角の「1」に直しましょう" in text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("invalid character '（' (U+FF08)", "半角の「(」"),
        ("invalid non-printable character U+3000", "全角スペース"),
        ("invalid character '、' (U+3001)", "「,」（カンマ）"),
        ("invalid character '”' (U+201D)", '「"」'),
        ("invalid character '１' (U+FF11)", "半角の「1」"),
    ],
)
def test_hints_name_the_character_and_its_replacement(message: str, expected: str) -> None:
    text = hint(f"SyntaxError: {message} (cell.py, line 1)")
    assert text is not None and expected in text


@pytest.mark.parametrize(
    "message",
    ["invalid syntax", "invalid character '→' (U+2192)", "name 'x' is not defined", "unterminated string"],
)
def test_no_hint_for_other_errors(message: str) -> None:
    assert hint(message) is None

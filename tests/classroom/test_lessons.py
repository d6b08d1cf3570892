"""The lessons in classroom/: nbgrader accepts every source, every solution passes its own tests, and the
student version (solutions removed) fails them — so the tests really test something.

Kernels are slow, so the module generates all assignments once and executes the 14 notebooks concurrently.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
CLASSROOM = ROOT / "classroom"
sys.path.insert(0, str(CLASSROOM))

import build_sources  # noqa: E402
from lessons import LESSONS  # noqa: E402

_spec = importlib.util.spec_from_file_location("classroom_make_data", CLASSROOM / "data" / "make_data.py")
assert _spec and _spec.loader
make_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_data)

NAMES = [lesson.name for lesson in LESSONS]
PROGRAMMING = ["変数と計算", "条件分岐", "繰り返し", "関数", "アルゴリズム"]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _nbgrader_meta(cell: dict[str, Any]) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def _autograder_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and _nbgrader_meta(c).get("grade")]


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [o.get("ename", "") for o in cell.get("outputs", []) if o.get("output_type") == "error"]


Executed = dict[tuple[str, str], nbformat.NotebookNode]  # (lesson, "source" | "release") → executed


def _generated_course(root: Path, version_folder: str) -> Path:
    """``root`` as an nbgrader course directory whose source/ is ``classroom/<version_folder>``, with every
    assignment generated (student copies in release/)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    shutil.copytree(CLASSROOM / version_folder, root / "source")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(CLASSROOM)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "lessons-ci"
    # nbgrader stamps a new gradebook by running the `alembic` script, which lives next to this interpreter.
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{old_path}"
    try:
        api = NbGraderAPI(config=config)
        for name in NAMES:
            result = api.generate_assignment(name, force=True)
            assert result["success"], f"nbgrader generate_assignment {name} failed:\n{result['log']}"
    finally:
        os.environ["PATH"] = old_path
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 小学生 version as a generated course (the 中学生 one differs in markdown only: see below)."""
    return _generated_course(tmp_path_factory.mktemp("course"), "source")


async def _execute_all(jobs: dict[tuple[str, str], Path]) -> dict[tuple[str, str], nbformat.NotebookNode]:
    limit = asyncio.Semaphore(4)

    async def run(path: Path) -> nbformat.NotebookNode:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        async with limit:
            await client.async_execute()
        return nb

    results = await asyncio.gather(*(run(path) for path in jobs.values()))
    return dict(zip(jobs, results, strict=True))


@pytest.fixture(scope="module")
def executed(course: Path) -> Executed:
    """Every source notebook (with solutions) and every release notebook (without), executed."""
    jobs = {}
    for name in NAMES:
        jobs[(name, "source")] = course / "source" / name / f"{name}.ipynb"
        jobs[(name, "release")] = course / "release" / name / f"{name}.ipynb"
    return asyncio.run(_execute_all(jobs))


def test_course_covers_the_required_topics() -> None:
    titles = " ".join(lesson.title for lesson in LESSONS)
    assert len(LESSONS) >= 6
    for topic in PROGRAMMING:
        assert topic in titles
    assert sum(1 for lesson in LESSONS if lesson.topic == "data_literacy") >= 2
    text = " ".join(cell.text for lesson in LESSONS for cell in lesson.cells)
    for phrase in ("人口", "たて軸", "平均", "中央値", "アンケート"):
        assert phrase in text


@pytest.mark.parametrize("name", NAMES)
def test_lesson_has_autograded_tests_and_a_rubric_graded_answer(name: str) -> None:
    nb = nbformat.read(CLASSROOM / "source" / name / f"{name}.ipynb", as_version=4)
    tests = _autograder_cells(nb)
    manual = [c for c in nb.cells if c.cell_type == "markdown" and _nbgrader_meta(c).get("grade")]
    assert tests and all(_nbgrader_meta(c)["points"] > 0 for c in tests)
    assert manual and all(_nbgrader_meta(c)["points"] > 0 for c in manual)
    rubrics = [c for c in nb.cells if c.cell_type == "markdown" and "ルーブリック" in c.source]
    assert len(rubrics) >= len(manual)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert JAPANESE.search(cell.source), f"markdown cell {cell.id} is not in Japanese"
    solutions = [c for c in nb.cells if _nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions)
    if name < "06":
        assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests)


def test_shipped_notebooks_and_manifest_match_the_generator(tmp_path: Path) -> None:
    build_sources.build(tmp_path / "source")
    assert (tmp_path / "course.yaml").read_bytes() == (CLASSROOM / "course.yaml").read_bytes()
    for version in build_sources.VERSIONS.values():
        assert sorted(p.name for p in (CLASSROOM / version).iterdir()) == sorted(NAMES), version
        for name in NAMES:
            for shipped in (CLASSROOM / version / name).iterdir():
                rebuilt = tmp_path / version / name / shipped.name
                stale = f"{version}/{name}/{shipped.name} is stale: run classroom/build_sources.py"
                assert rebuilt.read_bytes() == shipped.read_bytes(), stale


RUBY = re.compile(r"<ruby>([^<]+)<rp>（</rp><rt>[^<]+</rt><rp>）</rp></ruby>")


@pytest.mark.parametrize("name", NAMES)
def test_the_chuugakusei_version_is_the_same_lesson_without_readings(name: str) -> None:
    """中学生版 = 小学生版 with every reading removed: same cells, ids, code, tests and points."""
    shou = nbformat.read(CLASSROOM / "source" / name / f"{name}.ipynb", as_version=4)
    chuu = nbformat.read(CLASSROOM / "source-chuu" / name / f"{name}.ipynb", as_version=4)
    assert len(shou.cells) == len(chuu.cells)
    readings = 0
    for a, b in zip(shou.cells, chuu.cells, strict=True):
        assert (a.id, a.cell_type, a.metadata) == (b.id, b.cell_type, b.metadata)
        assert "<ruby>" not in b.source
        readings += len(RUBY.findall(a.source))
        assert RUBY.sub(r"\1", a.source) == b.source
    assert readings > 0, "the 小学生 version of every lesson has readings"
    extras = sorted(p.name for p in (CLASSROOM / "source" / name).iterdir())
    assert extras == sorted(p.name for p in (CLASSROOM / "source-chuu" / name).iterdir())


def test_nbgrader_generates_every_chuugakusei_assignment(tmp_path: Path) -> None:
    root = _generated_course(tmp_path, "source-chuu")
    for name in NAMES:
        release = nbformat.read(root / "release" / name / f"{name}.ipynb", as_version=4)
        assert not any("<ruby>" in cell.source for cell in release.cells)
        assert "### BEGIN HIDDEN TESTS" not in "\n".join(cell.source for cell in release.cells)


def test_data_is_regenerated_identically_from_its_seed(tmp_path: Path) -> None:
    for written in make_data.main(tmp_path):
        assert written.read_bytes() == (CLASSROOM / "data" / written.name).read_bytes()
    licence = (CLASSROOM / "data" / "LICENCE.md").read_text(encoding="utf-8")
    assert "generated" in licence and "CC0" in licence and str(make_data.SEED) in licence


@pytest.mark.parametrize("name", NAMES)
def test_generate_assignment_strips_solutions_and_hidden_tests(course: Path, name: str) -> None:
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "解答例" not in text
    assert "# ここにコードを書こう" in text and "ここに答えを書こう" in text
    for extra in (CLASSROOM / "source" / name).iterdir():
        assert (course / "release" / name / extra.name).exists()


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes_its_own_tests(executed: Executed, name: str) -> None:
    nb = executed[(name, "source")]
    failures = {cell.id: _errors(cell) for cell in nb.cells if _errors(cell)}
    assert failures == {}
    assert all(cell.get("execution_count") for cell in _autograder_cells(nb))
    if name >= "06" and Path("/usr/share/fonts/truetype/bizud-gothic").is_dir():
        setup = nb.cells[1]  # use_japanese_font() reports the font it chose
        assert "BIZ UD" in str(setup.outputs), setup.outputs


def test_manifest_lists_every_lesson_with_its_points() -> None:
    manifest = yaml.safe_load((CLASSROOM / "course.yaml").read_text(encoding="utf-8"))
    assert [a["name"] for a in manifest["assignments"]] == NAMES
    for entry in manifest["assignments"]:
        nb = nbformat.read(CLASSROOM / entry["notebook"], as_version=4)
        points = sum(_nbgrader_meta(c).get("points", 0) for c in _autograder_cells(nb))
        assert points == entry["autograded_points"] > 0 and entry["manual_points"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_student_version_fails_the_autograder_tests(executed: Executed, name: str) -> None:
    nb = executed[(name, "release")]
    tests = _autograder_cells(nb)
    passed = [cell.id for cell in tests if not _errors(cell)]
    assert passed == [], "these tests pass without any answer written"
    # the given (non-graded) code still runs in the student version
    given = [c for c in nb.cells if c.cell_type == "code" and not _nbgrader_meta(c)]
    assert all(not _errors(cell) for cell in given)


def test_visible_checks_of_the_data_lessons_do_not_give_the_answers(course: Path) -> None:
    """06 and 07 showed the expected numbers in their checks (copying them earned full marks): those are
    hidden tests now, the visible checks only say whether an answer is plausible."""
    from lessons import data_literacy as data

    answers = [data._TOTAL, data._AGING_RATE, data._LARGEST, data._CHANGE_RATE, data._MEAN, data._MEDIAN,
               data._ABOVE_MEAN, data._READING_RATE, data._TOP_SUBJECT_COUNT]  # fmt: skip
    for name in ("06_population", "07_survey"):
        release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        visible = "\n".join(cell.source for cell in _autograder_cells(release))
        shown = [
            value for value in answers if re.search(rf"(?<![\d.]){re.escape(str(value))}(?![\d])", visible)
        ]
        shown += [value for value in data._SLEEP.values() if f"{value:.6f}" in visible]
        assert shown == [], f"{name} shows expected answers in its checks: {shown}"


def test_a_copied_number_instead_of_the_calculation_earns_nothing(course: Path, tmp_path: Path) -> None:
    """01 accepted `change = 440` (the number in the check) for 「total を使って計算」."""
    source = nbformat.read(course / "source" / "01_variables" / "01_variables.ipynb", as_version=4)
    for cell in source.cells:
        if _nbgrader_meta(cell).get("grade_id") == "ans_change":
            cell.source = "change = 440\nprint(change)"
    (tmp_path / "01").mkdir()
    path = tmp_path / "01" / "01_variables.ipynb"
    nbformat.write(source, path)
    nb = asyncio.run(_execute_all({("01", "copied"): path}))[("01", "copied")]
    by_id = {_nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    assert _errors(by_id["check_change"]) == ["AssertionError"]
    assert _errors(by_id["check_total"]) == []  # the rest of the notebook is unaffected


def test_bubble_sort_with_sorted_earns_nothing(course: Path, tmp_path: Path) -> None:
    """05 said 「sorted や sort は使わないこと」 but `return sorted(numbers)` earned full marks."""
    source = nbformat.read(course / "source" / "05_algorithms" / "05_algorithms.ipynb", as_version=4)
    for cell in source.cells:
        if _nbgrader_meta(cell).get("grade_id") == "ans_bubble_sort":
            cell.source = "def bubble_sort(numbers):\n    return sorted(numbers)"
    (tmp_path / "05").mkdir()
    path = tmp_path / "05" / "05_algorithms.ipynb"
    nbformat.write(source, path)
    nb = asyncio.run(_execute_all({("05", "sorted"): path}))[("05", "sorted")]
    by_id = {_nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    assert _errors(by_id["check_bubble_sort"]) == ["AssertionError"]
    assert _errors(by_id["check_linear_search"]) == []


def test_lesson_02_uses_no_function_before_lesson_04_and_hard_coding_earns_nothing(
    course: Path, tmp_path: Path
) -> None:
    """02 used def/return before 04 introduces functions; its answers are now plain if/elif/else into a
    variable, and the hidden tests re-run the answer cell with other inputs, so the value the visible check
    expects (`weather = "暑い"`) earns nothing."""
    for name in ("01_variables", "02_conditions", "03_loops"):  # functions are introduced in 04
        early = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        code_text = "\n".join(c.source for c in early.cells if c.cell_type == "code")
        assert not re.search(r"^\s*(def|return)\b", code_text, flags=re.MULTILINE), name
    source = nbformat.read(course / "source" / "02_conditions" / "02_conditions.ipynb", as_version=4)
    hard_coded = {
        "ans_judge_temperature": 'weather = "暑い"\nprint(weather)',
        "ans_is_even": "even = True\nprint(even)",
        "ans_ticket_price": "price = 300\nprint(price)",
    }
    for cell in source.cells:
        if _nbgrader_meta(cell).get("grade_id") in hard_coded:
            cell.source = hard_coded[_nbgrader_meta(cell)["grade_id"]]
    (tmp_path / "02").mkdir()
    path = tmp_path / "02" / "02_conditions.ipynb"
    nbformat.write(source, path)
    nb = asyncio.run(_execute_all({("02", "hard-coded"): path}))[("02", "hard-coded")]
    by_id = {_nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    for check in ("check_judge_temperature", "check_is_even", "check_ticket_price"):
        assert _errors(by_id[check]) == ["AssertionError"], check


def test_prose_has_readings_for_kanji_a_4th_grader_has_not_learnt() -> None:
    """Every kanji taught after 小4 (or outside the 教育漢字) in an instruction or marking guide is inside a
    <ruby> with a kana reading at or before its use in that cell; code is never touched."""
    from reading_tests.text import kanji_grade

    ruby_re = re.compile(r"<ruby>([^<]+)<rp>（</rp><rt>([ぁ-ゖー]+)</rt><rp>）</rp></ruby>")
    code_re = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
    missing: list[str] = []
    for path in sorted((CLASSROOM / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert "<ruby>" not in cell.source, path.name
                continue
            if _nbgrader_meta(cell).get("solution"):  # the student's answer area (a model answer)
                continue
            text = code_re.sub("", cell.source)
            read: set[str] = set()
            position = 0
            for match in ruby_re.finditer(text):
                before = text[position : match.start()]
                missing += [f"{path.name}: {ch}" for ch in before if _late(ch, read, kanji_grade)]
                read.update(match.group(1))
                position = match.end()
            missing += [f"{path.name}: {ch}" for ch in text[position:] if _late(ch, read, kanji_grade)]
    assert missing == []


def _late(ch: str, read: set[str], kanji_grade: Callable[[str], int]) -> bool:
    """A kanji above 小4 that has not had its reading yet in this cell."""
    return "\u4e00" <= ch <= "\u9fff" and kanji_grade(ch) > 4 and ch not in read


def test_lesson_01_rectangle_and_groups_copied_from_the_checks_earn_nothing(
    course: Path, tmp_path: Path
) -> None:
    """01's `area = 84` / `groups = 6` (the numbers in the visible checks) passed its old hidden tests
    (`height * width == area` holds for the copied numbers too); the answer cells now run again with other
    inputs."""
    source = nbformat.read(course / "source" / "01_variables" / "01_variables.ipynb", as_version=4)
    copied = {
        "ans_rectangle": "area = 84\nperimeter = 38\nprint(area, perimeter)",
        "ans_groups": "groups = 6\nrest = 1\nprint(groups, rest)",
    }
    for cell in source.cells:
        if _nbgrader_meta(cell).get("grade_id") in copied:
            cell.source = copied[_nbgrader_meta(cell)["grade_id"]]
    (tmp_path / "01c").mkdir()
    path = tmp_path / "01c" / "01_variables.ipynb"
    nbformat.write(source, path)
    nb = asyncio.run(_execute_all({("01", "copied-numbers"): path}))[("01", "copied-numbers")]
    by_id = {_nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    assert _errors(by_id["check_rectangle"]) == ["AssertionError"]
    assert _errors(by_id["check_groups"]) == ["AssertionError"]
    assert _errors(by_id["check_total"]) == []


def test_lesson_03_answers_typed_in_instead_of_looped_earn_nothing(course: Path, tmp_path: Path) -> None:
    """03's loops (now without functions, which come in 04): the values the checks accept, typed in, fail the
    hidden tests, which run the answer cell again with other inputs (or look for the loop)."""
    source = nbformat.read(course / "source" / "03_loops" / "03_loops.ipynb", as_version=4)
    typed = {
        "ans_total_1_to_100": "total_1_to_100 = 5050\nprint(total_1_to_100)",
        "ans_multiplication_row": "row = [3, 6, 9, 12, 15, 18, 21, 24, 27]\nprint(row)",
        "ans_count_char": "count = 2\nprint(count)",
        "ans_first_square_over": "smallest = 8\nprint(smallest)",
    }
    for cell in source.cells:
        if _nbgrader_meta(cell).get("grade_id") in typed:
            cell.source = typed[_nbgrader_meta(cell)["grade_id"]]
    (tmp_path / "03").mkdir()
    path = tmp_path / "03" / "03_loops.ipynb"
    nbformat.write(source, path)
    nb = asyncio.run(_execute_all({("03", "typed"): path}))[("03", "typed")]
    by_id = {_nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    for answer in typed:
        check = answer.replace("ans_", "check_", 1)
        assert _errors(by_id[check]) == ["AssertionError"], check

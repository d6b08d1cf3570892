"""Write the nbgrader source notebooks of the course from the lesson definitions in ``lessons/``.

Run ``python classroom/build_sources.py`` after editing a lesson; it rewrites
``classroom/source/<assignment>/<assignment>.ipynb`` (deterministic cell ids, so diffs stay small) and copies
the data files and the font helper each data-literacy assignment needs next to its notebook (nbgrader
releases every file in the assignment folder).

Two versions come from the one definition, with the same assignment names (a course is one class and gets
one version, chosen by the class's grades — ``lms/notebooks/lesson_versions.py``):

- ``source/`` — 小学生版: kanji a 小4 child has not learnt carry their reading (furigana);
- ``source-chuu/`` — 中学生版: the same notebooks without readings (中学生 read them as ordinary text).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from furigana import add_furigana  # noqa: E402
from lessons import LESSONS, Lesson  # noqa: E402

SOURCE = HERE / "source"  # 小学生版 (furigana)
SOURCE_CHUU = HERE / "source-chuu"  # 中学生版 (no furigana)
VERSIONS = {"shou": SOURCE.name, "chuu": SOURCE_CHUU.name}  # version → folder (next to course.yaml)
DATA = HERE / "data"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _nbgrader(cell_kind: str, grade_id: str, points: float = 0.0) -> dict[str, object]:
    meta: dict[str, object] = {"grade_id": grade_id, "schema_version": 3}
    if cell_kind == "solution":
        meta.update(grade=False, solution=True, locked=False)
    elif cell_kind == "tests":
        meta.update(grade=True, solution=False, locked=True, points=points)
    elif cell_kind == "answer":
        meta.update(grade=True, solution=True, locked=False, points=points)
    elif cell_kind == "locked":
        meta.update(grade=False, solution=False, locked=True)
    else:  # pragma: no cover - programming error in a lesson definition
        raise ValueError(f"unknown cell kind {cell_kind!r}")
    return meta


def build_notebook(lesson: Lesson, furigana: bool = True) -> nbformat.NotebookNode:
    """Turn a lesson definition into an nbgrader source notebook (``furigana``: the 小学生 version)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell_def in enumerate(lesson.cells):
        kind, text = cell_def.kind, cell_def.text.strip("\n")
        if kind in ("md", "rubric"):  # prose a 小4 child reads: readings for kanji taught later
            cell = nbformat.v4.new_markdown_cell(add_furigana(text) if furigana else text)
        elif kind == "answer":
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        cell.id = cell_def.grade_id or f"{lesson.name}-{index:02d}"
        if kind == "rubric":
            cell.metadata["nbgrader"] = _nbgrader("locked", cell.id)
        elif kind in ("solution", "tests", "answer"):
            cell.metadata["nbgrader"] = _nbgrader(kind, cell.id, cell_def.points)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def manifest() -> dict[str, object]:
    """The course manifest (classroom/course.yaml): what a teacher or the provisioning code needs to know."""
    return {
        "course": {
            "title": "プログラミングとデータの活用",
            "audience": "小学校高学年〜中学校（技術・家庭科 技術分野「情報の技術」）",
            "language": "ja",
            "nbgrader_version": "0.9.6",
        },
        "assignments": [
            {
                "name": lesson.name,
                "title": lesson.title,
                "topic": lesson.topic,
                "notebook": f"source/{lesson.name}/{lesson.name}.ipynb",
                "files": list(lesson.files),
                "autograded_points": lesson.autograded_points,
                "manual_points": lesson.manual_points,
            }
            for lesson in LESSONS
        ],
        "versions": {
            "shou": {"folder": VERSIONS["shou"], "for": "小学生（ふりがな付き）"},
            "chuu": {"folder": VERSIONS["chuu"], "for": "中学生（ふりがななし）"},
        },
        "data": {
            "folder": "data",
            "generator": "data/make_data.py",
            "licence": "CC0-1.0 (generated, fictional)",
        },
    }


def build(out_dir: Path = SOURCE) -> list[Path]:
    """Write every lesson's source folder under ``out_dir`` (小学生版) and under its sibling
    ``source-chuu`` (中学生版), and the manifest next to them; return the notebook paths."""
    written = []
    for version_dir, furigana in ((out_dir, True), (out_dir.parent / VERSIONS["chuu"], False)):
        for lesson in LESSONS:
            folder = version_dir / lesson.name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{lesson.name}.ipynb"
            nbformat.write(build_notebook(lesson, furigana=furigana), path)
            for extra in lesson.files:
                src = DATA / extra if (DATA / extra).exists() else HERE / extra
                shutil.copyfile(src, folder / extra)
            written.append(path)
    course_yaml = out_dir.parent / "course.yaml"
    header = "# Written by classroom/build_sources.py from classroom/lessons/: edit the lessons, rebuild.\n"
    course_yaml.write_text(header + yaml.safe_dump(manifest(), allow_unicode=True, sort_keys=False), "utf-8")
    return written


if __name__ == "__main__":
    for notebook in build():
        print(notebook.relative_to(HERE.parent))

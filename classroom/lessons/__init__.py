"""Lesson definitions: each lesson is a list of cells that ``build_sources.py`` turns into a notebook.

Cell kinds: ``md`` (instructions), ``code`` (given code), ``solution`` (autograded answer code with
``### BEGIN SOLUTION`` / ``### END SOLUTION``), ``tests`` (autograder tests with points; may hold
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``), ``rubric`` (locked markdown: the marking guide shown
to students and teachers) and ``answer`` (a manually graded markdown answer with points; the model answer
sits between the solution markers and is removed from the student version).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    kind: str
    text: str
    grade_id: str | None = None
    points: float = 0.0


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    topic: str
    cells: list[Cell]
    files: list[str] = field(default_factory=list)

    @property
    def autograded_points(self) -> float:
        return sum(c.points for c in self.cells if c.kind == "tests")

    @property
    def manual_points(self) -> float:
        return sum(c.points for c in self.cells if c.kind == "answer")


def md(text: str) -> Cell:
    return Cell("md", text)


def code(text: str) -> Cell:
    return Cell("code", text)


def solution(grade_id: str, text: str) -> Cell:
    return Cell("solution", text, grade_id)


def tests(grade_id: str, points: float, text: str) -> Cell:
    return Cell("tests", text, grade_id, points)


def rubric(text: str) -> Cell:
    return Cell("rubric", text)


def answer(grade_id: str, points: float, text: str) -> Cell:
    return Cell("answer", text, grade_id, points)


from .data_literacy import POPULATION, SURVEY  # noqa: E402
from .programming import ALGORITHMS, CONDITIONS, FUNCTIONS, LOOPS, VARIABLES  # noqa: E402

LESSONS: list[Lesson] = [VARIABLES, CONDITIONS, LOOPS, FUNCTIONS, ALGORITHMS, POPULATION, SURVEY]

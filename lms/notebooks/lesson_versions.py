"""Which version of the platform's lessons a notebook course gets (classroom/build_sources.py writes both).

A course is one class: the 中学生版 (no furigana) when every grade of the class is 中1–中3, else the
小学生版 (readings for kanji a 小4 child has not learnt). A class with any 小学生 in it (07's 18 小6 +
18 中1) keeps the readings, and so does a class without grades: a reading never stops anyone from reading.
"""

from __future__ import annotations

from typing import Literal

from lms.core.jst import parse_grade

LessonVersion = Literal["shou", "chuu"]

LABELS: dict[LessonVersion, str] = {
    "shou": "小学生版（ふりがな付き）",
    "chuu": "中学生版（ふりがななし）",
}


def lesson_version(grades: str | None) -> LessonVersion:
    """``"chuu"`` when the class's grade codes (``"J1"``, ``"J1,J2"``) are all 中学校 grades, else
    ``"shou"``."""
    stages = [parse_grade(code.strip().upper()) for code in (grades or "").split(",") if code.strip()]
    if stages and all(stage is not None and stage[0] == "J" for stage in stages):
        return "chuu"
    return "shou"

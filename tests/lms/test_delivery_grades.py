"""Adaptive tests stay near the class's school year: a class below the bank's lowest reviewed grade gets the
nearest easier grades' items (小3 today for 小1), never the whole bank with 中3 texts, and its teacher is told
so on the assign page (issue 17: 小1–2 items are still drafts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

from lms.reading import delivery as dl
from reading_tests.items import SKILLS
from tests.lms.conftest import World


def spec(grade: int, max_items: int = 15) -> dl.DesignSpec:
    return dl.DesignSpec(
        kind="cat", skills=(), min_items=5, max_items=max_items, se_target=0.0, item_ids=(), pilot_rate=0.0,
        grade=grade,
    )  # fmt: skip


def scorable_at_or_below(grade: int) -> int:
    return sum(
        1
        for i in dl.item_bank()
        if i.status in dl.DELIVERED_STATUSES and i.pool == "test" and i.irt is not None
        and dl._grade_of(i.grade_min) <= grade
    )  # fmt: skip


def delivered_grades(grade: int) -> set[int]:
    return {dl._grade_of(i.grade_min) for i in dl.delivery_for(spec(grade)).items.values()}


@pytest.mark.parametrize("grade", [1, 2])
def test_a_class_below_the_reviewed_grades_meets_the_nearest_easier_items_not_the_whole_bank(
    grade: int,
) -> None:
    assert scorable_at_or_below(grade) < 15  # the case: nothing (or too little) reviewed for this grade yet
    ceiling = dl.adaptive_grade_ceiling(grade, 15)
    assert ceiling > grade and scorable_at_or_below(ceiling) >= 15 and scorable_at_or_below(ceiling - 1) < 15
    assert max(delivered_grades(grade)) <= ceiling < 7  # no 中学 text for a 小学1・2年 child
    # the former rule fell back to every item, 中3 included
    assert max(dl._grade_of(i.grade_min) for i in dl.item_bank() if i.irt is not None) > ceiling


def test_a_class_with_enough_items_keeps_its_own_grade() -> None:
    grade = 4
    assert scorable_at_or_below(grade) >= 15
    assert dl.adaptive_grade_ceiling(grade, 15) == grade
    assert max(delivered_grades(grade)) <= grade
    assert {i.skill for i in dl.delivery_for(spec(grade)).items.values()} <= set(SKILLS)


def test_the_assign_page_tells_the_teacher_of_a_young_class(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session
) -> None:
    klass = world.classes["A1"]
    sign_in("t-a1")
    assert 'id="grade-ceiling"' not in client.get(f"/classes/{klass.id}/assignments/new").text  # 小3: enough
    klass.grades = "P1"
    db_session.add(klass)
    db_session.commit()
    page = client.get(f"/classes/{klass.id}/assignments/new").text
    notice = page.split('id="grade-ceiling">')[1].split("</p>")[0]
    ceiling = dl.adaptive_grade_ceiling(1, 15)
    assert notice.startswith("小1向けの確認済みの問題は") and f"小{ceiling}向けまで" in notice

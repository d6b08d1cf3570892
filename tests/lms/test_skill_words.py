"""Skill names for each reader: a child's words with ruby by grade, 中学生 wording, technical names for
teachers (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from lms.reading.skill_words import child_skill_html, child_skill_text
from tests.lms.test_runner_pages import _assignment, _finished_attempt

TECHNICAL = ("係り受け解析", "照応解決", "同義文判定", "具体例同定")


def test_child_words_avoid_technical_terms_and_get_ruby_by_grade() -> None:
    for code in ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH", "ALL"):
        for grade in ("P1", "P4", "J1"):
            assert not any(word in child_skill_text(code, grade) for word in TECHNICAL)
    assert "<ruby>読<rt>よ</rt></ruby>" in child_skill_html("DEP", "P1")  # 読 is a 2nd-grade kanji
    assert "<ruby>" not in child_skill_html("DEP", "P4")
    assert "<ruby>説明<rt>せつめい</rt></ruby>" in child_skill_html("INST_MATH", "P3")
    assert "<ruby>" in child_skill_html("DEP", "P4", ruby_grade=0)  # the all-ruby accommodation
    assert child_skill_text("DEP", "J1") != child_skill_text("DEP", "P6")  # 中学生 wording


def test_results_page_names_skills_for_the_child_and_for_the_teacher(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    attempt = _finished_attempt(
        db_session, world, _assignment(db_session, world), {"ALL": 500, "DEP": 520}, datetime.now(UTC)
    )
    sign_in("s-a1")  # class A1 is 小3
    child = client.get(f"/results/{attempt.id}").text
    # skills without a number or a credible statement get no card (issue 13); headings use the child's words
    assert "む力（ぜんたい）</h2>" in child and "おすすめの練習" in child
    assert not any(word in child for word in TECHNICAL) and "読解力（総合）" not in child.split("<main", 1)[1]
    sign_in("t-a1")
    teacher = client.get(f"/results/{attempt.id}").text
    assert '<h2 id="overall-h">読解力（総合）</h2>' in teacher and "『係り受け解析』" in teacher

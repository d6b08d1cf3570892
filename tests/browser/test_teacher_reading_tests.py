"""Real browser: a teacher assigns a test from the class page, watches the live view update itself (5 s poll),
resets a student, closes the test, and reads the class report (screen, print media, axe-core)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.lms.conftest import PASSWORD
from tests.support import require_axe

pytestmark = pytest.mark.browser


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url(f"{base}/home")


def _axe_serious(page: Any) -> list[str]:
    page.add_script_tag(path=str(require_axe()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_teacher_runs_a_reading_test_lesson(page: Any, live_server: str, world: Any, engine: Any) -> None:
    from lms.reading.models import Attempt, SkillEstimate

    base = live_server
    klass = world.classes["A1"].id
    _sign_in(page, base, "t-a1")
    page.goto(f"{base}/classes/{klass}")
    page.get_by_role("link", name="読解力テスト・練習").click()
    page.get_by_role("link", name="テスト・練習を割り当てる").click()
    page.get_by_label("タイトル", exact=True).fill("5月の読解力テスト")
    page.get_by_label("最大問題数", exact=True).fill("6")
    page.get_by_label("山田 一郎 の読み上げ").check()
    page.get_by_role("button", name="割り当てる").click()
    page.wait_for_url(f"{base}/assignments/*/live")
    assert page.locator('.count[data-state="not_started"]').inner_text() == "2"
    assert _axe_serious(page) == []
    page.screenshot(path="/tmp/giga_teacher_live.png", full_page=True)

    # a student starts and answers three items: the open page shows it within one poll
    with Session(engine) as session:
        attempt = session.exec(select(Attempt).where(Attempt.student_id == world.users["s-a1"].id)).one()
        attempt.status, attempt.position = "in_progress", 3
        attempt.started_at = attempt.last_seen_at = datetime.now(UTC)
        session.add(attempt)
        session.commit()
        first_attempt = attempt.id
    row = page.locator(f'tr[data-student="{world.users["s-a1"].id}"]')
    row.locator(".badge", has_text="4 / 約6問").wait_for(timeout=12_000)
    assert page.locator('.count[data-state="in_progress"]').inner_text() == "1"

    # reset that student (confirm dialog) → back to not started, with a new attempt
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="最初からやり直し").click()
    page.get_by_text("やり直しにしました。").wait_for()
    row.locator(".badge", has_text="未開始").wait_for(timeout=12_000)
    with Session(engine) as session:
        statuses = {a.id: a.status for a in session.exec(select(Attempt))}
    assert statuses[first_attempt] == "reset" and list(statuses.values()).count("created") == 2

    # close for everyone
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="全員のテストを終了する").click()
    page.get_by_text("テストを終了しました。").wait_for()
    page.locator("#assignment-status", has_text="終了").wait_for(timeout=12_000)
    assert page.get_by_role("button", name="全員のテストを終了する").is_disabled()

    # results arrive; the report shows them with text, not colour alone, and prints without the navigation
    with Session(engine) as session:
        attempt = session.exec(select(Attempt).where(Attempt.student_id == world.users["s-a1b"].id)).one()
        attempt.status = "submitted"
        session.add(attempt)
        for skill, score, band, guessing in (("DEP", 612, 4, False), ("ANA", 330, 1, True)):
            session.add(
                SkillEstimate(
                    student_id=attempt.student_id,
                    attempt_id=attempt.id,
                    skill=skill,
                    theta=(score - 500) / 100,
                    se=0.4,
                    scale_score=score,
                    band=band,
                    guessing=guessing,
                    n_items=3,
                )
            )
        session.commit()
    page.goto(f"{base}/classes/{klass}/report")
    heatmap = page.locator("#heatmap")
    assert "612" in heatmap.inner_text() and "当て推量" in heatmap.inner_text()
    assert page.locator("svg.dist").count() == 2
    assert _axe_serious(page) == []
    page.screenshot(path="/tmp/giga_teacher_report.png", full_page=True)
    page.goto(f"{base}/classes/{klass}/report/print")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="印刷する").is_visible()
    assert page.locator("#heatmap").is_visible()
    page.pdf(path="/tmp/giga_teacher_report.pdf", format="A4")

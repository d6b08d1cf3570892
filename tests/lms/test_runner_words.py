"""The runner speaks to each child in their stage's words with ruby at their reading level (issue 19)."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel import Session

from lms.reading.authoring import AccommodationIn
from lms.reading.runner.words import message
from tests.lms.assessments_helpers import make_assignment


def _words(html: str) -> dict[str, dict[str, str]]:
    match = re.search(r'<script type="application/json" id="runner-words">(.*?)</script>', html, re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_messages_by_stage_and_ruby_level() -> None:
    young = message("pending", school_grade=3, ruby_grade=3)
    assert young["text"] == "この端末に保存しました（送信待ち）"
    assert (
        "<ruby>端末<rt>たんまつ</rt></ruby>" in young["html"]
        and "<ruby>保存<rt>ほぞん</rt></ruby>" in young["html"]
    )
    assert "<ruby>" not in message("pending", school_grade=7, ruby_grade=7)["html"]
    assert message("item_number", school_grade=7, ruby_grade=7)["text"] == "問題 {n}（全部で約{m}問）"
    assert message("item_number", school_grade=4, ruby_grade=4)["text"].startswith("もんだい")
    assert "<ruby>" in message("saved", school_grade=7, ruby_grade=0)["html"]  # all-ruby accommodation


def test_runner_page_carries_the_childs_words(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session
) -> None:
    junior = make_assignment(db_session, world, clock, class_key="B1")
    sign_in("s-b1")  # 中1
    page = client.get(f"/test/{junior.id}").text
    assert ">答える</button>" in page and "次の問題を待っています" in page  # 中学生 wording on the page
    words = _words(page)
    assert (
        words["item_number"]["text"] == "問題 {n}（全部で約{m}問）"
        and words["choose"]["text"] == "答えを選んでください。"
    )
    s_a1 = world.users["s-a1"].id
    primary = make_assignment(
        db_session, world, clock, accommodations={s_a1: AccommodationIn(ruby_level="all")}
    )
    sign_in("s-a1")  # 小3 with ruby on every kanji
    page = client.get(f"/test/{primary.id}").text
    assert ">こたえる</button>" in page and "<ruby>端末<rt>たんまつ</rt></ruby>" in page
    words = _words(page)
    assert words["item_number"]["text"].startswith("もんだい")
    assert "<ruby>答<rt>こた</rt></ruby>" in words["choose"]["html"]

"""Ruby suggestions (grades, okurigana, overrides, orthographic kana), rendering and readability."""

from __future__ import annotations

import pytest

from reading_tests.items import RubyEntry
from reading_tests.text import (
    kanji_grade,
    load_overrides,
    readability,
    reading_aloud_text,
    render_ruby_html,
    split_okurigana,
    suggest_ruby,
    to_hiragana,
)


def pairs(text: str, overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    entries, _ = suggest_ruby(text, overrides if overrides is not None else load_overrides())
    return [(e.base, e.reading) for e in entries]


def test_kanji_grades_follow_the_2020_table() -> None:
    assert kanji_grade("一") == 1 and kanji_grade("読") == 2 and kanji_grade("漢") == 3
    assert kanji_grade("岐") == 4  # moved to grade 4 in the 2020 allocation (都道府県名)
    assert kanji_grade("呼吸") == 6 and kanji_grade("謙虚") == 7  # beyond the 教育漢字
    assert kanji_grade("人々") == 1 and kanji_grade("ひらがな") == 0


def test_okurigana_gets_no_ruby() -> None:
    assert pairs("本を読む。") == [("本", "ほん"), ("読", "よ")]
    assert split_okurigana("取り消し", "とりけし") == [("取", "と"), ("消", "け")]


def test_orthographic_kana_not_pronunciation() -> None:
    # UniDic's pron field would give こーごーせー / とーきょー
    assert ("東京", "とうきょう") in pairs("東京へ行く。", {})
    assert pairs("合成", {}) == [("合成", "ごうせい")]
    assert to_hiragana("コウゴウセイ") == "こうごうせい"


def test_overrides_win_over_the_analyser() -> None:
    assert pairs("光合成", {})[0] == ("光", "ひかり")  # what the analyser alone says
    assert pairs("植物は光合成をする。")[1] == ("光合成", "こうごうせい")
    assert ("一日中", "いちにちじゅう") in pairs("一日中雨だった。")
    # an override may carry kana context; only its kanji get ruby
    assert pairs("何をさしますか。") == [("何", "なに")]


def test_render_shows_ruby_only_above_the_students_grade() -> None:
    ruby = [RubyEntry("植物", "しょくぶつ", 3), RubyEntry("呼吸", "こきゅう", 6)]
    text = "植物の呼吸<とは>"
    html = render_ruby_html(text, ruby, "P3")
    assert html == "植物の<ruby>呼吸<rt>こきゅう</rt></ruby>&lt;とは&gt;"
    assert "<ruby>植物" in render_ruby_html(text, ruby, "P2")
    assert "<ruby>" not in render_ruby_html(text, ruby, "P6")
    assert render_ruby_html("一行目\n二行目", [], 9) == "一行目<br>二行目"


def test_reading_aloud_substitutes_readings() -> None:
    entries, _ = suggest_ruby("祖母は毎朝、本を読む。", load_overrides())
    assert reading_aloud_text("祖母は毎朝、本を読む。", entries) == "そぼはまいあさ、ほんをよむ。"


def test_readability_fields() -> None:
    r = readability("空は青い。\n海も青い。")
    assert r.chars == 10  # whitespace excluded
    assert r.kanji_ratio == pytest.approx(4 / 10, abs=1e-3)
    assert r.max_kanji_grade == 2  # 海 is grade 2, 空/青 grade 1
    easy = readability("ねこがいます。いぬもいます。").jreadability
    hard = readability("経済政策の妥当性を検証する。").jreadability
    assert easy > hard

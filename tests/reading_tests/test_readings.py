"""Reading lint: counters, 四/七/九, analyser and dictionary disagreements; the listed misreadings."""

from __future__ import annotations

import pytest

from reading_tests.counters import counter_readings, find_counters, parse_number
from reading_tests.items import RubyEntry, validate_path
from reading_tests.readings import lint_items, lint_text, load_exceptions
from reading_tests.text import kanji_grade, load_overrides, reading_aloud_text, suggest_ruby


def readings(text: str, overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return [(e.base, e.reading) for e in suggest_ruby(text, overrides)[0]]


@pytest.mark.parametrize(
    ("n", "counter", "expected"),
    [
        (1, "本", "いっぽん"),
        (2, "本", "にほん"),
        (3, "本", "さんぼん"),
        (10, "本", "じゅっぽん"),
        (24, "本", "にじゅうよんほん"),
        (3, "匹", "さんびき"),
        (6, "杯", "ろっぱい"),
        (1, "人", "ひとり"),
        (4, "人", "よにん"),
        (2, "日", "ふつか"),
        (20, "日", "はつか"),
        (17, "日", "じゅうしちにち"),
        (4, "つ", "よっつ"),
        (4, "月", "しがつ"),
        (9, "時", "くじ"),
        (4, "年", "よねん"),
        (1, "週間", "いっしゅうかん"),
        (3, "角形", "さんかくけい"),
        (4, "角形", "しかくけい"),
        (6, "角形", "ろっかくけい"),
        (2, "羽", "にわ"),
    ],
)
def test_counter_readings(n: int, counter: str, expected: str) -> None:
    got = counter_readings(n, counter)
    assert got is not None and got[0] == expected


def test_numbers_and_non_numbers() -> None:
    assert parse_number("二十四") == 24 and parse_number("１０") == 10 and parse_number("十") == 10
    assert parse_number("一二") is None
    assert counter_readings(13, "つ") is None  # 13つ is no word
    assert [u.readings for u in find_counters("統一本")] == []  # 統一 is a word, not a count
    assert find_counters("2.5本") == []
    assert find_counters("数十年ぶり") == [] and find_counters("数十日") == []  # indefinite: not 十日 とおか
    assert find_counters("何十人") == []


def test_suggestions_read_counters_as_school_does() -> None:
    assert readings("2本の直線")[0] == ("2本", "にほん")
    assert readings("一週間たった") == [("一週間", "いっしゅうかん")]
    # the counter rule alone, without the shipped overrides (they may name 四年生 as a whole word)
    assert readings("四年生の四人が四つ", overrides={})[:1] == [("四年", "よねん")]
    assert ("四人", "よにん") in readings("四年生の四人が四つ", overrides={})
    assert ("1日", "ついたち") in readings("4月1日に")  # a date
    assert ("五日間", "いつかかん") in readings("五日間つづく")
    entries, _ = suggest_ruby("2日に1本")
    assert reading_aloud_text("2日に1本", entries) == "ふつかにいっぽん"  # ruby and read-aloud agree


def test_fractions_and_polygons_are_read_as_a_math_lesson_reads_them() -> None:
    assert readings("ピザの2分の1", overrides={}) == [("2分の1", "にぶんのいち")]
    assert readings("約三分の一", overrides={})[1:] == [("三分の一", "さんぶんのいち")]
    assert readings("六月のおよそ十分の一")[-1] == ("十分の一", "じゅうぶんのいち")  # not じゅっぷん
    assert readings("12分のあと", overrides={}) == [("12分", "じゅうにふん")]  # minutes stay minutes
    assert readings("二等辺三角形と四角形", overrides={}) == [
        ("二", "に"),
        ("等辺", "とうへん"),
        ("三角形", "さんかくけい"),
        ("四角形", "しかくけい"),
    ]
    assert readings("三角の旗", overrides={})[0] == ("三角", "さんかく")  # a shape's name without 形
    entries, _ = suggest_ruby("3分の2は三角形")
    assert reading_aloud_text("3分の2は三角形", entries) == "さんぶんのにはさんかくけい"


def test_overrides_beat_the_counter_rule() -> None:
    assert readings("三日月") == [("三日月", "みかづき")]
    assert readings("十分な時間")[0] == ("十分", "じゅうぶん")


def lint(
    text: str, ruby: list[tuple[str, str]], overrides: dict[str, str] | None = None, **kw: bool
) -> list[str]:
    entries = [RubyEntry(b, r, kanji_grade(b)) for b, r in ruby]
    table = load_overrides() if overrides is None else overrides
    return [
        f.severity + ": " + f.message
        for f in lint_text(
            text, entries, where="stimulus", overrides=table, exceptions=load_exceptions(), **kw
        )
    ]


def test_lint_flags_counter_misreadings_and_accepts_the_right_ones() -> None:
    wrong = lint("2本の木", [("本", "ぽん"), ("木", "き")], dictionary=False)
    assert any("「2本」 is read にほん" in m for m in wrong)
    assert lint("2本の木", [("2本", "にほん"), ("木", "き")]) == []
    # the counter rule alone (the shipped overrides name 四人 as a word, and an override wins)
    four = lint("四人で行く", [("四", "よん"), ("人", "にん"), ("行", "い")], overrides={}, dictionary=False)
    assert any("「四人」 is read よにん" in m for m in four)
    # with the shipped overrides the misreading is still an error, found by the analyser rule
    shipped = lint("四人で行く", [("四", "よん"), ("人", "にん"), ("行", "い")], dictionary=False)
    assert any(m.startswith("error:") for m in shipped)


def test_lint_flags_a_hand_edited_reading() -> None:
    found = lint("川に橋をかける", [("川", "かわ"), ("橋", "きょう")])
    assert any(m.startswith("error: stored readings differ") and "橋: きょう" in m for m in found)


def test_dictionary_disagreement_is_a_warning_until_reviewed() -> None:
    # 2対1: the analyser and the stored ruby say たい, SudachiDict つい; the exceptions file settles it
    assert lint("2対1で分ける", [("対", "たい"), ("分", "わ")]) == []
    exceptions_free = [
        f.severity
        for f in lint_text(
            "2対1で分ける",
            [RubyEntry("対", "たい", 3), RubyEntry("分", "わ", 2)],
            where="stimulus",
            overrides=load_overrides(),
            exceptions={},
        )
    ]
    assert exceptions_free == ["warning"]


def test_shipped_bank_has_no_reading_errors_nor_the_listed_misreadings() -> None:
    report = validate_path()
    issues = lint_items(report.items)
    assert [str(i) for i in issues if i.severity == "error"] == []
    assert [str(i) for i in issues] == []  # every dictionary disagreement has been reviewed
    bank = {item.id: item for item in report.items}

    def all_ruby(item_id: str) -> list[tuple[str, str]]:
        item = bank[item_id]
        out = [(e.base, e.reading) for entries in item.ruby.values() for e in entries]
        return out + [(e.base, e.reading) for o in item.options for e in o.ruby]

    assert ("橋", "きょう") not in all_ruby("DEP-006")
    assert ("本", "ぽん") not in all_ruby("INST_MATH-007")
    assert ("一", "いち") not in all_ruby("REP-003")
    assert ("日", "にち") not in all_ruby("INST_DICT-002")
    # older misreadings found by the fraction / polygon / counter rules (issue 17, bank3)
    for item_id in ("INST_MATH-001", "INST_MATH-005", "INST_MATH-018"):
        assert ("形", "がた") not in all_ruby(item_id), item_id
    assert ("十分", "じゅっぷん") not in all_ruby("ANA-112")  # 十分の一
    assert ("2分の1", "にぶんのいち") in all_ruby("INST_MATH-020")
    assert ("二羽", "にわ") in all_ruby("INST_DICT-014")
    assert ("1目もり", "ひとめもり") in all_ruby("INST_MATH-094")
    assert ("二組", "ふたくみ") in all_ruby("INST_MATH-018")  # two pairs of sides, not class 2
    assert ("二", "に") not in all_ruby("INST_MATH-018")
    for item_id in (
        "DEP-004",
        "DEP-011",
        "PARA-005",
        "REP-011",
        "INST_MATH-005",
        "INST_MATH-018",
        "INST_DICT-018",
    ):
        assert not any(
            base.startswith("四") and reading.startswith("よん") for base, reading in all_ruby(item_id)
        ), item_id

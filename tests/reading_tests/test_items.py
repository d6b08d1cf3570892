"""Loader and validator of the item bank: good files pass, each crafted bad file gives file:line: message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reading_tests.errors import InvalidInput
from reading_tests.items import (
    Item,
    ItemBank,
    Option,
    check_svg,
    load_bank,
    rewrite_tool_blocks,
    validate_path,
)

GOOD = textwrap.dedent("""\
    id: ANA-901
    skill: ANA
    format: single_choice
    grade_min: P5
    grade_band: P5-6
    genre: newspaper
    writing_mode: horizontal
    status: draft
    design_difficulty: 0.4
    stimulus: |-
      市内の商店街で、空き店舗を使った駄菓子屋が開かれた。店番をするのは地元の小学生で、お金の計算や接客を体験する。この取り組みは、商店街の店主たちが三年前に始めたものだ。
    instruction: 「この取り組み」とは何のことか、一つえらびなさい。
    options:
      - id: A
        text: 小学生が店番をする駄菓子屋を開くこと
      - id: B
        text: お金の計算を学校で学ぶこと
      - id: C
        text: 店主が空き店舗を借りること
      - id: D
        text: 市が道路を整備すること
    key: [A]
    explanation: |-
      前の文の、小学生が店番をする駄菓子屋を開くことをさしています。
    """)


def write(tmp_path: Path, text: str, name: str = "ANA-901", folder: str = "ANA") -> Path:
    path = tmp_path / folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path) -> list[str]:
    return [str(issue) for issue in validate_path(tmp_path).errors]


def test_good_file_loads(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    bank = load_bank(tmp_path)
    item = bank["ANA-901"]
    assert item.key == ("A",) and item.option("B").text == "お金の計算を学校で学ぶこと"
    assert item.chance_level == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("skill: ANA", "skill: ANAX", 2, "skill 'ANAX' is not one of"),
        ("format: single_choice", "format: essay", 3, "format 'essay' is not one of"),
        ("grade_min: P5", "grade_min: P7", 4, "grade_min 'P7' is not one of"),
        ("grade_min: P5", "grade_min: P3", 4, "grade_min P3 is outside grade_band P5-6"),
        ("genre: newspaper", "genre: blog", 6, "genre 'blog' is not one of"),
        ("design_difficulty: 0.4", "design_difficulty: 4.0", 9, "design_difficulty 4.0 is outside"),
        ("design_difficulty: 0.4", "design_difficulty: hard", 9, "design_difficulty must be"),
        ("key: [A]", "key: [E]", 22, "key 'E' is not an option id"),
        ("key: [A]", "key: [A, B]", 22, "single_choice has exactly one key, found 2"),
        ("  - id: D\n", "  - id: C\n", 20, "option id 'C' is used twice"),
        ("status: draft", "status: draft\ncolour: red", 9, "unknown field 'colour'"),
        ("id: ANA-901", "id: DEP-901", 1, "does not start with its skill"),
    ],
)
def test_bad_fields_report_file_line_message(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD
    write(tmp_path, GOOD.replace(old, new, 1))
    errors = errors_of(tmp_path)
    hits = [e for e in errors if f"ANA-901.yaml:{line}: " in e and message in e]
    assert hits, errors


def test_id_must_equal_file_stem(tmp_path: Path) -> None:
    write(tmp_path, GOOD, name="ANA-902")
    assert any(
        "ANA-902.yaml:1: id 'ANA-901' must equal the file name 'ANA-902'" in e for e in errors_of(tmp_path)
    )


def test_missing_field_and_option_count(tmp_path: Path) -> None:
    text = GOOD.replace("    text: 市が道路を整備すること\n", "").replace("  - id: D\n", "")
    text = text.replace(
        "explanation: |-\n  前の文の、小学生が店番をする駄菓子屋を開くことをさしています。\n", ""
    )
    write(tmp_path, text)
    errors = errors_of(tmp_path)
    assert any("missing required field 'explanation'" in e for e in errors)
    assert any(":13: single_choice needs exactly 4 options, found 3" in e for e in errors), errors


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("key: [A]", "key: [A"))
    (error,) = errors_of(tmp_path)
    assert "YAML syntax error" in error and "ANA-901.yaml:2" in error


def test_duplicate_key_and_duplicate_id(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("status: draft", "status: draft\nstatus: pilot"))
    assert any(":9: duplicate key 'status'" in e for e in errors_of(tmp_path))
    other = tmp_path / "other"
    write(other, GOOD)
    write(other, GOOD, folder="copy")
    assert any("id 'ANA-901' is also used by" in e for e in errors_of(other))


def test_same_different_rules(tmp_path: Path) -> None:
    para = GOOD.replace("id: ANA-901", "id: PARA-901").replace("skill: ANA", "skill: PARA")
    para = para.replace("format: single_choice", "format: same_different")
    write(tmp_path, para, name="PARA-901", folder="PARA")
    errors = errors_of(tmp_path)
    assert any(":3: a same_different item needs a 'compare' sentence" in e for e in errors)
    assert any("same_different needs exactly 2 options, found 4" in e for e in errors)


SVG_OK = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'


@pytest.mark.parametrize(
    ("svg", "problem"),
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "needs a viewBox"),
        ('<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>', "<script> is not allowed"),
        ('<svg viewBox="0 0 1 1"><rect onclick="x()"/></svg>', "event handler attribute 'onclick'"),
        (
            '<svg viewBox="0 0 1 1" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="http://e.x/a.png"/>'
            "</svg>",
            "external reference",
        ),
        ('<svg viewBox="0 0 1 1"><rect', "not well-formed XML"),
        ('<html viewBox="0 0 1 1"/>', "root element must be <svg>"),
    ],
)
def test_svg_checks(svg: str, problem: str) -> None:
    assert check_svg(SVG_OK) == []
    assert any(problem in p for p in check_svg(svg)), check_svg(svg)


def test_picture_choice_option_svg_error_line(tmp_path: Path) -> None:
    rep = textwrap.dedent(f"""\
        id: REP-901
        skill: REP
        format: picture_choice
        grade_min: P3
        grade_band: P3-4
        genre: textbook
        writing_mode: horizontal
        status: draft
        design_difficulty: 0
        stimulus: |-
          四角の上に丸があります。丸の右には三角があります。正しい図を一つえらびなさい。この図を見て答えましょう。
        instruction: 正しい図を一つえらびなさい。
        options:
          - id: A
            alt: 丸と四角
            svg: '{SVG_OK}'
          - id: B
            alt: 三角
            svg: '<svg viewBox="0 0 1 1"><script/></svg>'
          - id: C
            svg: '{SVG_OK}'
        key: [A]
        explanation: 丸が上です。
        """)
    write(tmp_path, rep, name="REP-901", folder="REP")
    errors = errors_of(tmp_path)
    assert any("REP-901.yaml:19: option 'B' svg: <script> is not allowed" in e for e in errors), errors
    assert any("REP-901.yaml:20: picture_choice option 'C' needs 'alt'" in e for e in errors), errors


def test_ruby_entries_must_match_the_text(tmp_path: Path) -> None:
    text = GOOD + textwrap.dedent("""\
        ruby:
          instruction:
          - {base: 取組, reading: とりくみ, grade: 3}
          - {base: 何, reading: ナニ, grade: 2}
        """)
    write(tmp_path, text)
    errors = errors_of(tmp_path)
    assert any(":27: ruby base '取組' does not occur in the instruction" in e for e in errors), errors
    assert any(":28: ruby reading 'ナニ' for '何' must be hiragana" in e for e in errors), errors


def test_chance_level_and_is_correct() -> None:
    def item(fmt: str, n: int, key: tuple[str, ...]) -> Item:
        options = tuple(Option(chr(65 + i), "x") for i in range(n))
        return Item(
            "X-001",
            "ANA",
            fmt,
            "P3",
            "P3-4",
            "textbook",
            "horizontal",
            "draft",
            0.0,
            "s",
            "i",
            options,
            key,
            "e",
        )

    assert item("single_choice", 4, ("A",)).chance_level == pytest.approx(0.25)
    assert item("picture_choice", 3, ("A",)).chance_level == pytest.approx(1 / 3)
    assert item("same_different", 2, ("A",)).chance_level == 0.5
    multi = item("select_all", 5, ("A", "C"))
    assert multi.chance_level == pytest.approx(1 / 31)
    assert (
        multi.is_correct(["C", "A"]) and not multi.is_correct(["A"]) and not multi.is_correct(["A", "C", "D"])
    )
    assert not multi.is_correct([])


def test_bank_filters(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(
        tmp_path,
        GOOD.replace("ANA-901", "ANA-902").replace("P5-6", "J1-3").replace("P5", "J1"),
        name="ANA-902",
    )
    bank = load_bank(tmp_path)
    assert isinstance(bank, ItemBank) and len(bank) == 2
    assert [i.id for i in bank.filter(band="J1-3")] == ["ANA-902"]
    assert bank.filter(skill="DEP") == [] and len(bank.filter(status=["draft", "pilot"])) == 2
    with pytest.raises(InvalidInput, match="unknown item: NOPE"):
        bank["NOPE"]


def test_load_bank_raises_on_invalid(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("key: [A]", "key: [Z]"))
    with pytest.raises(InvalidInput, match=r"ANA-901.yaml:22: key 'Z'"):
        load_bank(tmp_path)


def test_rewrite_tool_blocks_keeps_author_text(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("options:", "# a comment the author wrote\noptions:"))
    assert rewrite_tool_blocks(path, {"irt": {"model": "2pl", "a": 1.0}})
    first = path.read_text(encoding="utf-8")
    assert first.startswith(GOOD.replace("options:", "# a comment the author wrote\noptions:"))
    assert first.endswith("irt: {model: 2pl, a: 1.0}\n")
    assert rewrite_tool_blocks(path, {"readability": {"chars": 3}})
    assert not rewrite_tool_blocks(path, {"readability": {"chars": 3}})
    second = path.read_text(encoding="utf-8")
    assert second.index("readability:") < second.index("irt:")


# --- schema of the city bank (issue 17): P1-2 band, review provenance, pools, rationales, T/F/cannot-tell


def warnings_of(tmp_path: Path) -> list[str]:
    return [str(issue) for issue in validate_path(tmp_path).warnings]


REVIEW_OK = textwrap.dedent("""\
    review:
      written_by: author-a
      reviewed_by: reviewer-b
      reviewed_on: 2026-12-07
      checks: [key, distractors, readings, grade_level, bias, text_only]
    """)


def test_p1_2_band_and_practice_pool(tmp_path: Path) -> None:
    text = GOOD.replace("grade_min: P5", "grade_min: P2").replace("grade_band: P5-6", "grade_band: P1-2")
    write(tmp_path, text.replace("status: draft", "status: draft\npool: practice"))
    item = load_bank(tmp_path)["ANA-901"]
    assert (item.grade_band, item.pool) == ("P1-2", "practice")
    assert load_bank(tmp_path).filter(pool="test") == []
    write(tmp_path, GOOD.replace("status: draft", "status: draft\npool: homework"))
    assert any(":9: pool 'homework' is not one of: test, practice" in e for e in errors_of(tmp_path))


def test_an_item_past_draft_needs_a_second_persons_complete_review(tmp_path: Path) -> None:
    reviewed = GOOD.replace("status: draft", "status: reviewed") + REVIEW_OK
    write(tmp_path, reviewed)
    review = load_bank(tmp_path)["ANA-901"].review
    assert review is not None and review.complete and review.reviewed_by == "reviewer-b"

    write(tmp_path, reviewed.replace("reviewed_by: reviewer-b", "reviewed_by: author-a"))
    assert any(
        "needs a complete review: the reviewer must be a second person" in e for e in errors_of(tmp_path)
    )
    write(tmp_path, reviewed.replace("grade_level, bias, text_only", "grade_level"))
    assert any("checks missing: bias" in e for e in errors_of(tmp_path))
    write(tmp_path, reviewed.replace("text_only]", "spelling]"))
    assert any("unknown review check 'spelling'" in e for e in errors_of(tmp_path))
    write(tmp_path, reviewed.replace("2026-12-07", "7 Dec"))
    assert any("must be a date YYYY-MM-DD" in e for e in errors_of(tmp_path))
    # a draft may carry an unfinished review
    write(tmp_path, GOOD + REVIEW_OK.replace("reviewed_by: reviewer-b", "reviewed_by: null"))
    assert errors_of(tmp_path) == []


def test_distractors_without_rationale_are_named(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    warned = warnings_of(tmp_path)
    assert sum("has no rationale" in w for w in warned) == 3  # B, C, D; the key needs none
    with_reasons = GOOD
    for option in ("B", "C", "D"):
        with_reasons = with_reasons.replace(
            f"  - id: {option}\n", f"  - id: {option}\n    rationale: 本文の一部だけを読んだ答え\n"
        )
    write(tmp_path, with_reasons)
    assert not any("rationale" in w for w in warnings_of(tmp_path))
    assert load_bank(tmp_path)["ANA-901"].option("B").rationale == "本文の一部だけを読んだ答え"


TRUE_FALSE = textwrap.dedent("""\
    id: INF-901
    skill: INF
    format: true_false_cannot_tell
    grade_min: J1
    grade_band: J1-3
    genre: encyclopedia
    writing_mode: horizontal
    status: draft
    design_difficulty: 0.5
    stimulus: |-
      この町の図書館は、月曜日が休みである。ただし、月曜日が祝日の場合は開館し、その次の日を休みとする。
    compare: |-
      この町の図書館は、火曜日に休むことがある。
    instruction: はじめの文から考えて、あとの文は正しいか、誤りか、判断できないかをえらびなさい。
    options:
      - {id: "true", text: 正しい}
      - {id: "false", text: 誤り}
      - {id: cannot_tell, text: 判断できない}
    key: ["true"]
    explanation: |-
      月曜日が祝日のときは、次の火曜日が休みになるので、火曜日に休むことがあります。
    """)


def test_true_false_cannot_tell_format(tmp_path: Path) -> None:
    write(tmp_path, TRUE_FALSE, "INF-901", "INF")
    item = load_bank(tmp_path)["INF-901"]
    assert item.chance_level == pytest.approx(1 / 3) and item.is_correct(["true"])
    assert not any("rationale" in w for w in warnings_of(tmp_path))  # the options are fixed by the format
    swapped = TRUE_FALSE.replace('id: "true"', "id: yes")
    write(tmp_path, swapped, "INF-901", "INF")
    assert any("must have the ids true, false, cannot_tell" in e for e in errors_of(tmp_path))
    write(
        tmp_path,
        TRUE_FALSE.replace("compare: |-\n  この町の図書館は、火曜日に休むことがある。\n", ""),
        "INF-901",
        "INF",
    )
    assert any(
        ":3: a true_false_cannot_tell item needs a 'compare' statement to judge" in e
        for e in errors_of(tmp_path)
    )

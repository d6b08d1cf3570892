"""Skill names for each reader. Children read what the skill asks of them, in words they know, with ruby by
their grade (``係り受け解析`` has 析, not taught in primary school); 中学生 get plainer-but-grown-up names;
teachers keep the technical names (`lms.reading.messages.SKILL_NAMES_JA`) next to the child's words."""

from __future__ import annotations

from lms.reading.messages import SKILL_NAMES_JA
from reading_tests.items import RubyEntry
from reading_tests.text import kanji_grade, render_ruby_html, student_grade

# (text, ruby words in order of appearance as (base, reading))
_PRIMARY: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "DEP": ("ことばのつながりを読む", (("読", "よ"),)),
    "ANA": ("「それ」「これ」がさすものを見つける", (("見", "み"),)),
    "PARA": ("同じいみの文を見分ける", (("同", "おな"), ("文", "ぶん"), ("見分", "みわ"))),
    "INF": ("書いてあることから考える", (("書", "か"), ("考", "かんが"))),
    "REP": ("文と図や絵をむすびつける", (("文", "ぶん"), ("図", "ず"), ("絵", "え"))),
    "INST_DICT": (
        "ことばの説明に合う例を見つける",
        (("説明", "せつめい"), ("合", "あ"), ("例", "れい"), ("見", "み")),
    ),
    "INST_MATH": (
        "算数・理科の説明に合う例を見つける",
        (
            ("算数", "さんすう"),
            ("理科", "りか"),
            ("説明", "せつめい"),
            ("合", "あ"),
            ("例", "れい"),
            ("見", "み"),
        ),
    ),
    "ALL": ("読む力（ぜんたい）", (("読", "よ"), ("力", "ちから"))),
}
_JUNIOR: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "DEP": (
        "文の組み立てを読み取る力",
        (("文", "ぶん"), ("組", "く"), ("立", "た"), ("読", "よ"), ("取", "と"), ("力", "ちから")),
    ),
    "ANA": ("指示語が指すものをとらえる力", (("指示語", "しじご"), ("指", "さ"), ("力", "ちから"))),
    "PARA": (
        "同じ意味の文を見分ける力",
        (("同", "おな"), ("意味", "いみ"), ("文", "ぶん"), ("見分", "みわ"), ("力", "ちから")),
    ),
    "INF": ("書かれていないことを推し量る力", (("書", "か"), ("推", "お"), ("量", "はか"), ("力", "ちから"))),
    "REP": ("文と図を対応させる力", (("文", "ぶん"), ("図", "ず"), ("対応", "たいおう"), ("力", "ちから"))),
    "INST_DICT": (
        "定義に合う具体例を選ぶ力（ことば）",
        (("定義", "ていぎ"), ("合", "あ"), ("具体例", "ぐたいれい"), ("選", "えら"), ("力", "ちから")),
    ),
    "INST_MATH": (
        "定義に合う具体例を選ぶ力（数学・理科）",
        (
            ("定義", "ていぎ"),
            ("合", "あ"),
            ("具体例", "ぐたいれい"),
            ("選", "えら"),
            ("力", "ちから"),
            ("数学", "すうがく"),
            ("理科", "りか"),
        ),
    ),
    "ALL": ("読解力（総合）", (("読解力", "どっかいりょく"), ("総合", "そうごう"))),
}
JUNIOR_FROM = 7  # J1 in `reading_tests.text.student_grade`


def _entries(words: tuple[tuple[str, str], ...]) -> list[RubyEntry]:
    return [RubyEntry(base, reading, kanji_grade(base)) for base, reading in words]


def child_skill_text(code: str, grade_code: str | None) -> str:
    """The plain name a child of ``grade_code`` (P1–J3) reads; unknown grade: the primary wording."""
    grade = _grade(grade_code)
    table = _JUNIOR if grade >= JUNIOR_FROM else _PRIMARY
    return table[code][0] if code in table else code


def child_skill_html(code: str, grade_code: str | None, ruby_grade: int | None = None) -> str:
    """Escaped HTML of the child's skill name with ruby above ``ruby_grade`` (default: the child's grade)."""
    grade = _grade(grade_code)
    table = _JUNIOR if grade >= JUNIOR_FROM else _PRIMARY
    if code not in table:
        return render_ruby_html(code, [], 99)
    text, words = table[code]
    return render_ruby_html(text, _entries(words), grade if ruby_grade is None else ruby_grade)


def _grade(grade_code: str | None) -> int:
    first = (grade_code or "").split(",")[0].strip()
    try:
        return student_grade(first) if first else 1
    except Exception:  # an unknown code: treat as the youngest reader (ruby everywhere)
        return 1


def in_child_words(text: str, grade_code: str | None) -> str:
    """``text`` with every technical skill name (『係り受け解析』…) replaced by the child's words (plain text:
    advice and practice reasons are written for teachers and shown to the child too)."""
    for code, name in SKILL_NAMES_JA.items():
        if name in text:
            text = text.replace(name, child_skill_text(code, grade_code))
    return text

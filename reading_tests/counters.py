# ruff: noqa: E501  (one counter table per line is easier to review than wrapped strings)
"""Readings of a number followed by a counter (助数詞): 2本 にほん, 1本 いっぽん, 四人 よにん, 2日 ふつか.

The morphological analysers read the counter after a digit without its sound change (UniDic and Sudachi
both give 2本 → ぽん) and read 四 as よん in 四人/四つ/四年; these tables give the readings a school
reads aloud.  :func:`counter_readings` returns every accepted reading of the whole ``number + counter``
(a tuple, the usual one first, because some have two: 8本 はっぽん/はちほん, 七人 しちにん/ななにん, 1日 ついたち/いちにち).

A number is read by its words (24 → に じゅう よん); the counter changes only the last word (the
"unit"), so every table below gives, for the last word いち, に, さん, よん, ご, ろく, なな, はち,
きゅう, じゅう (and ひゃく), the accepted readings of ``unit + counter``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS: tuple[str, ...] = ("いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう", "じゅう")


def _table(spec: str) -> dict[str, tuple[str, ...]]:
    """Ten space-separated cells in the order of :data:`UNITS`, alternatives joined by ``|``."""
    cells = spec.split()
    if len(cells) != len(UNITS):  # pragma: no cover - a typo in the tables below
        raise ValueError(f"counter table needs {len(UNITS)} cells: {spec}")
    return {unit: tuple(cell.split("|")) for unit, cell in zip(UNITS, cells, strict=True)}


#: ``unit + counter`` readings, per counter.  Counters made of two kanji (週間, 時間) are listed whole.
COUNTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "本": _table(
        "いっぽん にほん さんぼん よんほん ごほん ろっぽん ななほん はっぽん|はちほん きゅうほん じゅっぽん|じっぽん"
    ),
    "匹": _table(
        "いっぴき にひき さんびき よんひき ごひき ろっぴき ななひき はっぴき|はちひき きゅうひき じゅっぴき|じっぴき"
    ),
    "杯": _table(
        "いっぱい にはい さんばい よんはい ごはい ろっぱい ななはい はっぱい|はちはい きゅうはい じゅっぱい|じっぱい"
    ),
    "分": _table(
        "いっぷん にふん さんぷん よんぷん|よんふん ごふん ろっぷん ななふん はっぷん|はちふん きゅうふん "
        "じゅっぷん|じっぷん"
    ),
    "回": _table(
        "いっかい にかい さんかい よんかい ごかい ろっかい ななかい はっかい|はちかい きゅうかい じゅっかい|じっかい"
    ),
    "階": _table(
        "いっかい にかい さんがい|さんかい よんかい ごかい ろっかい ななかい はっかい|はちかい きゅうかい "
        "じゅっかい|じっかい"
    ),
    "羽": _table(
        "いちわ にわ さんわ|さんば よんわ ごわ ろくわ|ろっぱ ななわ はちわ|はっぱ きゅうわ じゅうわ|じゅっぱ|じっぱ"
    ),
    "個": _table("いっこ にこ さんこ よんこ ごこ ろっこ ななこ はっこ|はちこ きゅうこ じゅっこ|じっこ"),
    "冊": _table(
        "いっさつ にさつ さんさつ よんさつ ごさつ ろくさつ ななさつ はっさつ|はちさつ きゅうさつ じゅっさつ|じっさつ"
    ),
    "才": _table(
        "いっさい にさい さんさい よんさい ごさい ろくさい ななさい はっさい きゅうさい じゅっさい|じっさい"
    ),
    "歳": _table(
        "いっさい にさい さんさい よんさい ごさい ろくさい ななさい はっさい きゅうさい じゅっさい|じっさい"
    ),
    "週": _table(
        "いっしゅう にしゅう さんしゅう よんしゅう ごしゅう ろくしゅう ななしゅう はっしゅう きゅうしゅう "
        "じゅっしゅう|じっしゅう"
    ),
    "週間": _table(
        "いっしゅうかん にしゅうかん さんしゅうかん よんしゅうかん ごしゅうかん ろくしゅうかん ななしゅうかん "
        "はっしゅうかん きゅうしゅうかん じゅっしゅうかん|じっしゅうかん"
    ),
    "頭": _table(
        "いっとう にとう さんとう よんとう ごとう ろくとう ななとう はっとう きゅうとう じゅっとう|じっとう"
    ),
    "点": _table(
        "いってん にてん さんてん よんてん ごてん ろくてん ななてん はってん きゅうてん じゅってん|じってん"
    ),
    "枚": _table("いちまい にまい さんまい よんまい ごまい ろくまい ななまい はちまい きゅうまい じゅうまい"),
    "台": _table("いちだい にだい さんだい よんだい ごだい ろくだい ななだい はちだい きゅうだい じゅうだい"),
    "番": _table("いちばん にばん さんばん よんばん ごばん ろくばん ななばん はちばん きゅうばん じゅうばん"),
    "度": _table("いちど にど さんど よんど ごど ろくど ななど はちど きゅうど じゅうど"),
    "円": _table("いちえん にえん さんえん よえん ごえん ろくえん ななえん はちえん きゅうえん じゅうえん"),
    "秒": _table(
        "いちびょう にびょう さんびょう よんびょう ごびょう ろくびょう ななびょう はちびょう きゅうびょう じゅうびょう"
    ),
    "時": _table("いちじ にじ さんじ よじ ごじ ろくじ しちじ はちじ くじ じゅうじ"),
    "時間": _table(
        "いちじかん にじかん さんじかん よじかん ごじかん ろくじかん しちじかん|ななじかん はちじかん くじかん "
        "じゅうじかん"
    ),
    "年": _table(
        "いちねん にねん さんねん よねん ごねん ろくねん しちねん|ななねん はちねん きゅうねん じゅうねん"
    ),
    "人": _table(
        "いちにん ににん さんにん よにん ごにん ろくにん しちにん|ななにん はちにん きゅうにん|くにん じゅうにん"
    ),
    "日": _table(
        "いちにち ににち さんにち よっか ごにち ろくにち しちにち はちにち くにち|きゅうにち じゅうにち"
    ),
    # polygons as a school's math textbook reads them: 三角形 さんかくけい (never さんかくがた), 四角形 しかくけい
    "角形": _table(
        "いっかくけい にかくけい さんかくけい しかくけい ごかくけい ろっかくけい しちかくけい|ななかくけい "
        "はっかくけい きゅうかくけい じゅっかくけい|じっかくけい"
    ),
}
#: Whole-number readings that do not follow the unit rule (1人 ひとり, 2日 ふつか, 20日 はつか …).
WHOLE: dict[str, dict[int, tuple[str, ...]]] = {
    "人": {1: ("ひとり",), 2: ("ふたり",)},
    "日": {
        1: ("いちにち", "ついたち"),
        2: ("ふつか",),
        3: ("みっか",),
        4: ("よっか",),
        5: ("いつか",),
        6: ("むいか",),
        7: ("なのか", "なぬか"),
        8: ("ようか",),
        9: ("ここのか",),
        10: ("とおか",),
        14: ("じゅうよっか",),
        20: ("はつか",),
        24: ("にじゅうよっか",),
    },
    "つ": {
        n: (r,)
        for n, r in enumerate(
            ("ひとつ", "ふたつ", "みっつ", "よっつ", "いつつ", "むっつ", "ななつ", "やっつ", "ここのつ"),
            start=1,
        )
    },
    "月": {
        n: (r,)
        for n, r in enumerate(
            (
                "いちがつ",
                "にがつ",
                "さんがつ",
                "しがつ",
                "ごがつ",
                "ろくがつ",
                "しちがつ",
                "はちがつ",
                "くがつ",
                "じゅうがつ",
                "じゅういちがつ",
                "じゅうにがつ",
            ),
            start=1,
        )
    },
}
#: Counters whose readings exist only for the numbers in :data:`WHOLE` (13つ, 13月 are not words).
WHOLE_ONLY: frozenset[str] = frozenset({"つ", "月"})

#: Kanji that make one word with a following numeral (統一, 唯一, 同一, 万一 …); not 均 (年平均二日), which is then no count.
#: 数 and 何 make an indefinite number (数十年 すうじゅうねん, 数十日 すうじゅうにち — never とおか): no count either.
_NUMERAL_WORD_HEADS = frozenset("統唯同万随画単逐択専純数何")
#: Counters that take 間 for a duration (日間, 年間, 分間, 秒間); 週間 and 時間 have their own tables.
_DURATION_COUNTERS = frozenset({"日", "年", "分", "秒"})
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER_RE = re.compile(r"[0-9０-９]+|[一二三四五六七八九十〇]+")
_FRACTION_TAIL_RE = re.compile(r"の([0-9０-９]+|[一二三四五六七八九十〇]+)")
_COUNTER_RE = re.compile("|".join(sorted((*COUNTERS, *WHOLE), key=len, reverse=True)))


def parse_number(text: str) -> int | None:
    """The value of Arabic digits (half or full width) or kanji numerals up to 99 (二十四 → 24)."""
    if text.isdigit():
        return int(text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if "十" not in text:
        if len(text) != 1 or text not in _KANJI_DIGITS:
            return None  # 一二 is not a number word; positional kanji (二〇二六) are left alone
        return _KANJI_DIGITS[text]
    tens, _, ones = text.partition("十")
    if (
        len(tens) > 1
        or len(ones) > 1
        or (tens and tens not in _KANJI_DIGITS)
        or (ones and ones not in _KANJI_DIGITS)
    ):
        return None
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def number_words(n: int) -> list[str] | None:
    """The words of 1 … 99 as read before a counter (24 → [に, じゅう, よん]); None outside that range."""
    if not 1 <= n <= 99:
        return None
    tens, ones = divmod(n, 10)
    words: list[str] = []
    if tens:
        if tens > 1:
            words.append(UNITS[tens - 1])
        words.append("じゅう")
    if ones:
        words.append(UNITS[ones - 1])
    return words


def counter_readings(n: int, counter: str) -> tuple[str, ...] | None:
    """Accepted readings of ``n`` + ``counter``, the usual one first (None when the tables do not cover them)."""
    whole = WHOLE.get(counter, {}).get(n)
    if whole is not None:
        return whole
    if counter in WHOLE_ONLY or counter not in COUNTERS:
        return None
    words = number_words(n)
    if words is None:
        return None
    prefix = "".join(words[:-1])
    return tuple(prefix + reading for reading in COUNTERS[counter][words[-1]])


@dataclass(frozen=True)
class CounterUse:
    """A number followed by a counter in a text: characters ``[start, end)``, the number ends at ``split``."""

    start: int
    split: int
    end: int
    value: int
    readings: tuple[str, ...]


def fraction_reading(numerator_of: int, denominator: int) -> str | None:
    """``denominator``分の``numerator_of`` read aloud: 2分の1 にぶんのいち, 十分の三 じゅうぶんのさん
    (分 is ぶん in a fraction, never the minute's ふん/ぷん); None outside 1 … 99."""
    below = number_words(denominator)
    above = number_words(numerator_of)
    if below is None or above is None:
        return None
    return "".join(below) + "ぶんの" + "".join(above)


def find_counters(text: str) -> list[CounterUse]:
    """Every ``number + counter`` of ``text`` whose reading the tables know, in text order.

    A number inside a longer word (a decimal 2.5本, a kanji numeral in 統一 or 唯一) is skipped: its
    reading is not a counting reading.  Numerals after other kanji (十二月二十日, 年平均三日) are counts.
    A fraction (2分の1, 三分の一: a number, 分の, a number) is one use read にぶんのいち, not minutes
    (12分のあと stays じゅうにふん).
    """
    uses: list[CounterUse] = []
    for match in _NUMBER_RE.finditer(text):
        start, split = match.span()
        kanji_numeral = not match.group().isdigit()
        if start > 0 and (
            text[start - 1] in ".．,，" or (kanji_numeral and text[start - 1] in _NUMERAL_WORD_HEADS)
        ):
            continue
        counter = _COUNTER_RE.match(text, split)
        if counter is None:
            continue
        value = parse_number(match.group())
        if value is None:
            continue
        fraction = _FRACTION_TAIL_RE.match(text, counter.end()) if counter.group() == "分" else None
        if fraction is not None:
            numerator = parse_number(fraction.group(1))
            reading = fraction_reading(numerator, value) if numerator is not None else None
            if reading is not None:
                uses.append(CounterUse(start, split, fraction.end(), value, (reading,)))
            continue
        readings = counter_readings(value, counter.group())
        if readings is None:
            continue
        end = counter.end()
        if counter.group() in _DURATION_COUNTERS and text.startswith("間", end):
            # a duration: 五日間 いつかかん, 三十分間 さんじゅっぷんかん (never ついたちかん)
            readings = tuple(r + "かん" for r in readings if r != "ついたち")
            end += 1
        uses.append(CounterUse(start, split, end, value, readings))
    return uses


def _is_kanji(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or ch in "々〆"

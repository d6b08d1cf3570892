"""Japanese text helpers: ruby (furigana) suggestions, rendering, reading-aloud text, readability.

Ruby is suggested per word from the UniDic (unidic-lite) analysis by fugashi, using the *orthographic*
kana form (``kana``: 光合成 → コウゴウセイ, not the pronunciation ``pron`` コーゴーセー), converted to
hiragana and restricted to the kanji part of the word (読む → 読: よ).  Per-word overrides
(``bank/ruby_overrides.yaml``) win over the analyser, longest match first.

Each ruby entry carries the *grade* of its word: the highest school grade in which one of its kanji is
taught under the 2020 allocation (学年別漢字配当表, ``kanji_lists.KYOIKU.REIWA2``), or 7 for kanji
beyond the 1,026 教育漢字.  A word is shown with ruby to a student whose grade is below the word's grade.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reading_tests.items import MAX_KANJI_GRADE, Readability, RubyEntry, figure_alt, kanji_in

OVERRIDES_PATH = Path(__file__).parent / "bank" / "ruby_overrides.yaml"
_KANJI_RUN_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ]+)")
_KANA_RE = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")
_DIGITS = "0123456789０１２３４５６７８９"
GRADE_CODES: dict[str, int] = {
    "P1": 1,
    "P2": 2,
    "P3": 3,
    "P4": 4,
    "P5": 5,
    "P6": 6,
    "J1": 7,
    "J2": 8,
    "J3": 9,
}


# ---------------------------------------------------------------------------------------- grades
@functools.cache
def _grade_table() -> dict[str, int]:
    from kanji_lists import KYOIKU

    table: dict[str, int] = {}
    for grade in range(1, 7):
        for kanji in getattr(KYOIKU.REIWA2, f"GRADE{grade}"):
            table[kanji] = grade
    return table


def kanji_grade(word: str) -> int:
    """Highest school grade of the kanji in ``word`` (0 without kanji, 7 beyond the 教育漢字).

    々 and 〆 take no grade of their own (人々 has the grade of 人).
    """
    table = _grade_table()
    grades = [table.get(k, MAX_KANJI_GRADE) for k in kanji_in(word) if k not in "々〆"]
    return max(grades, default=0)


def student_grade(code: str | int) -> int:
    """School year 1–9 of a grade code (P1 → 1 … P6 → 6, J1 → 7 … J3 → 9) or an integer."""
    if isinstance(code, int):
        return code
    try:
        return GRADE_CODES[code]
    except KeyError:
        from reading_tests.errors import InvalidInput

        raise InvalidInput(f"unknown grade '{code}' (use P1–P6 or J1–J3)") from None


# ---------------------------------------------------------------------------------------- kana
def to_hiragana(text: str) -> str:
    """Katakana → hiragana (ー and other characters unchanged)."""
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text)


# ------------------------------------------------------------------------------------ analysis
@functools.cache
def tagger() -> Any:
    """The shared fugashi tagger (unidic-lite); created once per process."""
    import fugashi

    return fugashi.Tagger()


@dataclass(frozen=True)
class Token:
    """A word of the text with its character offset and orthographic reading in hiragana (or None)."""

    surface: str
    start: int
    reading: str | None


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with offsets and readings (UniDic ``kana`` field, converted to hiragana)."""
    tokens: list[Token] = []
    cursor = 0
    for node in tagger()(text):
        surface = node.surface
        start = text.find(surface, cursor)
        if start < 0:  # pragma: no cover - the analyser returns pieces of the text in order
            continue
        cursor = start + len(surface)
        kana = getattr(node.feature, "kana", None)
        reading = to_hiragana(kana) if kana and kana != "*" else None
        tokens.append(Token(surface, start, reading))
    return tokens


def split_okurigana(surface: str, reading: str) -> list[tuple[str, str]]:
    """Pair each kanji run of ``surface`` with its part of ``reading``.

    The kana parts of the surface (okurigana, particles inside compounds) are matched literally in the
    reading: 読む/よむ → [(読, よ)], 取り消し/とりけし → [(取, と), (消, け)].  When the reading
    cannot be aligned, the whole surface is returned with the whole reading.
    """
    parts = _KANJI_RUN_RE.split(surface)
    runs = [p for p in parts[1::2]]
    if not runs:
        return []
    pattern = "".join("(.+?)" if i % 2 else re.escape(to_hiragana(p)) for i, p in enumerate(parts))
    match = re.fullmatch(pattern, reading)
    if match is None:
        return [(surface, reading)]
    return list(zip(runs, match.groups(), strict=True))


# ------------------------------------------------------------------------------------ overrides
def load_overrides(path: Path | None = None) -> dict[str, str]:
    """Per-word readings that win over the analyser (``word: reading``, hiragana)."""
    file = path or OVERRIDES_PATH
    if not file.exists():
        return {}
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        from reading_tests.errors import InvalidInput

        raise InvalidInput(f"{file}: must be a mapping of word: reading")
    return {str(k): str(v) for k, v in data.items()}


def suggest_ruby(text: str, overrides: Mapping[str, str] | None = None) -> tuple[list[RubyEntry], list[str]]:
    """Ruby entries for every kanji word of ``text``, in text order, plus words left without a reading.

    Overrides are matched first (longest word first, left to right); the remaining kanji get the
    analyser's reading, restricted to their kanji part.  A word the analyser cannot read is reported
    in the second list (add it to the overrides).
    """
    table = dict(overrides) if overrides is not None else load_overrides()
    words = sorted(table, key=len, reverse=True)
    spans: list[tuple[int, int, str, str]] = []  # start, end, base, reading
    taken = [False] * len(text)
    for word in words:
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                # An override may include kana context ("何を: なにを"); only its kanji get ruby.
                offset = start
                for base, reading in split_okurigana(word, to_hiragana(table[word])):
                    position = text.find(base, offset)
                    spans.append((position, position + len(base), base, reading))
                    offset = position + len(base)
                for i in range(start, end):
                    taken[i] = True
            start = text.find(word, end)
    unknown: list[str] = []
    for token in tokenize(text):
        end = token.start + len(token.surface)
        if all(taken[token.start : end]) or not kanji_in(token.surface):
            continue
        if token.reading is None or not _KANA_RE.match(token.reading):
            unknown.append(token.surface)
            continue
        offset = token.start
        for base, reading in split_okurigana(token.surface, token.reading):
            start = text.find(base, offset)
            offset = start + len(base)
            # a word partly covered by an override ("木の実" next to "実を") keeps its other kanji
            if not any(taken[start:offset]):
                spans.append((start, offset, base, reading))
    spans = _apply_counter_readings(text, spans, taken)
    spans.sort()
    # Month names after Arabic digits ("4月") are read がつ; the analyser often reads a lone 月 as つき.
    spans = [
        (a, b, base, "がつ" if base == "月" and a > 0 and text[a - 1] in _DIGITS else reading)
        for a, b, base, reading in spans
    ]
    entries = [RubyEntry(base, to_hiragana(reading), kanji_grade(base)) for _, _, base, reading in spans]
    return entries, unknown


def _apply_counter_readings(
    text: str, spans: list[tuple[int, int, str, str]], taken: Sequence[bool]
) -> list[tuple[int, int, str, str]]:
    """Give every ``number + counter`` (2本, 四人, 1週間) one ruby entry with the counting reading.

    The analysers read 2本 as ぽん and 四人 as よん・にん; the entry covers the number too (also Arabic
    digits), so that ruby and read-aloud say the same にほん / よにん.  An override covering the
    number wins (三日月: みかづき); a word of the analyser that runs past the counter (1日中 read as
    日中) is left for the reading lint to report.
    """
    from reading_tests.counters import find_counters

    for use in find_counters(text):
        if any(taken[use.start : use.end]):
            continue
        inside = [s for s in spans if s[0] < use.end and s[1] > use.start]
        if any(s[0] < use.start or s[1] > use.end for s in inside):
            continue
        reading = use.readings[0]
        if text.startswith("1日", use.start) and use.start > 0 and text[use.start - 1] == "月":
            reading = "ついたち"  # a date: 4月1日
        spans = [s for s in spans if s not in inside]
        spans.append((use.start, use.end, text[use.start : use.end], reading))
    return spans


# ------------------------------------------------------------------------------------ rendering
def _segments(text: str, ruby: Sequence[RubyEntry]) -> list[tuple[str, RubyEntry | None]]:
    """Split ``text`` into plain pieces and pieces covered by a ruby entry (entries matched in order)."""
    out: list[tuple[str, RubyEntry | None]] = []
    cursor = 0
    for entry in ruby:
        position = text.find(entry.base, cursor)
        if position < 0:
            continue
        if position > cursor:
            out.append((text[cursor:position], None))
        out.append((entry.base, entry))
        cursor = position + len(entry.base)
    if cursor < len(text):
        out.append((text[cursor:], None))
    return out


def render_ruby_html(text: str, ruby: Sequence[RubyEntry], student_grade_: str | int) -> str:
    """Escaped HTML of ``text`` with ``<ruby>base<rt>reading</rt></ruby>`` for words above the grade.

    A word gets ruby when its grade is greater than the student's school year (1–9; J1 = 7).  Line
    breaks become ``<br>``.
    """
    grade = student_grade(student_grade_)
    parts: list[str] = []
    for piece, entry in _segments(text, ruby):
        if entry is not None and entry.grade > grade:
            parts.append(f"<ruby>{html.escape(piece)}<rt>{html.escape(entry.reading)}</rt></ruby>")
        else:
            parts.append(html.escape(piece))
    return "".join(parts).replace("\n", "<br>")


def reading_aloud_text(text: str, ruby: Sequence[RubyEntry]) -> str:
    """The text with every ruby word replaced by its kana reading, for speech synthesis."""
    return "".join(entry.reading if entry is not None else piece for piece, entry in _segments(text, ruby))


# ----------------------------------------------------------------------------------- readability
def count_chars(text: str) -> int:
    """Characters of ``text`` without whitespace."""
    return len("".join(text.split()))


def readability(text: str) -> Readability:
    """Readability metadata of ``text``.

    ``kanji_ratio`` = kanji / characters (whitespace excluded), ``max_kanji_grade`` as in
    :func:`kanji_grade`, ``jreadability`` from the jreadability package (Lee & Hasebe's formula
    ``11.724 − 0.056·mean sentence length − 0.126·%kango − 0.042·%wago − 0.145·%verbs − 0.044·%particles``;
    higher means easier).
    """
    from jreadability import compute_readability

    compact = "".join(text.split())
    n = len(compact)
    kanji = kanji_in(compact)
    score = compute_readability(compact, tagger()) if compact else 0.0
    return Readability(
        chars=n,
        kanji_ratio=round(len(kanji) / n, 3) if n else 0.0,
        max_kanji_grade=kanji_grade(compact),
        jreadability=round(float(score), 3),
    )


def ruby_entries_as_data(entries: Sequence[RubyEntry]) -> list[dict[str, Any]]:
    """Entries as the plain mappings stored in item files."""
    return [{"base": e.base, "reading": e.reading, "grade": e.grade} for e in entries]


# ------------------------------------------------------------------------------ item annotation
def annotate_item_data(
    data: Mapping[str, Any], overrides: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The ``ruby`` and ``readability`` blocks for one item's raw YAML data, plus unreadable words.

    Ruby is suggested for the stimulus, compare, instruction, explanation, the figure's alt text and every
    option text;
    readability is measured on the stimulus followed by the compare sentence.
    """
    ruby: dict[str, Any] = {}
    unknown: list[str] = []
    for name in ("stimulus", "compare", "instruction", "explanation", "figure"):
        text = figure_alt(data) if name == "figure" else data.get(name)
        if isinstance(text, str):
            entries, missing = suggest_ruby(text, overrides)
            unknown += missing
            ruby[name] = ruby_entries_as_data(entries)
    options: dict[str, Any] = {}
    for option in data.get("options") or []:
        if (
            isinstance(option, dict)
            and isinstance(option.get("text"), str)
            and isinstance(option.get("id"), str)
        ):
            entries, missing = suggest_ruby(option["text"], overrides)
            unknown += missing
            if entries:
                options[option["id"]] = ruby_entries_as_data(entries)
    if options:
        ruby["options"] = options
    measured = readability(str(data.get("stimulus", "")) + str(data.get("compare") or ""))
    blocks = {
        "ruby": ruby,
        "readability": {
            "chars": measured.chars,
            "kanji_ratio": measured.kanji_ratio,
            "max_kanji_grade": measured.max_kanji_grade,
            "jreadability": measured.jreadability,
        },
    }
    return blocks, unknown

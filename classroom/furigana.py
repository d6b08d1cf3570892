"""Furigana for the lessons' prose: kanji taught after 小4 get their reading, so a 小4 child can read every
instruction and marking guide on their own (the lessons are the 小学校高学年 versions; 中学生 read them too).

Readings come from ``reading_tests.text.suggest_ruby`` (the analyser and the bank's reviewed overrides) and
are written as ``<ruby>変数<rp>（</rp><rt>へんすう</rt><rp>）</rp></ruby>``: Notebook 7's sanitizer keeps
ruby/rt/rp (shown above the kanji), and anything that drops the tags still shows 変数（へんすう）. Each word
gets its reading at its first use in a cell; code spans and code blocks are never touched.
"""

from __future__ import annotations

import re

from reading_tests.text import suggest_ruby

READER_GRADE = 4  # 小4: kanji of grade 5, 6 and beyond the 教育漢字 get a reading
_CODE = re.compile(r"(```.*?```|`[^`\n]*`|<ruby>.*?</ruby>)", re.DOTALL)


def ruby(base: str, reading: str) -> str:
    return f"<ruby>{base}<rp>（</rp><rt>{reading}</rt><rp>）</rp></ruby>"


def add_furigana(markdown: str, grade: int = READER_GRADE) -> str:
    """``markdown`` with a reading for each kanji word above ``grade`` (first use in this text)."""
    seen: set[str] = set()
    out: list[str] = []
    for piece in _CODE.split(markdown):
        if _CODE.fullmatch(piece) or not piece:
            out.append(piece)
            continue
        entries, _unknown = suggest_ruby(piece)
        cursor = 0
        for entry in entries:
            position = piece.find(entry.base, cursor)
            if position < 0:
                continue
            out.append(piece[cursor:position])
            if entry.grade > grade and entry.base not in seen:
                seen.add(entry.base)
                out.append(ruby(entry.base, entry.reading))
            else:
                out.append(entry.base)
            cursor = position + len(entry.base)
        out.append(piece[cursor:])
    return "".join(out)

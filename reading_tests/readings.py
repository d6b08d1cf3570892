"""Reading lint: are the stored ruby readings (and so the read-aloud text) right?

Ruby and read-aloud come from one list of readings per text (the item's ``ruby`` block); this module
checks that list with three independent rules and reports ``file:line: message`` issues:

1. **Counters** (:mod:`reading_tests.counters`): every ``number + counter`` (2本, 四人, 1週間, 2日) must be
   one ruby entry read as a school reads it aloud (にほん, よにん, いっしゅうかん, ふつか).  Error.
2. **Analyser**: every stored reading must equal the suggestion of the project's morphological analyser
   (fugashi + UniDic, :func:`reading_tests.text.suggest_ruby`) after the reviewed word overrides
   (``bank/ruby_overrides.yaml``) and the counter rule — a hand edit or a stale block.  Error.
3. **Dictionary**: a second, independent dictionary (SudachiDict core via SudachiPy) reads every word
   again; where it picks another reading (on-yomi against kun-yomi: 橋 きょう/はし, 日 にち/ひ), a
   warning asks a reviewer to decide — by an override when the stored reading is wrong, or by an entry
   in ``bank/reading_exceptions.yaml`` (``base: reading`` with the reason) when it is right.

Suggestions and dictionary readings are cached per text, so an 800-item bank is linted in seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reading_tests.counters import find_counters
from reading_tests.errors import InvalidInput
from reading_tests.items import Issue, Item, RubyEntry, display_path

EXCEPTIONS_PATH = Path(__file__).parent / "bank" / "reading_exceptions.yaml"


@dataclass(frozen=True)
class ReadingException:
    """A reviewed reading that the dictionary disagrees with: ``base`` is read ``reading`` here."""

    base: str
    reading: str
    reason: str
    reviewed_by: str


def load_exceptions(path: Path | None = None) -> dict[tuple[str, str], ReadingException]:
    """The reviewed exceptions file: a list of ``{base, reading, reason, reviewed_by}``."""
    file = path or EXCEPTIONS_PATH
    if not file.exists():
        return {}
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise InvalidInput(f"{file}: must be a list of {{base, reading, reason, reviewed_by}}")
    out: dict[tuple[str, str], ReadingException] = {}
    for i, entry in enumerate(data, start=1):
        fields = ("base", "reading", "reason", "reviewed_by")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k] for k in fields):
            raise InvalidInput(f"{file}: entry {i} needs base, reading, reason and reviewed_by (text)")
        exception = ReadingException(*(str(entry[k]) for k in fields))
        out[(exception.base, exception.reading)] = exception
    return out


# --------------------------------------------------------------------------------- dictionary
@functools.cache
def _sudachi() -> Any:
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="core").tokenizer(mode=SplitMode.C)


@functools.lru_cache(maxsize=8192)
def dictionary_readings(text: str) -> dict[tuple[int, int], str]:
    """Readings of the dictionary (SudachiDict core) for the kanji runs of ``text``: span → hiragana.

    Each word's reading is split over its kanji runs as the ruby is (読む → 読: よ); a word whose
    reading cannot be aligned is left out.
    """
    from reading_tests.text import split_okurigana, to_hiragana

    out: dict[tuple[int, int], str] = {}
    for morpheme in _sudachi().tokenize(text):
        start = morpheme.begin()
        surface = morpheme.surface()
        reading = to_hiragana(morpheme.reading_form())
        offset = start
        for base, part in split_okurigana(surface, reading):
            position = text.find(base, offset)
            if position < 0:
                break
            out[(position, position + len(base))] = part
            offset = position + len(base)
    return out


@functools.lru_cache(maxsize=8192)
def _suggested(text: str, overrides_key: tuple[tuple[str, str], ...]) -> tuple[RubyEntry, ...]:
    from reading_tests.text import suggest_ruby

    return tuple(suggest_ruby(text, dict(overrides_key))[0])


# ------------------------------------------------------------------------------------- linting
@dataclass(frozen=True)
class Finding:
    """One problem with the readings of one text of an item."""

    where: str
    message: str
    severity: str = "error"


def _positions(text: str, ruby: Sequence[RubyEntry]) -> list[tuple[int, int, RubyEntry]]:
    out: list[tuple[int, int, RubyEntry]] = []
    cursor = 0
    for entry in ruby:
        position = text.find(entry.base, cursor)
        if position < 0:
            continue
        out.append((position, position + len(entry.base), entry))
        cursor = position + len(entry.base)
    return out


def _override_spans(text: str, overrides: Mapping[str, str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for word in overrides:
        start = text.find(word)
        while start >= 0:
            spans.append((start, start + len(word)))
            start = text.find(word, start + len(word))
    return spans


def lint_text(
    text: str,
    ruby: Sequence[RubyEntry],
    *,
    where: str,
    overrides: Mapping[str, str],
    exceptions: Mapping[tuple[str, str], ReadingException],
    dictionary: bool = True,
) -> list[Finding]:
    """Findings for one text and its stored ruby (see the module docstring for the three rules)."""
    findings: list[Finding] = []
    placed = _positions(text, ruby)
    covered_by_override = _override_spans(text, overrides)

    def overridden(a: int, b: int) -> bool:
        return any(s <= a and b <= e for s, e in covered_by_override)

    counter_spans: list[tuple[int, int]] = []
    for use in find_counters(text):
        if overridden(use.start, use.end) or any(
            s < use.end and e > use.start for s, e in covered_by_override
        ):
            continue
        counter_spans.append((use.start, use.end))
        words = text[use.start : use.end]
        entries = [(a, b, e) for a, b, e in placed if a < use.end and b > use.start]
        exact = [e for a, b, e in entries if (a, b) == (use.start, use.end)]
        if not exact or exact[0].reading not in use.readings:
            found = "、".join(f"{e.base}: {e.reading}" for _, _, e in entries) or "none"
            findings.append(
                Finding(
                    where,
                    f"「{words}」 is read {'／'.join(use.readings)} as one ruby entry (found {found}); "
                    "run `giga items ruby --write`",
                )
            )

    key = tuple(sorted(overrides.items()))
    fresh = _suggested(text, key)
    if tuple(ruby) != fresh:
        stored = {(e.base, e.reading) for e in ruby}
        suggested = {(e.base, e.reading) for e in fresh}
        diff = sorted(stored - suggested)
        detail = "、".join(f"{b}: {r}" for b, r in diff[:3]) or "entries differ"
        findings.append(
            Finding(
                where,
                f"stored readings differ from the analyser's with the reviewed overrides ({detail}); "
                "fix a wrong reading in ruby_overrides.yaml, then run `giga items ruby --write`",
            )
        )

    if dictionary:
        known = dictionary_readings(text)
        for a, b, entry in placed:
            other = known.get((a, b))
            if other is None or other == entry.reading or not _has_kanji(entry.base):
                continue
            if overridden(a, b) or any(s <= a and b <= e for s, e in counter_spans):
                continue
            if (entry.base, entry.reading) in exceptions:
                continue
            findings.append(
                Finding(
                    where,
                    f"「{entry.base}」 is read {entry.reading} but the dictionary reads {other} here; "
                    "if it is wrong add an override, if right add it to reading_exceptions.yaml",
                    "warning",
                )
            )
    return findings


def _has_kanji(text: str) -> bool:
    from reading_tests.items import kanji_in

    return bool(kanji_in(text))


def lint_item(
    item: Item,
    *,
    overrides: Mapping[str, str],
    exceptions: Mapping[tuple[str, str], ReadingException],
    dictionary: bool = True,
) -> list[Finding]:
    """Findings for every text of ``item`` that has stored ruby (stimulus … explanation, the figure's alt
    text, options)."""
    findings: list[Finding] = []
    texts: list[tuple[str, str, Sequence[RubyEntry]]] = []
    for name in ("stimulus", "compare", "instruction", "explanation"):
        text = getattr(item, name)
        if isinstance(text, str) and name in item.ruby:
            texts.append((name, text, item.ruby[name]))
    if item.figure is not None and "figure" in item.ruby:
        texts.append(("figure", item.figure.alt, item.ruby["figure"]))
    if item.ruby:
        for option in item.options:
            if option.text:
                texts.append((f"option {option.id}", option.text, option.ruby))
    for where, text, ruby in texts:
        findings += lint_text(
            text, ruby, where=where, overrides=overrides, exceptions=exceptions, dictionary=dictionary
        )
    return findings


def lint_items(items: Iterable[Item], *, dictionary: bool = True) -> list[Issue]:
    """Reading issues of ``items`` as ``file:line: message`` (line of the field the text comes from)."""
    from reading_tests.text import load_overrides

    overrides = load_overrides()
    exceptions = load_exceptions()
    issues: list[Issue] = []
    for item in items:
        findings = lint_item(item, overrides=overrides, exceptions=exceptions, dictionary=dictionary)
        if not findings:
            continue
        lines = _field_lines(item.path) if item.path is not None else {}
        file = display_path(item.path) if item.path is not None else item.id
        for f in findings:
            line = lines.get(f.where.split()[0] if not f.where.startswith("option") else f.where, 1)
            message = f"readings of the {f.where}: {f.message}"
            issues.append(Issue(file, line, message, "warning" if f.severity == "warning" else "error"))
    return issues


def _field_lines(path: Path) -> dict[str, int]:
    """1-based line of each top-level text field and of each option (``option A``)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for name in ("stimulus", "compare", "instruction", "explanation", "figure"):
            if line.startswith(f"{name}:") and name not in lines:
                lines[name] = number
        stripped = line.strip()
        if stripped.startswith("- id:") and not line.startswith(" " * 6):
            option_id = stripped.removeprefix("- id:").strip()
            lines.setdefault(f"option {option_id}", number)
    return lines

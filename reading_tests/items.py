"""The reading-comprehension item bank: item model, loading and validation (DESIGN §5.1).

One YAML file per item (``bank/items/<SKILL>/<ID>.yaml``; the format is described in
``bank/README.md``).  :func:`load_bank` returns an :class:`ItemBank`; :func:`validate_path` checks files
against the schema in :data:`FIELDS` and the semantic rules and reports every problem as
``file:line: message`` with the line of the offending YAML node.

Chance level of an item (the probability of a correct answer by guessing uniformly):

* single choice / picture choice with k options: ``1/k``;
* same/different: ``1/2``;
* true / false / cannot tell: ``1/3``;
* select-all with k options (any non-empty subset may be the key): ``1/(2^k − 1)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

from reading_tests.errors import InvalidInput

SKILLS: tuple[str, ...] = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
FORMATS: tuple[str, ...] = (
    "single_choice",
    "same_different",
    "picture_choice",
    "select_all",
    "true_false_cannot_tell",
)
GRADES: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3")
BANDS: dict[str, tuple[str, ...]] = {
    "P1-2": ("P1", "P2"),
    "P3-4": ("P3", "P4"),
    "P5-6": ("P5", "P6"),
    "J1-3": ("J1", "J2", "J3"),
}
#: Kinds of text children meet: 教科書-like explanations, news, encyclopedia and dictionary entries, notices
#: (お知らせ), stories (物語) and charts/tables with their text (図表).
GENRES: tuple[str, ...] = ("textbook", "newspaper", "encyclopedia", "dictionary", "notice", "story", "chart")
WRITING_MODES: tuple[str, ...] = ("horizontal", "vertical")
#: Life cycle of an item: written (draft) → checked by a second person (reviewed) → given to students to
#: collect responses (pilot) → calibrated on real responses and used for scores (operational) → retired.
STATUSES: tuple[str, ...] = ("draft", "reviewed", "pilot", "operational", "retired")
#: Statuses a student may be given (tests: ``bank.filter(pool="test", status=DELIVERABLE_STATUSES)``); a
#: draft has not had its second-person review, a retired item is out.
DELIVERABLE_STATUSES: tuple[str, ...] = ("reviewed", "pilot", "operational")
#: Where an item is used: tests (scores) or practice (feedback after each answer); never both.
POOLS: tuple[str, ...] = ("test", "practice")
#: What a reviewer confirms before an item may leave draft (see bank/README.md, "Reviewing an item").
#: ``text_only``: the item cannot be answered without reading the stimulus, nor by world knowledge alone.
REVIEW_CHECKS: tuple[str, ...] = ("key", "distractors", "readings", "grade_level", "bias", "text_only")
IRT_MODELS: tuple[str, ...] = ("1pl", "2pl", "3pl")
SAME_DIFFERENT_OPTIONS: tuple[tuple[str, str], ...] = (("same", "同じ"), ("different", "ちがう"))
#: Option ids of the true / false / cannot-tell format (RST's 正しい／誤り／判断できない), in this order;
#: the texts may be worded for the grade band (e.g. 「正しい」「まちがい」「この文だけではわからない」).
TRUE_FALSE_OPTION_IDS: tuple[str, ...] = ("true", "false", "cannot_tell")
#: Number of options allowed per format (inclusive range).
OPTION_COUNTS: dict[str, tuple[int, int]] = {
    "single_choice": (4, 4),
    "same_different": (2, 2),
    "picture_choice": (3, 4),
    "select_all": (4, 6),
    "true_false_cannot_tell": (3, 3),
}
#: Formats answered by choosing exactly one option.
SINGLE_KEY_FORMATS: tuple[str, ...] = (
    "single_choice",
    "same_different",
    "picture_choice",
    "true_false_cannot_tell",
)
#: Formats with a second text: the sentence to compare, or the statement to judge true/false/cannot tell.
COMPARE_FORMATS: tuple[str, ...] = ("same_different", "true_false_cannot_tell")
#: Formats whose options are fixed by the format, so distractors need no written rationale.
FIXED_OPTION_FORMATS: tuple[str, ...] = ("same_different", "true_false_cannot_tell")
#: Fields carrying text that can have ruby; options are handled separately.
TEXT_FIELDS: tuple[str, ...] = ("stimulus", "compare", "instruction", "explanation")
#: Blocks written by tools (``giga items ruby``, the simulated pilot), kept at the end of each file.
TOOL_BLOCKS: tuple[str, ...] = ("ruby", "readability", "irt")
#: Stimulus length the design aims at (characters) and the range outside which the validator warns.
STIMULUS_TARGET = 150
STIMULUS_WARN_RANGE = (60, 260)
#: 小1–2 read short texts: about 30–120 characters.
STIMULUS_WARN_RANGE_P1_2 = (25, 160)
DESIGN_DIFFICULTY_RANGE = (-3.5, 3.0)
#: Highest grade used for ruby: 1–6 are the elementary grades of the 教育漢字, 7 is anything beyond.
MAX_KANJI_GRADE = 7

# The schema: field name -> (python type(s), required?).  Enumerations and cross-field rules are
# checked in ``_check_item``.
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "skill": ((str,), True),
    "format": ((str,), True),
    "grade_min": ((str,), True),
    "grade_band": ((str,), True),
    "genre": ((str,), True),
    "writing_mode": ((str,), True),
    "status": ((str,), True),
    "design_difficulty": ((int, float), True),
    "stimulus": ((str,), True),
    "figure": ((dict,), False),
    "compare": ((str,), False),
    "instruction": ((str,), True),
    "options": ((list,), True),
    "key": ((list,), True),
    "explanation": ((str,), True),
    "pool": ((str,), False),
    "review": ((dict,), False),
    "ruby": ((dict,), False),
    "readability": ((dict,), False),
    "irt": ((dict,), False),
}
OPTION_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "text": (str,),
    "alt": (str,),
    "svg": (str,),
    "rationale": (str,),
}
#: The ``figure`` block: a picture that belongs to the stimulus (a map, a chart), shown under it.
FIGURE_FIELDS: dict[str, tuple[type, ...]] = {"alt": (str,), "svg": (str,)}
#: Largest inline figure accepted (bytes of SVG source): a Celeron Chromebook on a shared access point.
FIGURE_MAX_BYTES = 16_384
#: A figure's alt text is what a screen reader says instead of the picture: a sentence, not a novel.
FIGURE_ALT_MAX_CHARS = 300
#: The ``review`` block: who wrote the item, who checked it, when, and which checks were done.
REVIEW_FIELDS: dict[str, tuple[type, ...]] = {
    "written_by": (str,),
    "reviewed_by": (str, type(None)),
    "reviewed_on": (str, type(None)),
    "checks": (list,),
    "notes": (str, type(None)),
    "approved_by": (str, type(None)),
    "approved_on": (str, type(None)),
}
#: Fields of the review block that may be left out (they default to null).
REVIEW_OPTIONAL: tuple[str, ...] = ("notes", "approved_by", "approved_on")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
READABILITY_FIELDS: dict[str, tuple[type, ...]] = {
    "chars": (int,),
    "kanji_ratio": (int, float),
    "max_kanji_grade": (int,),
    "jreadability": (int, float),
}
IRT_FIELDS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "a": (int, float),
    "b": (int, float),
    "c": (int, float),
    "se_a": (int, float, type(None)),
    "se_b": (int, float, type(None)),
    "se_c": (int, float, type(None)),
    "n": (int,),
    "provisional": (bool,),
    "source": (str,),
}
RUBY_ENTRY_FIELDS: dict[str, tuple[type, ...]] = {"base": (str,), "reading": (str,), "grade": (int,)}

_ID_RE = re.compile(r"^(?P<skill>[A-Z_]+)-(?P<num>\d{3})$")
_OPTION_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HIRAGANA_RE = re.compile(r"^[\u3041-\u3096\u30fcゝゞ]+$")
_KANJI_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ]")

Format = Literal["single_choice", "same_different", "picture_choice", "select_all"]


# --------------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class RubyEntry:
    """A reading for one occurrence of a kanji word: ``base`` read as ``reading`` (hiragana).

    ``grade`` is the highest school grade of the kanji in ``base`` (1–6, 7 beyond the 教育漢字);
    the word gets ruby for a student whose grade is below it.
    """

    base: str
    reading: str
    grade: int


RubyList = tuple[RubyEntry, ...]


@dataclass(frozen=True)
class Option:
    """One answer option: text and/or an inline SVG picture with its alt text."""

    id: str
    text: str = ""
    alt: str | None = None
    svg: str | None = None
    ruby: RubyList = ()
    #: Why a student might choose this option (for a distractor: the misreading it reveals).
    rationale: str | None = None


@dataclass(frozen=True)
class Figure:
    """A picture belonging to the stimulus (map, chart, diagram): inline SVG and the Japanese text a
    screen reader says instead (``alt``); the runner hides the drawing itself from screen readers."""

    svg: str
    alt: str


@dataclass(frozen=True)
class Review:
    """Provenance of an item: its author, the second person who checked it, when, and what was checked."""

    written_by: str
    reviewed_by: str | None
    reviewed_on: str | None
    checks: tuple[str, ...]
    notes: str | None = None
    #: The psychometrics step: who made the item operational (after a real calibration), and when.
    approved_by: str | None = None
    approved_on: str | None = None

    @property
    def complete(self) -> bool:
        """True when a person other than the author checked every point of :data:`REVIEW_CHECKS`."""
        return (
            self.reviewed_by is not None
            and self.reviewed_by != self.written_by
            and set(REVIEW_CHECKS) <= set(self.checks)
        )


@dataclass(frozen=True)
class Readability:
    """Readability metadata of the stimulus (and the compare sentence, if any).

    ``chars`` counts characters without whitespace, ``kanji_ratio`` is the share of them that are kanji,
    ``max_kanji_grade`` the highest kanji grade (0 without kanji) and ``jreadability`` the score of
    Lee & Hasebe (higher is easier; about 0.5–6.5).
    """

    chars: int
    kanji_ratio: float
    max_kanji_grade: int
    jreadability: float


@dataclass(frozen=True)
class IrtParams:
    """Item parameters under the 3PL family, with calibration provenance."""

    model: str
    a: float
    b: float
    c: float
    se_a: float | None
    se_b: float | None
    se_c: float | None
    n: int
    provisional: bool
    source: str


@dataclass(frozen=True)
class Item:
    """One reading-comprehension item (see ``bank/README.md`` for the meaning of every field)."""

    id: str
    skill: str
    format: str
    grade_min: str
    grade_band: str
    genre: str
    writing_mode: str
    status: str
    design_difficulty: float
    stimulus: str
    instruction: str
    options: tuple[Option, ...]
    key: tuple[str, ...]
    explanation: str
    compare: str | None = None
    pool: str = "test"
    review: Review | None = None
    ruby: Mapping[str, RubyList] = field(default_factory=dict)
    readability: Readability | None = None
    irt: IrtParams | None = None
    figure: Figure | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def chance_level(self) -> float:
        """Probability of a correct answer by uniform guessing (see the module docstring)."""
        k = len(self.options)
        if self.format == "same_different":
            return 0.5
        if self.format == "select_all":
            return 1.0 / float(2**k - 1)
        return 1.0 / k

    @property
    def option_ids(self) -> tuple[str, ...]:
        """Ids of the options in display order."""
        return tuple(option.id for option in self.options)

    def option(self, option_id: str) -> Option:
        """The option with this id (``KeyError`` if there is none)."""
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)

    def is_correct(self, answer: Sequence[str]) -> bool:
        """True when the set of chosen option ids equals the key exactly (order and repeats ignored)."""
        return set(answer) == set(self.key) and len(answer) > 0

    def ruby_for(self, field_name: str) -> RubyList:
        """Stored ruby of a text field (``stimulus``, ``compare``, ``instruction``, ``explanation``, or
        ``figure``: the figure's alt text, which read-aloud says after the stimulus)."""
        return self.ruby.get(field_name, ())


@dataclass
class ItemBank:
    """An ordered collection of items with lookup by id and simple filters."""

    items: list[Item]
    root: Path | None = None
    _by_id: dict[str, Item] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {item.id: item for item in self.items}

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def __getitem__(self, item_id: str) -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise InvalidInput(f"unknown item: {item_id}") from None

    def get(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        return self._by_id.get(item_id)

    def filter(
        self,
        *,
        skill: str | None = None,
        band: str | None = None,
        status: str | Sequence[str] | None = None,
        format: str | None = None,
        genre: str | None = None,
        pool: str | None = None,
    ) -> list[Item]:
        """Items matching every given criterion, in bank order."""
        statuses = {status} if isinstance(status, str) else set(status) if status is not None else None
        return [
            item
            for item in self.items
            if (skill is None or item.skill == skill)
            and (band is None or item.grade_band == band)
            and (statuses is None or item.status in statuses)
            and (format is None or item.format == format)
            and (genre is None or item.genre == genre)
            and (pool is None or item.pool == pool)
        ]


# ------------------------------------------------------------------------------------------- SVG
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"


def check_svg(svg: str) -> list[str]:
    """Problems that keep an inline SVG from being shown safely to students (empty list when fine).

    The SVG must be well-formed XML without a DOCTYPE, with root ``svg`` and a ``viewBox``, and must not
    contain scripts, event-handler attributes (``on…``), ``foreignObject`` or references to anything
    outside the picture (``href`` other than ``#fragment``, ``url(…)`` other than ``url(#…)``).
    """
    import xml.etree.ElementTree as ET

    if "<!DOCTYPE" in svg or "<!ENTITY" in svg:
        return ["DOCTYPE and entity declarations are not allowed"]
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as error:
        return [f"not well-formed XML ({error})"]
    problems: list[str] = []
    if root.tag not in ("svg", f"{{{_SVG_NS}}}svg"):
        problems.append(f"the root element must be <svg>, not <{_local(root.tag)}>")
    if "viewBox" not in root.attrib:
        problems.append("the <svg> element needs a viewBox")
    for element in root.iter():
        tag = _local(element.tag).lower()
        if tag in ("script", "foreignobject", "iframe", "object", "embed"):
            problems.append(f"<{_local(element.tag)}> is not allowed")
        for name, value in element.attrib.items():
            local = _local(name).lower()
            if local.startswith("on"):
                problems.append(f"event handler attribute '{local}' is not allowed")
            elif local == "href" and not value.strip().startswith("#"):
                problems.append(f"external reference href='{value}' is not allowed")
            elif "url(" in value and not re.search(r"url\(\s*['\"]?#", value):
                problems.append(f"external url() in attribute '{local}' is not allowed")
        if tag == "style" and element.text and re.search(r"url\(\s*['\"]?(?!#)|@import", element.text):
            problems.append("external references in <style> are not allowed")
    return list(dict.fromkeys(problems))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------------------------------ diagnostics
@dataclass(frozen=True)
class Issue:
    """One problem found in a file; ``str()`` gives ``file:line: message``."""

    file: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {prefix}{self.message}"


@dataclass
class Report:
    """Result of validating files: errors make the bank invalid, warnings do not."""

    issues: list[Issue] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------------- YAML with line numbers
Path_ = tuple[str | int, ...]


@dataclass
class LocatedDocument:
    """A YAML document as plain Python data plus the 1-based line of every node (by path).

    ``top_spans`` gives, for each top-level key, the 0-based line range ``[start, end)`` it occupies
    in the file (used to rewrite tool blocks without touching the rest of the file).
    """

    data: Any
    lines: dict[Path_, int]
    top_spans: dict[str, tuple[int, int]]
    duplicate_keys: list[tuple[Path_, int]]

    def line(self, path: Path_) -> int:
        """Line of the node at ``path``, or of its nearest ancestor that exists."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


def compose_located(text: str) -> LocatedDocument:
    """Parse one YAML document keeping line numbers (``yaml.YAMLError`` on syntax errors)."""
    # libyaml's composer keeps the marks too and is ~10x faster than the pure-Python one.
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    lines: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int]] = []
    constructor = yaml.SafeLoader("")

    def convert(n: yaml.Node, path: Path_) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int):
                    key = str(key)
                if key in result:
                    duplicates.append(((*path, key), key_node.start_mark.line + 1))
                result[key] = convert(value_node, (*path, key))
                lines[(*path, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(n, yaml.SequenceNode):
            return [convert(child, (*path, i)) for i, child in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    if node is None:
        return LocatedDocument(None, {(): 1}, {}, [])
    data = convert(node, ())
    spans: dict[str, tuple[int, int]] = {}
    if isinstance(node, yaml.MappingNode):
        starts = [(str(k.value), k.start_mark.line) for k, _ in node.value]
        total = text.count("\n") + (0 if text.endswith("\n") else 1)
        for i, (name, start) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else max(total, start + 1)
            spans[name] = (start, end)
    return LocatedDocument(data, lines, spans, duplicates)


# --------------------------------------------------------------------------------------- checking
class _Checker:
    """Collects issues for one file."""

    def __init__(self, display: str, doc: LocatedDocument, report: Report) -> None:
        self.display = display
        self.doc = doc
        self.report = report
        self.failed = False

    def error(self, path: Path_, message: str) -> None:
        self.failed = True
        self.report.issues.append(Issue(self.display, self.doc.line(path), message))

    def warn(self, path: Path_, message: str) -> None:
        self.report.issues.append(Issue(self.display, self.doc.line(path), message, "warning"))

    def typed(self, value: Any, types: tuple[type, ...], path: Path_, name: str) -> bool:
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            expected = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            self.error(path, f"{name} must be {expected}, not {_describe(value)}")
        return ok


_TYPE_NAMES = {
    str: "text",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a mapping",
    bool: "true/false",
    type(None): "null",
}


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def kanji_in(text: str) -> list[str]:
    """The kanji characters of ``text`` in order (々 and 〆 count as kanji)."""
    return _KANJI_RE.findall(text)


def _check_enum(ck: _Checker, data: Mapping[str, Any], name: str, allowed: Sequence[str]) -> None:
    value = data.get(name)
    if isinstance(value, str) and value not in allowed:
        ck.error((name,), f"{name} '{value}' is not one of: {', '.join(allowed)}")


def _check_item(ck: _Checker, data: Any, stem: str, parent: str) -> Item | None:
    if not isinstance(data, dict):
        ck.error((), "an item file must be a YAML mapping of fields (id, skill, format, …)")
        return None
    for path, line in ck.doc.duplicate_keys:
        ck.report.issues.append(Issue(ck.display, line, f"duplicate key '{path[-1]}'"))
        ck.failed = True
    for name in data:
        if name not in FIELDS:
            ck.error((name,), f"unknown field '{name}' (allowed: {', '.join(FIELDS)})")
    for name, (types, required) in FIELDS.items():
        if name not in data:
            if required:
                ck.error((), f"missing required field '{name}'")
            continue
        ck.typed(data[name], types, (name,), name)
    for name, allowed in (
        ("skill", SKILLS),
        ("format", FORMATS),
        ("grade_min", GRADES),
        ("grade_band", tuple(BANDS)),
        ("genre", GENRES),
        ("writing_mode", WRITING_MODES),
        ("status", STATUSES),
        ("pool", POOLS),
    ):
        _check_enum(ck, data, name, allowed)

    item_id, skill, fmt = data.get("id"), data.get("skill"), data.get("format")
    if isinstance(item_id, str):
        match = _ID_RE.match(item_id)
        if not match:
            ck.error(("id",), f"id '{item_id}' must look like <SKILL>-<NNN>, e.g. ANA-007")
        elif isinstance(skill, str) and match["skill"] != skill:
            ck.error(("id",), f"id '{item_id}' does not start with its skill '{skill}-'")
        if item_id != stem:
            ck.error(("id",), f"id '{item_id}' must equal the file name '{stem}'")
    if isinstance(skill, str) and parent in SKILLS and parent != skill:
        ck.error(("skill",), f"skill '{skill}' but the file is in the folder of skill '{parent}'")
    band, grade_min = data.get("grade_band"), data.get("grade_min")
    if band in BANDS and grade_min in GRADES and grade_min not in BANDS[str(band)]:
        ck.error(("grade_min",), f"grade_min {grade_min} is outside grade_band {band}")
    difficulty = data.get("design_difficulty")
    if isinstance(difficulty, int | float) and not isinstance(difficulty, bool):
        low, high = DESIGN_DIFFICULTY_RANGE
        if not low <= difficulty <= high:
            ck.error(("design_difficulty",), f"design_difficulty {difficulty} is outside {low} … {high}")

    for name in ("stimulus", "instruction", "explanation", "compare"):
        value = data.get(name)
        if isinstance(value, str) and not value.strip():
            ck.error((name,), f"{name} is empty")
    stimulus = data.get("stimulus")
    if isinstance(stimulus, str) and stimulus.strip():
        n = len("".join(stimulus.split()))
        low, high = STIMULUS_WARN_RANGE_P1_2 if data.get("grade_band") == "P1-2" else STIMULUS_WARN_RANGE
        if not low <= n <= high:
            ck.warn(("stimulus",), f"stimulus has {n} characters, far from the ~{STIMULUS_TARGET} aimed at")
    if fmt in COMPARE_FORMATS and not isinstance(data.get("compare"), str):
        what = "sentence" if fmt == "same_different" else "statement to judge"
        ck.error(("format",), f"a {fmt} item needs a 'compare' {what}")
    if fmt not in COMPARE_FORMATS and "compare" in data and fmt in FORMATS:
        ck.error(("compare",), "'compare' is only used by same_different and true_false_cannot_tell items")

    figure = _check_figure(ck, data.get("figure"))
    options = _check_options(ck, data.get("options"), fmt)
    key = _check_key(ck, data.get("key"), fmt, options)
    _check_rationales(ck, options, key, fmt)
    review = _check_review(ck, data.get("review"), data.get("status"))
    ruby = _check_ruby(ck, data, options)
    readability = _check_readability(ck, data.get("readability"), data)
    irt = _check_irt(ck, data.get("irt"))
    if data.get("status") == "operational" and irt is not None and irt.provisional:
        ck.error(
            ("irt", "provisional"),
            "an operational item needs parameters from real responses, not provisional",
        )
    if ck.failed:
        return None
    return Item(
        id=str(item_id),
        skill=str(skill),
        format=str(fmt),
        grade_min=str(grade_min),
        grade_band=str(band),
        genre=str(data["genre"]),
        writing_mode=str(data["writing_mode"]),
        status=str(data["status"]),
        design_difficulty=float(data["design_difficulty"]),
        stimulus=str(stimulus),
        instruction=str(data["instruction"]),
        options=tuple(
            Option(
                id=o["id"],
                text=o.get("text", ""),
                alt=o.get("alt"),
                svg=o.get("svg"),
                ruby=ruby.get(f"option:{o['id']}", ()),
                rationale=o.get("rationale"),
            )
            for o in options
        ),
        key=tuple(key),
        explanation=str(data["explanation"]),
        compare=data.get("compare"),
        pool=str(data.get("pool", "test")),
        review=review,
        ruby={k: v for k, v in ruby.items() if not k.startswith("option:")},
        readability=readability,
        irt=irt,
        figure=figure,
    )


_JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _check_figure(ck: _Checker, value: Any) -> Figure | None:
    """A figure needs Japanese alt text (what a screen reader says) and a safe, small inline SVG."""
    if not isinstance(value, dict):
        return None
    for name in value:
        if name not in FIGURE_FIELDS:
            ck.error(("figure", name), f"unknown figure field '{name}' (allowed: {', '.join(FIGURE_FIELDS)})")
    alt, svg = value.get("alt"), value.get("svg")
    if not isinstance(alt, str) or not alt.strip():
        ck.error(("figure",), "a figure needs 'alt': the Japanese text a screen reader says instead of it")
    elif not _JAPANESE_RE.search(alt):
        ck.error(("figure", "alt"), "the figure's alt text must be Japanese (children hear it read aloud)")
    elif len(alt) > FIGURE_ALT_MAX_CHARS:
        ck.error(("figure", "alt"), f"the figure's alt text is longer than {FIGURE_ALT_MAX_CHARS} characters")
    if not isinstance(svg, str) or not svg.strip():
        ck.error(("figure",), "a figure needs 'svg' (an inline drawing)")
        return None
    size = len(svg.encode("utf-8"))
    if size > FIGURE_MAX_BYTES:
        ck.error(("figure", "svg"), f"the figure's svg has {size} bytes, more than {FIGURE_MAX_BYTES}")
    for problem in check_svg(svg):
        ck.error(("figure", "svg"), f"figure svg: {problem}")
    if "<title" not in svg:
        ck.warn(
            ("figure", "svg"), "the figure's svg has no <title> (a tooltip and a name outside the runner)"
        )
    if ck.failed or not isinstance(alt, str):
        return None
    return Figure(svg=svg, alt=alt)


def _check_options(ck: _Checker, options: Any, fmt: Any) -> list[dict[str, Any]]:
    if not isinstance(options, list):
        return []
    good: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, option in enumerate(options):
        path: Path_ = ("options", i)
        if not isinstance(option, dict):
            ck.error(path, f"option {i + 1} must be a mapping with id and text")
            continue
        for name in option:
            if name not in OPTION_FIELDS:
                ck.error(
                    (*path, name), f"unknown option field '{name}' (allowed: {', '.join(OPTION_FIELDS)})"
                )
        for name, types in OPTION_FIELDS.items():
            if name in option:
                ck.typed(option[name], types, (*path, name), f"option {name}")
        option_id = option.get("id")
        if not isinstance(option_id, str):
            ck.error(path, f"option {i + 1} has no id")
            continue
        if not _OPTION_ID_RE.match(option_id):
            ck.error((*path, "id"), f"option id '{option_id}' must be a letter followed by letters/digits")
        if option_id in seen:
            ck.error((*path, "id"), f"option id '{option_id}' is used twice")
        seen.add(option_id)
        if fmt == "picture_choice":
            for name in ("svg", "alt"):
                if not isinstance(option.get(name), str) or not option[name].strip():
                    ck.error(path, f"picture_choice option '{option_id}' needs '{name}'")
            svg = option.get("svg")
            if isinstance(svg, str) and svg.strip():
                for problem in check_svg(svg):
                    ck.error((*path, "svg"), f"option '{option_id}' svg: {problem}")
        elif not isinstance(option.get("text"), str) or not option["text"].strip():
            ck.error(path, f"option '{option_id}' needs 'text'")
        elif "svg" in option and fmt in FORMATS:
            ck.error((*path, "svg"), "'svg' is only used by picture_choice options")
        good.append(option)
    if fmt in OPTION_COUNTS:
        low, high = OPTION_COUNTS[str(fmt)]
        if not low <= len(options) <= high:
            wanted = f"exactly {low}" if low == high else f"{low}–{high}"
            ck.error(("options",), f"{fmt} needs {wanted} options, found {len(options)}")
    if fmt == "true_false_cannot_tell" and len(options) == 3:
        got_ids = tuple(o.get("id") for o in options if isinstance(o, dict))
        if got_ids != TRUE_FALSE_OPTION_IDS:
            ck.error(
                ("options",),
                "true_false_cannot_tell options must have the ids true, false, cannot_tell, in that order",
            )
    if fmt == "same_different" and len(options) == 2:
        got = tuple((o.get("id"), o.get("text")) for o in options if isinstance(o, dict))
        if got != SAME_DIFFERENT_OPTIONS:
            ck.error(
                ("options",),
                "same_different options must be exactly {id: same, text: 同じ} and "
                "{id: different, text: ちがう}, in that order",
            )
    return good


def _check_key(ck: _Checker, key: Any, fmt: Any, options: list[dict[str, Any]]) -> list[str]:
    if not isinstance(key, list):
        return []
    ids = {o["id"] for o in options}
    result: list[str] = []
    for i, value in enumerate(key):
        if not isinstance(value, str):
            ck.error(("key", i), f"key entries must be option ids, not {_describe(value)}")
        elif value not in ids:
            ck.error(("key", i), f"key '{value}' is not an option id (options: {', '.join(sorted(ids))})")
        elif value in result:
            ck.error(("key", i), f"key '{value}' is listed twice")
        else:
            result.append(value)
    if not key:
        ck.error(("key",), "key is empty")
    elif fmt in SINGLE_KEY_FORMATS and len(key) != 1:
        ck.error(("key",), f"{fmt} has exactly one key, found {len(key)}")
    return result


def _check_rationales(ck: _Checker, options: list[dict[str, Any]], key: list[str], fmt: Any) -> None:
    """Every distractor of a free-option format says why a student might choose it (a warning for now:
    the items written before the rule are being completed)."""
    if fmt in FIXED_OPTION_FORMATS or not key:
        return
    for i, option in enumerate(options):
        rationale = option.get("rationale")
        if option["id"] not in key and not (isinstance(rationale, str) and rationale.strip()):
            ck.warn(
                ("options", i), f"distractor '{option['id']}' has no rationale (the misreading it reveals)"
            )


def _check_review(ck: _Checker, value: Any, status: Any) -> Review | None:
    """The ``review`` block; an item past draft must have been checked by a second person."""
    past_draft = status in ("reviewed", "pilot", "operational")
    if value is None:
        if past_draft:
            ck.warn(
                ("status",), f"status '{status}' but no review block (who wrote and who checked the item)"
            )
        return None
    if not isinstance(value, dict):
        ck.error(("review",), "review must be a mapping (written_by, reviewed_by, reviewed_on, checks)")
        return None
    value = {**dict.fromkeys(REVIEW_OPTIONAL), **value}
    for name in ("reviewed_on", "approved_on"):
        if isinstance(value.get(name), date):  # YAML reads an unquoted 2026-12-07 as a date
            value[name] = value[name].isoformat()
    if not _check_block(ck, value, REVIEW_FIELDS, "review"):
        return None
    checks = value["checks"]
    unknown = [c for c in checks if c not in REVIEW_CHECKS]
    if unknown:
        ck.error(
            ("review", "checks"), f"unknown review check {unknown[0]!r} (use {', '.join(REVIEW_CHECKS)})"
        )
    for name in ("reviewed_on", "approved_on"):
        when = value[name]
        if when is not None and not _DATE_RE.match(when):
            ck.error(("review", name), f"review.{name} '{when}' must be a date YYYY-MM-DD")
    review = Review(
        written_by=value["written_by"],
        reviewed_by=value["reviewed_by"],
        reviewed_on=value["reviewed_on"],
        checks=tuple(str(c) for c in checks),
        notes=value["notes"],
        approved_by=value["approved_by"],
        approved_on=value["approved_on"],
    )
    if status == "operational" and not review.approved_by:
        ck.error(
            ("status",),
            "status 'operational' needs review.approved_by: only the psychometrics step "
            "(`giga items set-status ID operational --role psychometrics`) makes an item operational",
        )
    if past_draft and not review.complete:
        missing = [c for c in REVIEW_CHECKS if c not in review.checks]
        why = (
            "the reviewer must be a second person, not the author"
            if review.reviewed_by in (None, review.written_by)
            else f"checks missing: {', '.join(missing)}"
        )
        ck.error(("review",), f"status '{status}' needs a complete review: {why}")
    return review


def figure_alt(data: Mapping[str, Any]) -> str | None:
    """The alt text of an item's raw ``figure`` block, if it has one."""
    figure = data.get("figure")
    alt = figure.get("alt") if isinstance(figure, dict) else None
    return alt if isinstance(alt, str) else None


def _check_ruby(ck: _Checker, data: Mapping[str, Any], options: list[dict[str, Any]]) -> dict[str, RubyList]:
    ruby = data.get("ruby")
    result: dict[str, RubyList] = {}
    if not isinstance(ruby, dict):
        return result
    from reading_tests.text import kanji_grade  # local import: text pulls in the kanji tables

    option_texts = {o["id"]: o.get("text", "") for o in options}
    for name, entries in ruby.items():
        path: Path_ = ("ruby", name)
        if name == "options":
            if not isinstance(entries, dict):
                ck.error(path, "ruby.options must map option ids to lists of ruby entries")
                continue
            for option_id, option_entries in entries.items():
                if option_id not in option_texts:
                    ck.error((*path, option_id), f"ruby for unknown option '{option_id}'")
                    continue
                result[f"option:{option_id}"] = _check_ruby_list(
                    ck,
                    option_entries,
                    (*path, option_id),
                    option_texts[option_id] or "",
                    f"option {option_id}",
                    kanji_grade,
                )
            continue
        if name not in (*TEXT_FIELDS, "figure"):
            allowed = ", ".join((*TEXT_FIELDS, "figure", "options"))
            ck.error(path, f"ruby for unknown field '{name}' (allowed: {allowed})")
            continue
        text = figure_alt(data) if name == "figure" else data.get(name)
        if not isinstance(text, str):
            ck.error(path, f"ruby for '{name}', which the item does not have")
            continue
        result[name] = _check_ruby_list(ck, entries, path, text, name, kanji_grade)
    return result


def _check_ruby_list(
    ck: _Checker, entries: Any, path: Path_, text: str, where: str, kanji_grade: Any
) -> RubyList:
    if not isinstance(entries, list):
        ck.error(path, f"ruby for {where} must be a list of {{base, reading, grade}}")
        return ()
    out: list[RubyEntry] = []
    cursor = 0
    for i, entry in enumerate(entries):
        epath: Path_ = (*path, i)
        if not isinstance(entry, dict) or set(entry) != set(RUBY_ENTRY_FIELDS):
            ck.error(epath, f"ruby entry must have exactly base, reading and grade ({where})")
            continue
        if not all(ck.typed(entry[k], t, (*epath, k), f"ruby {k}") for k, t in RUBY_ENTRY_FIELDS.items()):
            continue
        base, reading, grade = entry["base"], entry["reading"], entry["grade"]
        position = text.find(base, cursor) if base else -1
        if position < 0:
            ck.error(
                epath,
                f"ruby base '{base}' does not occur in the {where} (after the previous entry); "
                "run `giga items ruby --write` after editing a text",
            )
            continue
        cursor = position + len(base)
        if not _HIRAGANA_RE.match(reading):
            ck.error((*epath, "reading"), f"ruby reading '{reading}' for '{base}' must be hiragana")
        expected = kanji_grade(base)
        if grade != expected:
            ck.error((*epath, "grade"), f"ruby grade {grade} for '{base}' should be {expected}")
        out.append(RubyEntry(base, reading, grade))
    covered = "".join(e.base for e in out)
    missing = [k for k in kanji_in(text) if k not in covered]
    if missing and len(out) == len(entries):
        ck.error(
            path,
            f"ruby for {where} does not cover the kanji {''.join(dict.fromkeys(missing))}; "
            "run `giga items ruby --write`",
        )
    return tuple(out)


def _check_readability(ck: _Checker, value: Any, data: Mapping[str, Any]) -> Readability | None:
    if not isinstance(value, dict):
        return None
    ok = _check_block(ck, value, READABILITY_FIELDS, "readability")
    stimulus = data.get("stimulus")
    if ok and isinstance(stimulus, str):
        from reading_tests.text import count_chars

        expected = count_chars(stimulus + (data.get("compare") or ""))
        if value["chars"] != expected:
            ck.error(
                ("readability", "chars"),
                f"readability.chars is {value['chars']} but the text has "
                f"{expected} characters; run `giga items ruby --write`",
            )
    if not ok:
        return None
    return Readability(
        int(value["chars"]),
        float(value["kanji_ratio"]),
        int(value["max_kanji_grade"]),
        float(value["jreadability"]),
    )


def _check_irt(ck: _Checker, value: Any) -> IrtParams | None:
    if not isinstance(value, dict) or not _check_block(ck, value, IRT_FIELDS, "irt"):
        return None
    if value["model"] not in IRT_MODELS:
        ck.error(("irt", "model"), f"irt.model '{value['model']}' is not one of: {', '.join(IRT_MODELS)}")
    if value["a"] <= 0:
        ck.error(("irt", "a"), "irt.a must be positive")
    if not 0 <= value["c"] < 1:
        ck.error(("irt", "c"), "irt.c must be in [0, 1)")
    if value["n"] < 0:
        ck.error(("irt", "n"), "irt.n must not be negative")

    def opt(name: str) -> float | None:
        v = value[name]
        return None if v is None else float(v)

    return IrtParams(
        str(value["model"]),
        float(value["a"]),
        float(value["b"]),
        float(value["c"]),
        opt("se_a"),
        opt("se_b"),
        opt("se_c"),
        int(value["n"]),
        bool(value["provisional"]),
        str(value["source"]),
    )


def _check_block(
    ck: _Checker, value: dict[str, Any], spec: Mapping[str, tuple[type, ...]], name: str
) -> bool:
    ok = True
    for key in value:
        if key not in spec:
            ck.error((name, key), f"unknown field '{name}.{key}'")
            ok = False
    for key, types in spec.items():
        if key not in value:
            ck.error((name,), f"{name} is missing '{key}'")
            ok = False
        elif not ck.typed(value[key], types, (name, key), f"{name}.{key}"):
            ok = False
    return ok


# ----------------------------------------------------------------------------------------- loading
def default_bank_path() -> Path:
    """Folder of the shipped item bank (``reading_tests/bank/items``)."""
    return Path(__file__).parent / "bank" / "items"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def item_files(path: Path) -> list[Path]:
    """YAML files under ``path`` (or ``path`` itself), sorted by skill order then name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InvalidInput(f"{path}: no such file or folder")
    files = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]

    def order(p: Path) -> tuple[int, str]:
        skill = p.parent.name
        return (SKILLS.index(skill) if skill in SKILLS else len(SKILLS), str(p))

    return sorted(files, key=order)


def validate_file(path: Path, report: Report) -> Item | None:
    """Validate one item file, appending issues to ``report``; returns the item when it is valid."""
    display = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        report.issues.append(Issue(display, 1, f"not UTF-8 text ({error.reason})"))
        return None
    try:
        doc = compose_located(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        report.issues.append(Issue(display, line, f"YAML syntax error: {error.problem or error.context}"))
        return None
    except yaml.YAMLError as error:
        report.issues.append(Issue(display, 1, f"YAML error: {error}"))
        return None
    item = _check_item(_Checker(display, doc, report), doc.data, path.stem, path.parent.name)
    if item is not None:
        item = Item(**{**item.__dict__, "path": path})
    return item


def validate_path(path: Path | str | None = None) -> Report:
    """Validate every item file under ``path`` (default: the shipped bank), including cross-file rules."""
    root = Path(path) if path is not None else default_bank_path()
    report = Report()
    first_seen: dict[str, Issue] = {}
    for file in item_files(root):
        item = validate_file(file, report)
        if item is None:
            continue
        if item.id in first_seen:
            other = first_seen[item.id]
            report.issues.append(Issue(display_path(file), 1, f"id '{item.id}' is also used by {other.file}"))
            continue
        first_seen[item.id] = Issue(display_path(file), 1, "")
        report.items.append(item)
    return report


def load_bank(path: Path | str | None = None) -> ItemBank:
    """Load and validate the item bank (default: the shipped bank).

    Raises
    ------
    InvalidInput
        When any file is invalid; the message lists the first problems as ``file:line: message``.
    """
    report = validate_path(path)
    if not report.ok:
        shown = "; ".join(str(issue) for issue in report.errors[:5])
        more = f" (and {len(report.errors) - 5} more)" if len(report.errors) > 5 else ""
        raise InvalidInput(f"the item bank is invalid: {shown}{more}")
    return ItemBank(report.items, Path(path) if path is not None else default_bank_path())


# ----------------------------------------------------------------------------------------- writing
def rewrite_tool_blocks(path: Path, blocks: Mapping[str, Any | None]) -> bool:
    """Replace the tool-managed top-level blocks (``ruby``, ``readability``, ``irt``) of an item file.

    The author's part of the file is kept byte for byte; each given block is removed where it was and
    written again at the end (a value of None removes the block).  Blocks not given are kept as they
    are.  Returns True when the file changed.
    """
    text = path.read_text(encoding="utf-8")
    doc = compose_located(text)
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    kept_tail: dict[str, str] = {}
    for name in TOOL_BLOCKS:
        if name in doc.top_spans:
            start, end = doc.top_spans[name]
            chunk = "".join(lines[start:end])
            drop.update(range(start, end))
            if name not in blocks:
                kept_tail[name] = chunk if chunk.endswith("\n") else chunk + "\n"
    body = "".join(line for i, line in enumerate(lines) if i not in drop)
    if body and not body.endswith("\n"):
        body += "\n"
    for name in TOOL_BLOCKS:
        if name in blocks:
            value = blocks[name]
            if value is not None:
                body += dump_yaml({name: value})
        elif name in kept_tail:
            body += kept_tail[name]
    if body == text:
        return False
    path.write_text(body, encoding="utf-8")
    return True


class _Dumper(yaml.SafeDumper):
    """Readable dumps: multi-line strings as block scalars, unicode kept."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    """Dump ``data`` the way the bank's tool blocks are written (flow style for leaf mappings)."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110
    )

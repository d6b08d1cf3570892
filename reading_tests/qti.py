"""QTI 3.0 export and import of choice items (DESIGN §9).

Every item format of the bank is a choice interaction:

* single_choice, picture_choice, same_different → ``cardinality="single"``, ``max-choices="1"``;
* select_all → ``cardinality="multiple"``, ``max-choices="0"`` (any number), correct response = the key set.

The item body keeps the stimulus (and the compare sentence) as ``<p>`` paragraphs with every stored
ruby entry as ``<ruby data-grade="g">base<rt>reading</rt></ruby>`` (the grade lets a delivery system
show ruby only above the student's grade).  Bank metadata (skill, grades, genre, writing mode, status,
design difficulty, pool, review provenance, and which texts carry ruby — so that an empty ruby list
survives) travels as ``data-*`` attributes of a ``div.giga-item`` wrapper, the explanation and the
distractor rationales (one ``<p data-option="B">`` each) as scorer ``qti-rubric-block`` elements.
Picture options carry their SVG as an ``<img>`` with a
``data:image/svg+xml;base64`` source and the alt text, so the SVG comes back byte for byte; so does the
stimulus's figure (``<img class="figure">`` right after the stimulus; the ruby of its alt text, which
read-aloud says, as a scorer ``qti-rubric-block use="figure-reading"``).  Response
processing uses the standard ``match_correct`` template.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from reading_tests.errors import InvalidInput
from reading_tests.items import (
    SKILLS,
    TRUE_FALSE_OPTION_IDS,
    Figure,
    Item,
    Option,
    Review,
    RubyEntry,
    RubyList,
    dump_yaml,
)

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"
_SVG_PREFIX = "data:image/svg+xml;base64,"
_META = ("skill", "format", "grade_min", "grade_band", "genre", "writing_mode", "status", "pool")
#: Review provenance as ``data-review-*`` attributes of the wrapper (checks space-separated).
_REVIEW_META = ("written_by", "reviewed_by", "reviewed_on", "notes", "approved_by", "approved_on")

ET.register_namespace("", QTI_NS)


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


# ----------------------------------------------------------------------------------------- export
def _append_text(parent: ET.Element, text: str) -> None:
    """Append text after the last child of ``parent`` (ElementTree keeps it in ``tail``)."""
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _fill_with_ruby(parent: ET.Element, text: str, ruby: RubyList) -> None:
    """Put ``text`` into ``parent`` with every ruby entry (matched in order) as a ``<ruby>`` element."""
    cursor = 0
    for entry in ruby:
        position = text.find(entry.base, cursor)
        if position < 0:
            raise InvalidInput(
                f"ruby base '{entry.base}' not found in the text; run `giga items ruby --write`"
            )
        _append_text(parent, text[cursor:position])
        element = ET.SubElement(parent, _q("ruby"), {"data-grade": str(entry.grade)})
        element.text = entry.base
        rt = ET.SubElement(element, _q("rt"))
        rt.text = entry.reading
        cursor = position + len(entry.base)
    _append_text(parent, text[cursor:])


def _paragraphs(parent: ET.Element, text: str, ruby: RubyList, css_class: str) -> None:
    """One ``<p>`` per line of ``text``; ruby entries are distributed over the lines in order."""
    block = ET.SubElement(parent, _q("div"), {"class": css_class})
    remaining = list(ruby)
    for line in text.split("\n"):
        p = ET.SubElement(block, _q("p"))
        mine: list[RubyEntry] = []
        cursor = 0
        while remaining and (pos := line.find(remaining[0].base, cursor)) >= 0:
            cursor = pos + len(remaining[0].base)
            mine.append(remaining.pop(0))
        _fill_with_ruby(p, line, tuple(mine))


def item_to_qti(item: Item) -> ET.Element:
    """The QTI 3.0 ``qti-assessment-item`` element of a bank item."""
    multiple = item.format == "select_all"
    root = ET.Element(
        _q("qti-assessment-item"),
        {
            "identifier": item.id,
            "title": item.id,
            "adaptive": "false",
            "time-dependent": "false",
            "xml:lang": "ja",
        },
    )
    declaration = ET.SubElement(
        root,
        _q("qti-response-declaration"),
        {
            "identifier": "RESPONSE",
            "cardinality": "multiple" if multiple else "single",
            "base-type": "identifier",
        },
    )
    correct = ET.SubElement(declaration, _q("qti-correct-response"))
    for key in item.key:
        ET.SubElement(correct, _q("qti-value")).text = key
    outcome = ET.SubElement(
        root,
        _q("qti-outcome-declaration"),
        {
            "identifier": "SCORE",
            "cardinality": "single",
            "base-type": "float",
        },
    )
    default = ET.SubElement(outcome, _q("qti-default-value"))
    ET.SubElement(default, _q("qti-value")).text = "0"

    body = ET.SubElement(root, _q("qti-item-body"))
    meta = {f"data-{name.replace('_', '-')}": str(getattr(item, name)) for name in _META}
    meta["data-design-difficulty"] = repr(item.design_difficulty)
    meta["data-ruby-fields"] = " ".join(sorted(item.ruby))
    if item.review is not None:
        for name in _REVIEW_META:
            value = getattr(item.review, name)
            if value is not None:
                meta[f"data-review-{name.replace('_', '-')}"] = value
        meta["data-review-checks"] = " ".join(item.review.checks)
    wrapper = ET.SubElement(body, _q("div"), {"class": "giga-item", **meta})
    _paragraphs(wrapper, item.stimulus, item.ruby_for("stimulus"), "stimulus")
    if item.figure is not None:
        ET.SubElement(
            wrapper, _q("img"), {"class": "figure", "src": _svg_uri(item.figure.svg), "alt": item.figure.alt}
        )
    if item.compare is not None:
        _paragraphs(wrapper, item.compare, item.ruby_for("compare"), "compare")
    interaction = ET.SubElement(
        wrapper,
        _q("qti-choice-interaction"),
        {
            "response-identifier": "RESPONSE",
            "shuffle": "false",
            "max-choices": "0" if multiple else "1",
            "min-choices": "1",
        },
    )
    prompt = ET.SubElement(interaction, _q("qti-prompt"))
    _fill_with_ruby(prompt, item.instruction, item.ruby_for("instruction"))
    for option in item.options:
        choice = ET.SubElement(interaction, _q("qti-simple-choice"), {"identifier": option.id})
        if option.svg is not None:
            ET.SubElement(choice, _q("img"), {"src": _svg_uri(option.svg), "alt": option.alt or ""})
        if option.text:
            span = ET.SubElement(choice, _q("span"), {"class": "option-text"})
            _fill_with_ruby(span, option.text, option.ruby)
    rubric = ET.SubElement(wrapper, _q("qti-rubric-block"), {"use": "explanation", "view": "scorer"})
    content = ET.SubElement(rubric, _q("qti-content-body"))
    _paragraphs(content, item.explanation, item.ruby_for("explanation"), "explanation")
    if item.figure is not None and "figure" in item.ruby:
        # the reviewed reading of the figure's alt text (read-aloud says it); an <img alt> cannot carry ruby
        block = ET.SubElement(wrapper, _q("qti-rubric-block"), {"use": "figure-reading", "view": "scorer"})
        body_ = ET.SubElement(block, _q("qti-content-body"))
        _paragraphs(body_, item.figure.alt, item.ruby_for("figure"), "figure-reading")
    rationales = [o for o in item.options if o.rationale is not None]
    if rationales:
        block = ET.SubElement(wrapper, _q("qti-rubric-block"), {"use": "rationales", "view": "scorer"})
        body_ = ET.SubElement(block, _q("qti-content-body"))
        for option in rationales:
            ET.SubElement(body_, _q("p"), {"data-option": option.id}).text = option.rationale
    ET.SubElement(root, _q("qti-response-processing"), {"template": MATCH_CORRECT})
    return root


def _svg_uri(svg: str) -> str:
    return _SVG_PREFIX + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _svg_of(img: ET.Element, source: str) -> str:
    src = img.get("src", "")
    if not src.startswith(_SVG_PREFIX):
        raise InvalidInput(f"{source}: pictures must embed their SVG as a data:image/svg+xml;base64 URI")
    return base64.b64decode(src[len(_SVG_PREFIX) :]).decode("utf-8")


def item_to_qti_string(item: Item) -> str:
    """The item as a QTI 3.0 XML document (UTF-8 text with an XML declaration)."""
    root = item_to_qti(item)
    _indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_INLINE = {_q("p"), _q("qti-prompt"), _q("span")}


def _indent(element: ET.Element, level: int = 0) -> None:
    """Pretty-print like ``ET.indent`` but leave mixed-content elements (paragraphs, prompts) untouched."""
    if element.tag in _INLINE or not len(element):
        return
    pad = "\n" + "  " * (level + 1)
    element.text = pad
    for child in element:
        _indent(child, level + 1)
        child.tail = pad
    element[-1].tail = "\n" + "  " * level


# ----------------------------------------------------------------------------------------- import
def _text_and_ruby(element: ET.Element) -> tuple[str, list[RubyEntry]]:
    """Plain text of a mixed-content element and the ruby entries inside it (``<rt>`` text excluded)."""
    parts: list[str] = [element.text or ""]
    ruby: list[RubyEntry] = []
    for child in element:
        if child.tag == _q("ruby"):
            base = child.text or ""
            reading = "".join(rt.text or "" for rt in child if rt.tag == _q("rt"))
            parts.append(base)
            ruby.append(RubyEntry(base, reading, int(child.get("data-grade", "0"))))
        else:
            text, inner = _text_and_ruby(child)
            parts.append(text)
            ruby.extend(inner)
        parts.append(child.tail or "")
    return "".join(parts), ruby


def _read_paragraphs(block: ET.Element) -> tuple[str, RubyList]:
    lines: list[str] = []
    ruby: list[RubyEntry] = []
    for p in block.findall(_q("p")):
        text, entries = _text_and_ruby(p)
        lines.append(text)
        ruby += entries
    return "\n".join(lines), tuple(ruby)


def _strip_indent(element: ET.Element) -> None:
    """Undo the pretty-printing whitespace between elements that are not mixed content."""
    for node in element.iter():
        if node.tag in _INLINE:
            continue
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        for child in node:
            if child.tail is not None and not child.tail.strip():
                child.tail = None


def item_from_qti(root: ET.Element, source: str = "QTI") -> Item:
    """Read a ``qti-assessment-item`` written by :func:`item_to_qti` (or a compatible choice item)."""
    if root.tag != _q("qti-assessment-item"):
        raise InvalidInput(f"{source}: the root element is not a QTI 3.0 qti-assessment-item")
    _strip_indent(root)
    identifier = root.get("identifier") or ""
    declaration = root.find(_q("qti-response-declaration"))
    interaction = root.find(f".//{_q('qti-choice-interaction')}")
    if declaration is None or interaction is None:
        raise InvalidInput(f"{source}: only choice items (qti-choice-interaction) can be imported")
    key = tuple(v.text or "" for v in declaration.iter(_q("qti-value")))
    wrapper = root.find(f".//{_q('div')}[@class='giga-item']")
    meta: dict[str, Any] = {}
    review: Review | None = None
    ruby_fields: set[str] | None = None
    if wrapper is not None:
        meta = {name: wrapper.get(f"data-{name.replace('_', '-')}") for name in _META}
        meta["design_difficulty"] = float(wrapper.get("data-design-difficulty", "0"))
        if wrapper.get("data-ruby-fields") is not None:
            ruby_fields = set(wrapper.get("data-ruby-fields", "").split())
        review = _read_review(wrapper)
    skill = meta.get("skill") or identifier.rsplit("-", 1)[0]
    if skill not in SKILLS:
        raise InvalidInput(f"{source}: unknown skill '{skill}' (the identifier must look like ANA-007)")
    body = root.find(_q("qti-item-body"))
    assert body is not None
    ruby: dict[str, RubyList] = {}
    texts: dict[str, str] = {}
    for css in ("stimulus", "compare", "explanation"):
        block = body.find(f".//{_q('div')}[@class='{css}']")
        if block is not None:
            texts[css], ruby[css] = _read_paragraphs(block)
    figure_reading = body.find(f".//{_q('div')}[@class='figure-reading']")
    if figure_reading is not None:
        ruby["figure"] = _read_paragraphs(figure_reading)[1]
    prompt = interaction.find(_q("qti-prompt"))
    instruction, instruction_ruby = _text_and_ruby(prompt) if prompt is not None else ("", [])
    ruby["instruction"] = tuple(instruction_ruby)
    rationales: dict[str, str] = {}
    block = body.find(f".//{_q('qti-rubric-block')}[@use='rationales']")
    if block is not None:
        for p in block.iter(_q("p")):
            rationales[p.get("data-option", "")] = p.text or ""
    options: list[Option] = []
    for choice in interaction.findall(_q("qti-simple-choice")):
        img = choice.find(_q("img"))
        svg = alt = None
        if img is not None:
            svg = _svg_of(img, source)
            alt = img.get("alt")
        span = choice.find(_q("span"))
        if span is not None:
            text, option_ruby = _text_and_ruby(span)
        elif img is None:
            text, option_ruby = _text_and_ruby(choice)
        else:
            text, option_ruby = "", []
        options.append(
            Option(
                choice.get("identifier") or "",
                text.strip() if span is None else text,
                alt,
                svg,
                tuple(option_ruby),
                rationales.get(choice.get("identifier") or ""),
            )
        )
    fmt = meta.get("format") or _guess_format(declaration, options)
    figure_img = body.find(f".//{_q('img')}[@class='figure']")
    figure = (
        Figure(_svg_of(figure_img, source), figure_img.get("alt") or "") if figure_img is not None else None
    )
    return Item(
        id=identifier,
        skill=skill,
        format=fmt,
        grade_min=meta.get("grade_min") or "P3",
        grade_band=meta.get("grade_band") or "P3-4",
        genre=meta.get("genre") or "textbook",
        writing_mode=meta.get("writing_mode") or "horizontal",
        status=meta.get("status") or "draft",
        design_difficulty=meta.get("design_difficulty", 0.0),
        stimulus=texts.get("stimulus", ""),
        instruction=instruction,
        options=tuple(options),
        key=key,
        explanation=texts.get("explanation", ""),
        compare=texts.get("compare"),
        pool=meta.get("pool") or "test",
        review=review,
        ruby={k: v for k, v in ruby.items() if (v if ruby_fields is None else k in ruby_fields)},
        figure=figure,
    )


def _read_review(wrapper: ET.Element) -> Review | None:
    values = {name: wrapper.get(f"data-review-{name.replace('_', '-')}") for name in _REVIEW_META}
    if values["written_by"] is None:
        return None
    return Review(
        written_by=values["written_by"],
        reviewed_by=values["reviewed_by"],
        reviewed_on=values["reviewed_on"],
        checks=tuple(wrapper.get("data-review-checks", "").split()),
        notes=values["notes"],
        approved_by=values["approved_by"],
        approved_on=values["approved_on"],
    )


def _guess_format(declaration: ET.Element, options: Sequence[Option]) -> str:
    if declaration.get("cardinality") == "multiple":
        return "select_all"
    if [o.id for o in options] == ["same", "different"]:
        return "same_different"
    if tuple(o.id for o in options) == TRUE_FALSE_OPTION_IDS:
        return "true_false_cannot_tell"
    if any(o.svg for o in options):
        return "picture_choice"
    return "single_choice"


def item_from_qti_string(text: str, source: str = "QTI") -> Item:
    """Parse a QTI 3.0 XML document into an :class:`Item` (``InvalidInput`` when it is not one)."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InvalidInput(f"{source}: DOCTYPE and entity declarations are not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise InvalidInput(f"{source}: not well-formed XML ({error})") from None
    return item_from_qti(root, source)


# -------------------------------------------------------------------------------------- to YAML
def item_to_yaml(item: Item) -> str:
    """The item in the bank's YAML format (author fields, then the stored ruby)."""
    data: dict[str, Any] = {
        "id": item.id,
        "skill": item.skill,
        "format": item.format,
        "grade_min": item.grade_min,
        "grade_band": item.grade_band,
        "genre": item.genre,
        "writing_mode": item.writing_mode,
        "status": item.status,
        "pool": item.pool,
        "design_difficulty": item.design_difficulty,
        "stimulus": item.stimulus,
    }
    if item.figure is not None:
        data["figure"] = {"alt": item.figure.alt, "svg": item.figure.svg}
    if item.compare is not None:
        data["compare"] = item.compare
    data["instruction"] = item.instruction
    options: list[dict[str, Any]] = []
    for option in item.options:
        entry: dict[str, Any] = {"id": option.id}
        if option.text:
            entry["text"] = option.text
        if option.alt is not None:
            entry["alt"] = option.alt
        if option.svg is not None:
            entry["svg"] = option.svg
        if option.rationale is not None:
            entry["rationale"] = option.rationale
        options.append(entry)
    data["options"] = options
    data["key"] = list(item.key)
    data["explanation"] = item.explanation
    if item.review is not None:
        review = {
            "written_by": item.review.written_by,
            "reviewed_by": item.review.reviewed_by,
            "reviewed_on": item.review.reviewed_on,
            "checks": list(item.review.checks),
        }
        for name in ("notes", "approved_by", "approved_on"):
            if getattr(item.review, name) is not None:
                review[name] = getattr(item.review, name)
        data["review"] = review
    ruby: dict[str, Any] = {name: [e.__dict__ for e in entries] for name, entries in item.ruby.items()}
    option_ruby = {o.id: [e.__dict__ for e in o.ruby] for o in item.options if o.ruby}
    if option_ruby:
        ruby["options"] = option_ruby
    if ruby:
        data["ruby"] = ruby
    return dump_yaml(data)

"""QTI 3.0 export/import: structure, and a lossless round trip over every item of the shipped bank."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from reading_tests.errors import InvalidInput
from reading_tests.items import Item, validate_path
from reading_tests.qti import QTI_NS, item_from_qti_string, item_to_qti_string

NS = {"q": QTI_NS}
ITEMS = validate_path().items


def authored(item: Item) -> Item:
    return dataclasses.replace(item, path=None, readability=None, irt=None)


@pytest.mark.parametrize("item", ITEMS, ids=[i.id for i in ITEMS])
def test_round_trip_keeps_stem_options_key_ruby(item: Item) -> None:
    back = item_from_qti_string(item_to_qti_string(item))
    assert back == authored(item)


def test_structure_of_a_select_all_item() -> None:
    item = next(i for i in ITEMS if i.format == "select_all")
    root = ET.fromstring(item_to_qti_string(item))
    assert root.tag == f"{{{QTI_NS}}}qti-assessment-item" and root.get("identifier") == item.id
    declaration = root.find("q:qti-response-declaration", NS)
    assert declaration is not None and declaration.get("cardinality") == "multiple"
    values = [v.text for v in declaration.findall("q:qti-correct-response/q:qti-value", NS)]
    assert values == list(item.key)
    interaction = root.find(".//q:qti-choice-interaction", NS)
    assert interaction is not None and interaction.get("max-choices") == "0"
    assert [c.get("identifier") for c in interaction.findall("q:qti-simple-choice", NS)] == list(
        item.option_ids
    )
    processing = root.find("q:qti-response-processing", NS)
    assert processing is not None and processing.get("template", "").endswith("match_correct.xml")


def test_ruby_is_html_ruby_in_the_body() -> None:
    item = next(i for i in ITEMS if i.ruby_for("stimulus"))
    root = ET.fromstring(item_to_qti_string(item))
    first = root.find(".//q:div[@class='stimulus']/q:p/q:ruby", NS)
    entry = item.ruby_for("stimulus")[0]
    assert first is not None and first.text == entry.base
    assert first.findtext("q:rt", namespaces=NS) == entry.reading and first.get("data-grade") == str(
        entry.grade
    )


def test_picture_choice_svg_survives() -> None:
    pictures = [i for i in ITEMS if i.format == "picture_choice"]
    assert pictures, "the bank has REP picture_choice items"
    back = item_from_qti_string(item_to_qti_string(pictures[0]))
    assert [o.svg for o in back.options] == [o.svg for o in pictures[0].options]
    assert [o.alt for o in back.options] == [o.alt for o in pictures[0].options]


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<qti-assessment-item", "not well-formed XML"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
        ("<foo/>", "not a QTI 3.0 qti-assessment-item"),
        (
            f'<qti-assessment-item xmlns="{QTI_NS}" identifier="ANA-1">'
            "<qti-item-body/></qti-assessment-item>",
            "only choice items",
        ),
    ],
)
def test_bad_qti_is_refused(xml: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        item_from_qti_string(xml)


def city_bank_item() -> Item:
    """An item with every field issue 17 added: pool, review, rationales, T/F/cannot-tell, empty ruby."""
    from reading_tests.items import Option, Review, RubyEntry

    return Item(
        id="INF-950",
        skill="INF",
        format="true_false_cannot_tell",
        grade_min="P2",
        grade_band="P1-2",
        genre="story",
        writing_mode="vertical",
        status="operational",
        design_difficulty=-1.5,
        stimulus="ねこが ねて いる。",
        compare="ねこは 水を のんだ。",
        instruction="この文だけでわかることをえらびましょう。",
        options=(
            Option("true", "正しい", rationale=None),
            Option("false", "まちがい", rationale="「ねて いる」を「のんだ」の反対だと思う"),
            Option("cannot_tell", "この文だけではわからない"),
        ),
        key=("cannot_tell",),
        explanation="水のことは書いていません。",
        pool="practice",
        review=Review("author-a", "reviewer-b", "2026-12-07", ("key", "bias"), "ok", "psy", "2026-12-08"),
        ruby={
            "stimulus": (),
            "compare": (RubyEntry("水", "みず", 1),),
            "instruction": (RubyEntry("文", "ぶん", 1),),
            "explanation": (RubyEntry("水", "みず", 1), RubyEntry("書", "か", 2)),
        },
    )


def test_round_trip_of_the_city_bank_fields() -> None:
    item = city_bank_item()
    xml = item_to_qti_string(item)
    back = item_from_qti_string(xml)
    assert back == item
    assert back.ruby["stimulus"] == ()  # an empty ruby list is not lost
    assert back.option("false").rationale is not None and back.option("true").rationale is None
    root = ET.fromstring(xml)
    rationales = root.find(".//q:qti-rubric-block[@use='rationales']", NS)
    assert rationales is not None and rationales.get("view") == "scorer"  # students never see them


def test_yaml_written_from_qti_is_a_valid_item_with_the_same_fields(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reading_tests.qti import item_to_yaml

    item = dataclasses.replace(city_bank_item(), status="draft")
    folder = tmp_path / "INF"
    folder.mkdir()
    (folder / "INF-950.yaml").write_text(item_to_yaml(item), encoding="utf-8")
    report = validate_path(tmp_path)
    assert report.errors == []
    assert dataclasses.replace(report.items[0], path=None) == item

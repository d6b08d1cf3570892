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

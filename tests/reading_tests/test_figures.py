"""The ``figure`` of an item (a picture in the question, issue 17): validated (Japanese alt text, a safe
and small inline SVG), carried by QTI export/import and the YAML written from it, and used by REP items."""

from __future__ import annotations

import base64
import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reading_tests.items import FIGURE_MAX_BYTES, load_bank, validate_path
from reading_tests.qti import QTI_NS, item_from_qti_string, item_to_qti_string, item_to_yaml

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 60" role="img"><title>地図</title>'
    '<rect x="10" y="10" width="30" height="20" fill="#ccc" stroke="#000"/></svg>'
)
ITEM = """id: REP-901
skill: REP
format: single_choice
grade_min: P4
grade_band: P3-4
genre: notice
writing_mode: horizontal
status: draft
design_difficulty: 0.0
stimulus: |-
  公園の地図です。入り口から見て、右の奥に池があり、左の手前に砂場があります。地図を見て、案内の文を考えます。
{figure}instruction: 地図に合う文を一つえらびなさい。
options:
  - {{id: A, text: 池は右の奥にあります。}}
  - {{id: B, text: 池は左の奥にあります。, rationale: 左右を取りちがえた。}}
  - {{id: C, text: 砂場は右の手前にあります。, rationale: 左右を取りちがえた。}}
  - {{id: D, text: 砂場は奥にあります。, rationale: 手前と奥を取りちがえた。}}
key: [A]
explanation: 地図では、池が右の奥にあります。
"""


def validate(tmp_path: Path, figure: str) -> list[str]:
    folder = tmp_path / "REP"
    folder.mkdir(exist_ok=True)
    (folder / "REP-901.yaml").write_text(ITEM.format(figure=figure), encoding="utf-8")
    return [str(i) for i in validate_path(tmp_path).errors]


def figure_block(svg: str = SVG, alt: str = "公園の地図。右の奥に池、左の手前に砂場。") -> str:
    return f"figure:\n  alt: {alt}\n  svg: |-\n    {svg}\n"


def test_a_figure_with_japanese_alt_and_a_safe_svg_is_valid(tmp_path: Path) -> None:
    assert validate(tmp_path, figure_block()) == []
    item = validate_path(tmp_path).items[0]
    assert item.figure is not None and item.figure.svg == SVG and item.figure.alt.startswith("公園")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (figure_block(alt="a map"), "must be Japanese"),
        ("figure:\n  svg: |-\n    " + SVG + "\n", "needs 'alt'"),
        ("figure:\n  alt: 地図\n", "needs 'svg'"),
        (figure_block(svg=SVG.replace("<rect", "<script>alert(1)</script><rect")), "<script> is not allowed"),
        (figure_block(svg=SVG.replace("<rect", '<image href="https://x.example/a.png"/><rect')), "external"),
        (figure_block(svg=SVG.replace("<rect", '<rect onclick="x()"')), "event handler"),
        (figure_block(svg=SVG.replace(' viewBox="0 0 100 60"', "")), "viewBox"),
        (figure_block(svg=SVG.replace("<title>", "<title>" + "あ" * FIGURE_MAX_BYTES)), "more than"),
        (figure_block() + "  caption: x\n", "unknown figure field"),
    ],
)
def test_unsafe_or_inaccessible_figures_are_refused(tmp_path: Path, block: str, message: str) -> None:
    errors = validate(tmp_path, block)
    assert any(message in e for e in errors), errors


def test_qti_carries_the_figure_as_an_image_with_its_alt_text_and_back() -> None:
    item = dataclasses.replace(load_bank()["REP-027"], path=None, readability=None, irt=None)
    assert item.figure is not None
    xml = item_to_qti_string(item)
    img = ET.fromstring(xml).find(f".//{{{QTI_NS}}}img[@class='figure']")
    assert img is not None and img.get("alt") == item.figure.alt
    src = img.get("src", "")
    assert base64.b64decode(src.split(",", 1)[1]).decode("utf-8") == item.figure.svg
    back = item_from_qti_string(xml)
    assert back.figure == item.figure and back == item


def test_yaml_written_from_an_item_keeps_its_figure(tmp_path: Path) -> None:
    item = dataclasses.replace(load_bank()["REP-036"], path=None, readability=None, irt=None)
    folder = tmp_path / "REP"
    folder.mkdir()
    (folder / "REP-036.yaml").write_text(item_to_yaml(item), encoding="utf-8")
    report = validate_path(tmp_path)
    assert report.errors == []
    assert report.items[0].figure == item.figure


def test_at_least_three_rep_items_show_their_picture_in_the_question() -> None:
    with_figure = [i for i in load_bank() if i.skill == "REP" and i.figure is not None]
    assert len(with_figure) >= 3
    for item in with_figure:
        assert item.format == "single_choice" and item.figure is not None
        assert "<title>" in item.figure.svg, item.id  # a name outside the runner too
        assert "図" in item.instruction or "グラフ" in item.instruction, item.id


def test_the_figure_s_alt_text_has_reviewed_ruby_that_read_aloud_says() -> None:
    """The picture is heard, not seen: its alt text is read aloud after the stimulus, in the reading the
    bank stores for it (as the other texts), not in whatever a speech engine guesses for 公民館 or 三本."""
    from lms.reading.delivery import item_payload

    item = load_bank()["REP-027"]
    assert item.figure is not None
    stored = {(e.base, e.reading) for e in item.ruby_for("figure")}
    assert {("三本", "さんぼん"), ("公民", "こうみん")} <= stored
    speech = item_payload(item, 3)["speech"]["figure"]
    assert "さんぼん" in speech and "こうみんかん" in speech and "公民館" not in speech
    assert item_payload(load_bank()["DEP-012"], 3)["speech"]["figure"] is None  # no picture, nothing said


def test_ruby_for_a_figure_is_checked_like_any_text(tmp_path: Path) -> None:
    without = "ruby:\n  figure:\n  - {base: 地図, reading: ちず, grade: 2}\n"
    folder = tmp_path / "REP"
    folder.mkdir()
    (folder / "REP-901.yaml").write_text(ITEM.format(figure="") + without, encoding="utf-8")
    errors = [str(i) for i in validate_path(tmp_path).errors]
    assert any("ruby for 'figure', which the item does not have" in e for e in errors), errors
    wrong_base = "ruby:\n  figure:\n  - {base: 砂浜, reading: すなはま, grade: 2}\n"
    (folder / "REP-901.yaml").write_text(ITEM.format(figure=figure_block()) + wrong_base, encoding="utf-8")
    errors = [str(i) for i in validate_path(tmp_path).errors]
    assert any("ruby base '砂浜' does not occur in the figure" in e for e in errors), errors


def test_the_reading_lint_reads_the_figure_s_alt_text() -> None:
    from reading_tests.readings import lint_items

    item = load_bank()["REP-027"]
    misread = tuple(
        dataclasses.replace(e, reading="さんほん") if e.base == "三本" else e for e in item.ruby_for("figure")
    )
    broken = dataclasses.replace(item, ruby={**item.ruby, "figure": misread})
    assert lint_items([item]) == []
    found = [str(i) for i in lint_items([broken])]
    assert any("readings of the figure" in f and "三本" in f for f in found), found

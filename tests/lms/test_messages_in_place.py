"""Japanese sentences shown to people live in each domain's messages.py, not inline in a ``raise``.

An AST scan of every module under lms/: a ``raise`` whose exception expression contains a string literal
(or an f-string piece) with kana or kanji fails the test, unless the module is a messages catalogue.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lms

LMS_ROOT = Path(lms.__file__).parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")  # kana, kanji, full-width forms
CATALOGUES = {"messages.py", "permission_messages.py"}

# (path relative to lms/, line) of raises that must keep an inline Japanese literal, each with its reason.
# Empty on purpose: add an entry only with a comment saying why the sentence cannot live in a catalogue.
ALLOWED: set[tuple[str, int]] = set()


def _japanese_literals(node: ast.AST) -> list[str]:
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and JAPANESE.search(child.value):
            found.append(child.value)
    return found


def inline_japanese_raises(source: str, name: str) -> list[str]:
    """``name:line: text`` for each raise in ``source`` that spells out a Japanese sentence."""
    problems = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Raise) and node.exc is not None and (name, node.lineno) not in ALLOWED:
            problems += [f"{name}:{node.lineno}: {text}" for text in _japanese_literals(node.exc)]
    return problems


def test_no_japanese_literal_in_a_raise_outside_the_catalogues() -> None:
    problems = []
    for path in sorted(LMS_ROOT.rglob("*.py")):
        if path.name in CATALOGUES:
            continue
        problems += inline_japanese_raises(path.read_text(encoding="utf-8"), str(path.relative_to(LMS_ROOT)))
    assert problems == [], "move these sentences into the domain's messages.py:\n" + "\n".join(problems)


def test_the_scan_finds_plain_f_string_and_multi_line_raises() -> None:
    source = """
def f(name: str) -> None:
    raise ValueError("そのクラスは見つかりません。")
def g(name: str) -> None:
    raise ValueError(f"「{name}」は見つかりません")
def h() -> None:
    raise ValueError(
        "一行目"
        "二行目"
    )
def fine() -> None:
    raise ValueError(msg.CLASS_NOT_FOUND)
def english() -> None:
    raise ValueError("not found")
"""
    found = inline_japanese_raises(source, "example.py")
    assert [line.split(": ", 1)[0] for line in found] == ["example.py:3", "example.py:5", "example.py:7"]

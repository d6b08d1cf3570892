"""Every setting an operator can set is read by the code, and no knob name is defined twice.

A field nobody reads is a knob that does nothing (GIGA_MIN_CELL_SIZE once was one: the board's suppression
reads GIGA_BOARD_MIN_CELL_SIZE). A field name shared by two settings classes would let a read of one count
for the other here, so names are unique across classes.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from pydantic_settings import BaseSettings

from lms.core.settings import (
    BoardSettings,
    LtiSettings,
    OAuthProviderSettings,
    OidcSettings,
    Settings,
    XapiSettings,
)

LMS = Path(__file__).resolve().parents[2] / "lms"
CLASSES: tuple[type[BaseSettings], ...] = (
    Settings,
    BoardSettings,
    OidcSettings,
    OAuthProviderSettings,
    XapiSettings,
    LtiSettings,
)


def _defined_settings_classes() -> set[str]:
    names = set()
    for path in LMS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "BaseSettings" for base in node.bases
            ):
                names.add(node.name)
    return names


def _attributes_read() -> Counter[str]:
    """Attribute names read anywhere in lms/ (``x.name`` in a load context), with how often."""
    reads: Counter[str] = Counter()
    for path in LMS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                reads[node.attr] += 1
    return reads


def test_every_settings_class_is_checked_here() -> None:
    assert _defined_settings_classes() == {cls.__name__ for cls in CLASSES}


def _variable(cls: type[BaseSettings], name: str) -> str:
    alias = cls.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else (str(cls.model_config.get("env_prefix", "")) + name).upper()


def test_a_field_name_shared_by_two_classes_is_the_same_variable() -> None:
    variables: dict[str, set[str]] = {}
    for cls in CLASSES:
        for name in cls.model_fields:
            variables.setdefault(name, set()).add(_variable(cls, name))
    assert {name: found for name, found in variables.items() if len(found) > 1} == {}


def test_every_setting_is_read_somewhere() -> None:
    reads = _attributes_read()
    unread = [f"{cls.__name__}.{name}" for cls in CLASSES for name in cls.model_fields if not reads[name]]
    assert unread == []


def test_board_cell_size_is_the_one_suppression_knob() -> None:
    assert "min_cell_size" not in Settings.model_fields
    assert "min_cell_size" in BoardSettings.model_fields

"""A child's name as printed on a card: the kanji name with its reading in hiragana as ruby."""

from __future__ import annotations

from markupsafe import Markup, escape

from lms.roster.models import User

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}
_HIRAGANA_TO_KATAKANA = {code: katakana for katakana, code in _KATAKANA_TO_HIRAGANA.items()}


def hiragana(text: str) -> str:
    """Katakana readings (as OneRoster's kana fields often are) in hiragana, which a 小1 child reads."""
    return text.translate(_KATAKANA_TO_HIRAGANA)


def katakana(text: str) -> str:
    """Hiragana in katakana (the other direction of :func:`hiragana`)."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def _part(written: str, reading: str | None) -> Markup:
    if not written:
        return Markup("")
    if not reading or hiragana(reading) == written:
        return escape(written)
    return Markup("<ruby>{}<rt>{}</rt></ruby>").format(written, hiragana(reading))


def name_ruby_html(user: User) -> Markup:
    """The name with ruby (「<ruby>山田<rt>やまだ</rt></ruby> …」); the username when no name is known."""
    family = _part(user.family_name, user.kana_family_name)
    given = _part(user.given_name, user.kana_given_name)
    if not family and not given:
        return escape(user.username)
    return Markup("{} {}").format(family, given).strip()

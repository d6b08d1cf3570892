"""A Japanese hint for the most common beginner mistake: a 全角 (full-width) character in Python code.

Typed with the Japanese IME on, ``print（"こんにちは"）`` or ``x　=　１`` stop with an English SyntaxError
(``invalid character '（' (U+FF08)``, ``invalid non-printable character U+3000``) that a 小学生 cannot read.
:func:`hint` turns such a message into one sentence naming the character and its 半角 replacement. It is used
in the students' kernels (the IPython extension below, loaded by the kernel spec in ``jupyter_data/``) and in
the feedback the teacher releases (``hub_config.feedback``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

# characters NFKC does not turn into their ASCII twins, or turns into something else
SPECIAL = {
    "\u3000": ("全角スペース", "半角スペース「 」"),
    "、": ("「、」", "「,」（カンマ）"),
    "。": ("「。」", "「.」（ピリオド）"),
    "「": ("「「」", '「"」'),
    "」": ("「」」", '「"」'),
    "“": ("「“」", '「"」'),
    "”": ("「”」", '「"」'),
    "‘": ("「‘」", "「'」"),
    "’": ("「’」", "「'」"),
    "ー": ("「ー」（のばす音）", "「-」（マイナス）"),
    "−": ("「−」", "「-」（マイナス）"),
    "×": ("「×」", "「*」"),
    "÷": ("「÷」", "「/」"),
}
CHARACTER_RE = re.compile(r"invalid (?:non-printable )?character (?:'(.)' )?\(?U\+([0-9A-Fa-f]{4,6})\)?")


def replacement(character: str) -> tuple[str, str] | None:
    """(how to name the character, what to type instead), or None when it is not a 全角 mistake."""
    if character in SPECIAL:
        return SPECIAL[character]
    ascii_twin = unicodedata.normalize("NFKC", character)
    if len(ascii_twin) == 1 and ascii_twin.isascii() and ascii_twin != character:
        return f"全角の「{character}」", f"半角の「{ascii_twin}」"
    return None


def hint(message: str) -> str | None:
    """The Japanese hint for a SyntaxError message, or None when the message is about something else."""
    found = CHARACTER_RE.search(message)
    if not found:
        return None
    character = chr(int(found.group(2), 16))
    named = replacement(character)
    if named is None:
        return None
    name, instead = named
    return (
        f"ヒント: {name}が入っています。プログラムは半角で書きます。{instead}に直しましょう"
        "（日本語入力をオフにすると半角になります）。"
    )


def load_ipython_extension(shell: Any) -> None:
    """IPython extension: after a SyntaxError, print the hint below the error."""
    original = shell.showsyntaxerror

    def showsyntaxerror(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        error = sys.exc_info()[1] or getattr(sys, "last_value", None)
        text = hint(str(error)) if error is not None else None
        if text:
            print(text)
        return result

    shell.showsyntaxerror = showsyntaxerror

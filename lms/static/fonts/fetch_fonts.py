"""Make the self-hosted web font: a WOFF2 subset of BIZ UD P Gothic (SIL OFL 1.1) in lms/static/fonts/.

Run ``python lms/static/fonts/fetch_fonts.py`` (the Makefile's run/test targets call it). Needs the Debian
package ``fonts-morisawa-bizud-gothic``; when it is missing the script says so and exits 0, and the pages fall
back to the system's sans-serif font.

The full Regular TTF is 4.6 MB — too heavy for forty Chromebooks on one access point. The page font is a
WOFF2 subset (fonttools + brotli) holding what the pages actually show: ASCII, Japanese punctuation, kana,
full-width forms, the 1,026 kanji of the 教育漢字 (grades 1–6, so that names and school words mostly render in
the same face) and every other character used by the item bank, the templates, the JavaScript and the Python
sources of the LMS (messages). Characters outside the subset fall back, glyph by glyph, to the system font.
Only the Regular weight is shipped; bold text is synthesised.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOURCE_DIRS = [Path("/usr/share/fonts/truetype/bizud-gothic"), Path("/usr/share/fonts/truetype/morisawa")]
SOURCE_FONT = "BIZUDPGothic-Regular.ttf"
SUBSET_FONT = "BIZUDPGothic-Regular.subset.woff2"
LICENSE_SOURCE = Path("/usr/share/doc/fonts-morisawa-bizud-gothic/copyright")
#: Where the shown text lives: (folder under the repository, file name patterns).
TEXT_SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reading_tests/bank", ("*.yaml",)),
    ("reading_tests", ("scoring.py",)),
    ("lms", ("*.html", "*.js", "*.py", "*.css")),
)
#: Blocks always included (inclusive code point ranges).
RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 (×, ÷, °, ±, ·)
    (0x2010, 0x2027),  # dashes, quotes, …
    (0x2030, 0x203B),  # ‰ ′ ″ ※
    (0x2190, 0x2199),  # arrows
    (0x2460, 0x2473),  # ① … ⑳
    (0x25A0, 0x25CF),  # ■ □ ▲ △ ○ ● …
    (0x2605, 0x2606),  # ★ ☆
    (0x3000, 0x303F),  # CJK punctuation 、。「」『』〜
    (0x3041, 0x309F),  # hiragana
    (0x30A0, 0x30FF),  # katakana
    (0xFF01, 0xFF60),  # full-width ASCII forms
    (0xFF61, 0xFF9F),  # half-width katakana
)


def _is_wanted(ch: str) -> bool:
    cp = ord(ch)
    return cp >= 0x2000 or 0x20 <= cp < 0x7F


def used_characters(root: Path = ROOT) -> set[str]:
    """Every non-control character of the shown sources plus the fixed blocks and the 教育漢字."""
    chars: set[str] = set()
    for start, end in RANGES:
        chars.update(chr(cp) for cp in range(start, end + 1))
    try:
        from kanji_lists import KYOIKU

        for grade in range(1, 7):
            chars.update(getattr(KYOIKU.REIWA2, f"GRADE{grade}"))
    except ImportError:  # pragma: no cover - kanji-lists is a core dependency
        pass
    for folder, patterns in TEXT_SOURCES:
        base = root / folder
        for pattern in patterns:
            for path in base.rglob(pattern):
                if ".venv" in path.parts or "node_modules" in path.parts:
                    continue
                chars.update(c for c in path.read_text(encoding="utf-8", errors="ignore") if _is_wanted(c))
    return chars


def make_subset(source: Path, destination: Path, characters: Iterable[str]) -> int:
    """Write a WOFF2 subset of ``source`` with ``characters``; return the number of glyphs kept."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    # vertical forms for writing-mode: vertical-rl, proportional widths, ruby and width variants; not the
    # jp78/jp90/trad/aalt alternates that would pull in thousands of unused glyphs
    options.layout_features = [
        *("vert", "vrt2", "vkna", "palt", "vpal", "kern", "vkrn", "ruby", "hwid", "fwid", "ccmp", "locl")
    ]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables = [*options.drop_tables, "meta"]  # fontTools cannot subset it; browsers ignore it
    options.hinting = False  # the browser does not need TrueType hints at these sizes; saves ~30 %
    font = TTFont(source)
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes={ord(c) for c in characters})
    subsetter.subset(font)
    tmp = destination.with_suffix(".tmp")
    font.flavor = "woff2"
    font.save(tmp)
    tmp.replace(destination)
    return len(font.getGlyphOrder())


def missing_characters(font_path: Path, characters: Iterable[str]) -> set[str]:
    """Characters the font at ``font_path`` could have (its source has them) but does not map."""
    from fontTools.ttLib import TTFont

    source = _source()
    cmap = set(TTFont(font_path).getBestCmap())
    available = set(TTFont(source).getBestCmap()) if source is not None else set()
    return {c for c in characters if ord(c) in available and ord(c) not in cmap}


def _source() -> Path | None:
    local = HERE / SOURCE_FONT
    if local.is_file():
        return local
    return next((d / SOURCE_FONT for d in SOURCE_DIRS if (d / SOURCE_FONT).is_file()), None)


def fetch(target: Path = HERE, *, force: bool = False) -> list[Path]:
    """Write the subset (when missing, lacking a shown character, or ``force``); return the files written."""
    written: list[Path] = []
    source = _source()
    if source is None:
        print(
            f"{SOURCE_FONT} not found: install it with `apt-get install fonts-morisawa-bizud-gothic` "
            "(pages fall back to sans-serif meanwhile)",
            file=sys.stderr,
        )
        return written
    destination = target / SUBSET_FONT
    try:
        import brotli  # noqa: F401  (fontTools needs it for WOFF2)
        import fontTools  # noqa: F401
    except ImportError:
        print("the WOFF2 subset needs fonttools and brotli: pip install fonttools brotli", file=sys.stderr)
        return written
    wanted = used_characters()
    if force or not destination.exists() or missing_characters(destination, wanted):
        glyphs = make_subset(source, destination, wanted)
        print(f"{destination.name}: {glyphs} glyphs, {destination.stat().st_size / 1024:.0f} KiB")
        written.append(destination)
    license_target = target / "LICENSE-BIZUDGothic.txt"
    if not license_target.exists() and LICENSE_SOURCE.is_file():
        shutil.copyfile(LICENSE_SOURCE, license_target)
    return written


if __name__ == "__main__":
    for path in fetch(force="--force" in sys.argv[1:]):
        print(f"wrote {path}")

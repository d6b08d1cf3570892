"""Use a Japanese font in matplotlib charts, falling back gracefully.

Copied next to each data-literacy notebook by ``build_sources.py`` so that ``from jpfont import
use_japanese_font`` works in the student's folder. BIZ UD Gothic comes from the Debian package
``fonts-morisawa-bizud-gothic`` (SIL Open Font License).
"""

from __future__ import annotations

import glob

import matplotlib
from matplotlib import font_manager

CANDIDATES = (
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf",
    "/usr/share/fonts/**/BIZUDGothic-Regular.ttf",
    "/usr/share/fonts/**/NotoSansCJK*-Regular.tt[cf]",
    "/usr/share/fonts/**/ipaexg.ttf",
)


def use_japanese_font() -> str | None:
    """Register the first Japanese font found and make it matplotlib's default; return its name or None."""
    for pattern in CANDIDATES:
        for path in sorted(glob.glob(pattern, recursive=True)):
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            matplotlib.rcParams["font.family"] = name
            matplotlib.rcParams["axes.unicode_minus"] = False
            return name
    print("日本語フォントが見つかりませんでした。グラフの日本語が□になることがあります。")
    return None

"""Reading a bundle's files safely: zip hygiene, size caps and strict decoding (issue 20).

A refused file becomes a ``Problem`` naming the file and the physical line of the first bad byte, never an
exception from ``zipfile`` or ``codecs``. Only the files the import uses are read at all: an unused entry of
any size costs nothing (the zip's central directory lists it; its bytes are never inflated).
"""

from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from lms.roster import messages as msg

# Caps on what a bundle may unpack to: a city of 20,000 users is about 15 MB of CSV in all.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # a CSV of names compresses ~5–10×; a zip bomb compresses 1000×
_CHUNK = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_HALF_WIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")


@dataclass(frozen=True)
class Problem:
    file: str  # stem, e.g. "users"
    line: int
    column: str
    message: str


@dataclass
class Decoded:
    text: str
    encoding: str  # "utf-8" | "cp932" | "ascii" (fits both)


class FilesRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(problems)


def read_files(path: Path, wanted: frozenset[str]) -> tuple[dict[str, bytes], list[str]]:
    """The bytes of the wanted CSV files (by stem) of a folder or zip, and the names of the other CSV files.

    Raises `FilesRefused` for a missing path, a non-zip file, two entries with one name, or caps exceeded."""
    if not path.exists():
        raise FilesRefused([Problem(path.name, 0, "-", msg.PATH_NOT_FOUND)])
    if path.is_dir():
        found: dict[str, bytes] = {}
        others: list[str] = []
        total = 0
        for child in sorted(path.iterdir()):
            if not (child.is_file() and child.suffix.lower() == ".csv"):
                continue
            if child.stem not in wanted:
                others.append(child.name)
                continue
            total += child.stat().st_size
            if total > MAX_UNPACKED_BYTES:
                raise FilesRefused([_too_big(child.stem)])
            found[child.stem] = child.read_bytes()
        return found, others
    if not zipfile.is_zipfile(path):
        raise FilesRefused([Problem(path.name, 0, "-", msg.NOT_FOLDER_OR_ZIP)])
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_zip(archive, wanted)
    except (  # a damaged entry's bytes raise the decompressor's own error, not BadZipFile
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as error:
        raise FilesRefused(
            [Problem(path.name, 0, "-", msg.ZIP_UNREADABLE.format(error_type=type(error).__name__))]
        ) from None


def _read_zip(archive: zipfile.ZipFile, wanted: frozenset[str]) -> tuple[dict[str, bytes], list[str]]:
    entries: dict[str, list[zipfile.ZipInfo]] = {}
    others: list[str] = []
    for info in archive.infolist():
        name = Path(info.filename).name
        if info.is_dir() or not name.lower().endswith(".csv") or name.startswith("."):
            continue
        stem = Path(name).stem
        if stem in wanted:
            entries.setdefault(stem, []).append(info)
        else:
            others.append(name)
    problems = [
        Problem(
            stem,
            0,
            "-",
            f"zip の中に {stem}.csv が {len(infos)} つあります（"
            + "、".join(info.filename for info in infos)
            + "）。どれを使うか決められないため取り込みません",
        )
        for stem, infos in sorted(entries.items())
        if len(infos) > 1
    ]
    if problems:
        raise FilesRefused(problems)
    found: dict[str, bytes] = {}
    total = 0
    for stem, (info,) in entries.items():
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) and info.file_size > _CHUNK:
            raise FilesRefused(
                [
                    Problem(
                        stem,
                        0,
                        "-",
                        msg.COMPRESSION_TOO_HIGH.format(file_size=info.file_size),
                    )
                ]
            )
        parts: list[bytes] = []
        with archive.open(info) as entry:  # the header's size may lie: count what really comes out
            while chunk := entry.read(_CHUNK):
                total += len(chunk)
                if total > MAX_UNPACKED_BYTES:
                    raise FilesRefused([_too_big(stem)])
                parts.append(chunk)
        found[stem] = b"".join(parts)
    return found, others


def _too_big(stem: str) -> Problem:
    return Problem(
        stem,
        0,
        "-",
        f"展開後の大きさが上限（{MAX_UNPACKED_BYTES // (1024 * 1024)} MB）を超えるため取り込みません",
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(stem: str, data: bytes) -> Decoded | Problem:
    """UTF-8 (BOM or not), or Shift_JIS (CP932) only if it decodes cleanly and plausibly.

    A file that holds valid multi-byte UTF-8 but breaks somewhere is damaged UTF-8, not Shift_JIS. Text that
    decodes as CP932 only by producing half-width katakana (a one-byte slip in UTF-8 often does) is refused:
    names and titles in the Japan Profile are full-width."""
    has_bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if has_bom else data
    offset = len(_BOM) if has_bom else 0
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = error.start
        utf8_before = body[:bad].decode("utf-8", errors="replace")
        if has_bom or any(ord(c) > 0x7F for c in utf8_before):
            return Problem(
                stem,
                _line_of(data, offset + bad),
                "-",
                f"UTF-8 として読めないバイト（0x{body[bad]:02X}）があります。ファイルが壊れていないか"
                "確かめ、UTF-8 で保存し直してください",
            )
    else:
        return Decoded(text, "ascii" if text.isascii() else "utf-8")
    try:
        text = body.decode("cp932")
    except UnicodeDecodeError as error:
        return Problem(
            stem,
            _line_of(data, error.start),
            "-",
            f"UTF-8 としても Shift_JIS としても読めないバイト（0x{body[error.start]:02X}）があります"
            "（UTF-8 で保存し直してください）",
        )
    odd = _HALF_WIDTH_KATAKANA.search(text)
    if odd is not None:
        line = text.count("\n", 0, odd.start()) + 1
        return Problem(
            stem,
            line,
            "-",
            "Shift_JIS として読むと半角カタカナになる文字があります。UTF-8 のファイルが壊れている"
            "可能性があるため取り込みません（UTF-8 で保存し直してください）",
        )
    return Decoded(text, "cp932")


def decode_all(files: dict[str, bytes], declared: str | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Decode every file; the files must agree on one encoding (ASCII-only files fit either)."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    encodings: dict[str, str] = {}
    for stem, data in files.items():
        result = decode(stem, data)
        if isinstance(result, Problem):
            problems.append(result)
            continue
        texts[stem] = result.text
        if result.encoding != "ascii":
            encodings[stem] = result.encoding
    expected = declared or (encodings.get("manifest") or _majority(encodings))
    if expected is not None:
        label = {"utf-8": "UTF-8", "cp932": "Shift_JIS"}
        for stem, encoding in encodings.items():
            if encoding != expected:
                problems.append(
                    Problem(
                        stem,
                        1,
                        "-",
                        f"文字コードが {label[encoding]} ですが、ほかのファイルは {label[expected]} です。"
                        "すべてのファイルを同じ文字コード（UTF-8）で保存してください",
                    )
                )
    return texts, problems


def _majority(encodings: dict[str, str]) -> str | None:
    if not encodings:
        return None
    values = list(encodings.values())
    return max(("utf-8", "cp932"), key=values.count)

"""Reading a bundle's files safely: zip hygiene, size caps and strict decoding (issue 20).

A refused file becomes a ``Problem`` naming the file and the physical line of the first bad byte, never an
exception from ``zipfile`` or ``codecs``. Only the files the import uses are read at all: an unused entry of
any size costs nothing (the zip's central directory lists it; its bytes are never inflated).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeVar

from lms.roster import messages as msg

# Caps on what a bundle may unpack to: a city of 20,000 users is about 15 MB of CSV in all.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # a CSV of names compresses ~5–10×; a zip bomb compresses 1000×
_CHUNK = 1024 * 1024
MAX_LINE_CHARACTERS = 4 * 1024 * 1024  # a physical line; 27 columns of the 128 KiB field limit fit 3.5 M
_BOM = b"\xef\xbb\xbf"
_HALF_WIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    file: str  # stem, e.g. "users"
    line: int
    column: str
    message: str


class FilesRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(problems)


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class Source:
    """A wanted CSV file, opened afresh for each pass (a zip entry is inflated as it is read)."""

    stem: str
    open: Callable[[], Reader]


class Budget:
    """The unpacked-size cap over every file read (a file read twice counts once: its longest pass), and the
    SHA-256 of each file's bytes as its last complete pass read them (the import's second pass compares)."""

    def __init__(self) -> None:
        self.by_stem: dict[str, int] = {}
        self.digests: dict[str, str] = {}

    def spend(self, stem: str, count: int) -> None:
        self.by_stem[stem] = self.by_stem.get(stem, 0) + count
        if sum(self.by_stem.values()) > MAX_UNPACKED_BYTES:
            raise FilesRefused([_too_big(stem)])


@contextmanager
def open_files(path: Path, wanted: frozenset[str]) -> Iterator[tuple[dict[str, Source], list[str]]]:
    """The wanted CSV files (by stem) of a folder or zip as `Source`s, and the names of the other CSV files.

    Nothing is read yet: `read_decoded` streams each file. Raises `FilesRefused` for a missing path, a non-zip
    file, two entries with one name, or a compression ratio that betrays a zip bomb."""
    if not path.exists():
        raise FilesRefused([Problem(path.name, 0, "-", msg.PATH_NOT_FOUND)])
    if path.is_dir():
        found: dict[str, Source] = {}
        others: list[str] = []
        for child in sorted(path.iterdir()):
            if not (child.is_file() and child.suffix.lower() == ".csv"):
                continue
            if child.stem not in wanted:
                others.append(child.name)
                continue
            found[child.stem] = Source(child.stem, _file_opener(child))
        yield found, others
        return
    if not zipfile.is_zipfile(path):
        raise FilesRefused([Problem(path.name, 0, "-", msg.NOT_FOLDER_OR_ZIP)])
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise _unreadable(path, error) from None
    with archive:
        yield _zip_sources(archive, wanted, path)


def _file_opener(path: Path) -> Callable[[], Reader]:
    def opener() -> Reader:
        return path.open("rb")

    return opener


#: The compression methods Python's zipfile can read (others, e.g. Deflate64 from some Windows tools, are
#: refused by name before anything is read).
_READABLE_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)

# a damaged entry's bytes raise the decompressor's own error, not BadZipFile
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    RuntimeError,
)


def _unreadable(path: Path, error: BaseException) -> FilesRefused:
    return FilesRefused(
        [Problem(path.name, 0, "-", msg.ZIP_UNREADABLE.format(error_type=type(error).__name__))]
    )


def _zip_sources(
    archive: zipfile.ZipFile, wanted: frozenset[str], path: Path
) -> tuple[dict[str, Source], list[str]]:
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
    found: dict[str, Source] = {}
    for stem, (info,) in entries.items():
        if info.compress_type not in _READABLE_COMPRESSION:
            unsupported = msg.COMPRESSION_UNSUPPORTED.format(method=info.compress_type)
            raise FilesRefused([Problem(stem, 0, "-", unsupported)])
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) and info.file_size > _CHUNK:
            too_high = msg.COMPRESSION_TOO_HIGH.format(file_size=info.file_size)
            raise FilesRefused([Problem(stem, 0, "-", too_high)])

        def opener(info: zipfile.ZipInfo = info) -> Reader:
            try:
                return _GuardedEntry(archive.open(info), path)
            except _ZIP_ERRORS as error:
                raise _unreadable(path, error) from None

        found[stem] = Source(stem, opener)
    return found, others


class _GuardedEntry:
    """A zip entry whose decompression errors become `FilesRefused` (its bytes are counted as they come out:
    the header's size may lie)."""

    def __init__(self, entry: IO[bytes], path: Path) -> None:
        self._entry = entry
        self._path = path

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._entry.read(size)
        except _ZIP_ERRORS as error:
            raise _unreadable(self._path, error) from None

    def close(self) -> None:
        self._entry.close()


def _too_big(stem: str) -> Problem:
    return Problem(
        stem,
        0,
        "-",
        f"展開後の大きさが上限（{MAX_UNPACKED_BYTES // (1024 * 1024)} MB）を超えるため取り込みません",
    )


class _BadBytes(Exception):
    def __init__(self, line: int, byte: int, seen_non_ascii: bool) -> None:
        self.line = line
        self.byte = byte
        self.seen_non_ascii = seen_non_ascii
        super().__init__(line)


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(line)


class _OddKatakana(Exception):
    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(line)


class _Lines:
    """The text lines of one pass over a file, decoded as they are read (universal newlines, as ``csv``
    wants them). Raises `_BadBytes` at the first byte that does not decode, with its physical line."""

    def __init__(self, source: Source, encoding: str, budget: Budget) -> None:
        self.source = source
        self.encoding = encoding
        self.budget = budget
        self.has_bom = False
        self.non_ascii = False

    def __iter__(self) -> Iterator[str]:
        stem = self.source.stem
        self.budget.by_stem[stem] = 0  # a second pass replaces the first in the cap
        newlines = 0  # in the bytes before `data`
        text_newlines = 0  # in the text decoded so far (CP932 pass: the half-width katakana check)
        carry, pending = b"", ""
        first = True
        digest = hashlib.sha256()
        with closing(self.source.open()) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                self.budget.spend(stem, len(chunk))
                digest.update(chunk)
                final = not chunk
                if final:
                    self.budget.digests[stem] = digest.hexdigest()
                data = carry + chunk
                if first and self.encoding == "utf-8":
                    if len(data) < len(_BOM) and not final and _BOM.startswith(data):
                        carry = data  # wait for the whole BOM
                        continue
                    if data.startswith(_BOM):
                        self.has_bom = True
                        data = data[len(_BOM) :]
                first = False
                text, carry = self._decode(data, final, newlines)
                newlines += data.count(b"\n") - carry.count(b"\n")
                if not self.non_ascii and not text.isascii():
                    self.non_ascii = True
                if self.encoding == "cp932":
                    odd = _HALF_WIDTH_KATAKANA.search(text)
                    if odd is not None:
                        raise _OddKatakana(text_newlines + text.count("\n", 0, odd.start()) + 1)
                    text_newlines += text.count("\n")
                lines = io.StringIO(pending + text, newline="").readlines()
                pending = ""
                if lines and not final and (lines[-1].endswith("\r") or not lines[-1].endswith("\n")):
                    pending = lines.pop()  # unfinished, or a CR whose LF may open the next chunk
                    if len(pending) > MAX_LINE_CHARACTERS:  # no roster row is this long: do not hold it
                        raise _LineTooLong(newlines + 1)
                yield from lines
                if final:
                    return

    def _decode(self, data: bytes, final: bool, newlines: int) -> tuple[str, bytes]:
        try:
            return data.decode(self.encoding), b""
        except UnicodeDecodeError as error:
            if not final and error.start >= len(data) - 4:  # a character cut by the chunk's end
                return data[: error.start].decode(self.encoding), data[error.start :]
            seen = self.non_ascii or not data[: error.start].isascii()
            line = newlines + data.count(b"\n", 0, error.start) + 1
            raise _BadBytes(line, data[error.start], seen) from None


def read_decoded(
    source: Source, budget: Budget, parse: Callable[[Iterable[str]], T]
) -> tuple[T, str] | Problem:
    """``parse(lines)`` over the file decoded as UTF-8 (BOM or not), or as Shift_JIS (CP932) only if it
    decodes cleanly and plausibly; the result and the encoding ("utf-8", "cp932" or "ascii": fits both).

    One pass for a UTF-8 or ASCII file; a second from the start only when UTF-8 fails before any non-ASCII
    character. A file that holds valid multi-byte UTF-8 but breaks somewhere is damaged UTF-8, not Shift_JIS.
    Text that decodes as CP932 only by producing half-width katakana (a one-byte slip in UTF-8 often does) is
    refused: names and titles in the Japan Profile are full-width."""
    stem = source.stem
    lines = _Lines(source, "utf-8", budget)
    try:
        result = parse(lines)
    except _LineTooLong as long_line:
        return Problem(stem, long_line.line, "-", msg.LINE_TOO_LONG.format(limit=MAX_LINE_CHARACTERS))
    except _BadBytes as bad:
        if lines.has_bom or bad.seen_non_ascii:
            return Problem(
                stem,
                bad.line,
                "-",
                f"UTF-8 として読めないバイト（0x{bad.byte:02X}）があります。ファイルが壊れていないか"
                "確かめ、UTF-8 で保存し直してください",
            )
    else:
        return result, "utf-8" if lines.non_ascii else "ascii"
    lines = _Lines(source, "cp932", budget)
    try:
        result = parse(lines)
    except _BadBytes as bad:
        return Problem(
            stem,
            bad.line,
            "-",
            f"UTF-8 としても Shift_JIS としても読めないバイト（0x{bad.byte:02X}）があります"
            "（UTF-8 で保存し直してください）",
        )
    except _LineTooLong as long_line:
        return Problem(stem, long_line.line, "-", msg.LINE_TOO_LONG.format(limit=MAX_LINE_CHARACTERS))
    except _OddKatakana as odd:
        return Problem(
            stem,
            odd.line,
            "-",
            "Shift_JIS として読むと半角カタカナになる文字があります。UTF-8 のファイルが壊れている"
            "可能性があるため取り込みません（UTF-8 で保存し直してください）",
        )
    return result, "cp932"


def read_again(source: Source, encoding: str, digest: str) -> Iterable[str]:
    """The lines of a file that `read_decoded` read cleanly before as ``encoding`` ("utf-8" or "cp932"), whose
    bytes then had the SHA-256 ``digest``: the import's second pass. Bytes that no longer decode, or that
    differ at the end of the file, raise `FilesChanged` (the caller rolls back what the pass applied)."""
    return _Again(_Lines(source, encoding, Budget()), digest)


class FilesChanged(Exception):
    """A file read in the first pass did not read the same in the second (it was changed in between)."""


class _Again:
    def __init__(self, lines: _Lines, digest: str) -> None:
        self._lines = lines
        self._digest = digest

    def __iter__(self) -> Iterator[str]:
        stem = self._lines.source.stem
        try:
            yield from self._lines
        except (_BadBytes, _LineTooLong, _OddKatakana) as error:
            raise FilesChanged(stem) from error
        if self._lines.budget.digests.get(stem) != self._digest:
            raise FilesChanged(stem)


def mismatched_encodings(encodings: dict[str, str]) -> list[Problem]:
    """The files (stem -> "utf-8" or "cp932"; ASCII-only files left out: they fit either) whose encoding is
    not that of the manifest, else of most files: a bundle must agree on one."""
    problems: list[Problem] = []
    expected = encodings.get("manifest") or _majority(encodings)
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
    return problems


def _majority(encodings: dict[str, str]) -> str | None:
    if not encodings:
        return None
    values = list(encodings.values())
    return max(("utf-8", "cp932"), key=values.count)

"""Streamed reading of a bundle (issue 22): files are decoded chunk by chunk, never held whole; a character,
a BOM or a CRLF cut by a chunk's end reads as if the file had been read at once."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lms.roster import bundle_files
from lms.roster.messages import translate_problem
from lms.roster.oneroster import BundleError, Row, parse_bundle
from tests.lms.roster_helpers import FIXTURE, copy_bundle

TINY_CHUNKS = (1, 2, 3, 5, 7, 64)


def _rows(bundle: Path) -> dict[str, list[tuple[int, dict[str, str]]]]:
    def plain(rows: list[Row]) -> list[tuple[int, dict[str, str]]]:
        return [(row.line, row.values) for row in rows]

    return {name: plain(rows) for name, rows in parse_bundle(bundle).rows.items()}


def _problems(bundle: Path) -> list[str]:
    with pytest.raises(BundleError) as caught:
        parse_bundle(bundle)
    return caught.value.problems


@pytest.mark.parametrize("chunk", TINY_CHUNKS)
def test_any_chunk_size_reads_the_same_rows(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _rows(FIXTURE)
    assert expected["users"] and any(not text.isascii() for _l, v in expected["users"] for text in v.values())
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in sorted(FIXTURE.iterdir()):
            out.write(path, path.name)
    monkeypatch.setattr(bundle_files, "_CHUNK", chunk)
    assert _rows(FIXTURE) == expected
    assert _rows(archive) == expected


@pytest.mark.parametrize("chunk", TINY_CHUNKS)
def test_shift_jis_and_bare_cr_with_any_chunk_size(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _rows(FIXTURE)
    bundle = copy_bundle(tmp_path / "sjis")
    for path in bundle.glob("*.csv"):
        text = path.read_bytes().decode("utf-8-sig")
        if path.name == "users.csv":
            text = text.replace("\r\n", "\r")  # classic Mac line ends: universal newlines, as before
        path.write_bytes(text.encode("cp932"))
    monkeypatch.setattr(bundle_files, "_CHUNK", chunk)
    assert _rows(bundle) == expected


@pytest.mark.parametrize("chunk", TINY_CHUNKS)
def test_bad_bytes_keep_their_line_with_any_chunk_size(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    path = bundle / "users.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[6] = lines[6] + b"\xff"
    path.write_bytes(b"\r\n".join(lines))
    damaged = copy_bundle(tmp_path / "damaged")
    sessions = damaged / "academicSessions.csv"
    data = sessions.read_bytes().removeprefix(b"\xef\xbb\xbf")
    at = data.index("年".encode())
    sessions.write_bytes(data[:at] + data[at + 1 :])  # decodes as Shift_JIS only into half-width katakana
    monkeypatch.setattr(bundle_files, "_CHUNK", chunk)
    assert _problems(bundle) == ["users.csv:7: -: " + _problems_at_default(bundle)[0].split(": ", 2)[2]]
    (problem,) = _problems(damaged)
    assert problem.startswith("academicSessions.csv:2: -: ")


def _problems_at_default(bundle: Path) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundle_files, "_CHUNK", 1024 * 1024)
        return _problems(bundle)


def test_the_size_cap_counts_what_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap holds for a folder too, counted as the bytes stream in (not from the file's stated size)."""
    monkeypatch.setattr(bundle_files, "MAX_UNPACKED_BYTES", 4000)
    (problem,) = _problems(copy_bundle(tmp_path / "big"))
    assert "展開後の大きさが上限" in problem


def test_a_line_too_long_to_be_a_row_is_refused_without_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = copy_bundle(tmp_path / "long")
    path = bundle / "users.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = b"x" * 5000
    path.write_bytes(b"\r\n".join(lines))
    monkeypatch.setattr(bundle_files, "_CHUNK", 256)
    monkeypatch.setattr(bundle_files, "MAX_LINE_CHARACTERS", 2000)
    (problem,) = _problems(bundle)
    assert problem.startswith("users.csv:4: -: 1 行が 2,000 文字を超えています")
    assert "a line longer than 2,000 characters" in translate_problem(problem)

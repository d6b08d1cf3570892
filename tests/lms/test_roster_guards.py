"""Issue 20: a roster import never damages silently.

Mass-change guard, strict decoding, zip hygiene, refusals as ``file.csv:line: column: message`` instead of
tracebacks, length limits before the database, delta rows without dateLastModified, unknown deletions.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from lms.roster import bundle_files
from lms.roster.models import Enrollment, User
from lms.roster.oneroster import BundleError
from lms.roster.service import MassChangeRefused, import_bundle
from tests.lms.roster_helpers import FIXTURE, copy_bundle, edit, set_manifest, set_value

pytestmark = pytest.mark.db


def refused(session: Session, bundle: Path) -> list[str]:
    with pytest.raises(BundleError) as caught:
        import_bundle(session=session, path=bundle)
    session.rollback()
    return caught.value.problems


def active_users(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(User.status == "active", User.enabled == True)  # noqa: E712
    ).one()


def _header_only(bundle: Path, *names: str) -> None:
    for name in names:
        edit(bundle, f"{name}.csv", lambda _h, rows: rows.clear())


def _zip(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


# --- mass change ----------------------------------------------------------------------------------


def test_header_only_bulk_files_stop_with_counts_and_change_nothing(
    db_session: Session, tmp_path: Path
) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    before = active_users(db_session)
    bundle = copy_bundle(tmp_path / "empty")
    _header_only(bundle, "users", "enrollments", "roles")
    with pytest.raises(MassChangeRefused) as caught:
        import_bundle(session=db_session, path=bundle)
    db_session.rollback()
    change = caught.value.change
    assert (change.users, change.active_users, change.enrollments) == (10, 10, 9)
    assert "10 人" in caught.value.message and "--allow-mass-change" in caught.value.message
    assert active_users(db_session) == before == 10

    report = import_bundle(session=db_session, path=bundle, allow_mass_change=True)
    db_session.commit()
    assert report.counts["users"].deactivated == 10
    assert active_users(db_session) == 0


def test_a_small_bulk_change_needs_no_confirmation(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    bundle = copy_bundle(tmp_path / "one-less")
    edit(bundle, "users.csv", lambda _h, rows: rows.remove(rows[-1]))
    edit(bundle, "roles.csv", lambda _h, rows: rows.remove(rows[-1]))
    import_bundle(session=db_session, path=bundle)
    db_session.commit()
    assert active_users(db_session) == 9


def test_dry_run_reports_the_mass_change_per_school_and_class(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    bundle = copy_bundle(tmp_path / "empty")
    _header_only(bundle, "users", "enrollments", "roles")
    report = import_bundle(session=db_session, path=bundle, dry_run=True)
    db_session.rollback()
    assert report.mass_change is not None and report.mass_change.users == 10
    assert sum(c.deactivated for c in report.by_class.values()) == 9
    assert any(key.endswith("3年1組") for key in report.by_class)
    assert "試行のみ" in report.summary()
    assert active_users(db_session) == 10


# --- strict decoding ------------------------------------------------------------------------------


def test_utf8_with_one_byte_dropped_is_refused_at_its_line(db_session: Session, tmp_path: Path) -> None:
    """The issue's case: without a BOM, damaged UTF-8 decodes as Shift_JIS into 「2026ｹｴ蠎ｦ」."""
    bundle = copy_bundle(tmp_path / "damaged")
    path = bundle / "academicSessions.csv"
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    year = "年".encode()
    at = data.index(year)
    path.write_bytes(data[:at] + data[at + 1 :])  # one byte of 年 lost
    problems = refused(db_session, bundle)
    assert len(problems) == 1
    assert problems[0].startswith("academicSessions.csv:2: -: ")
    assert "半角カタカナ" in problems[0] or "UTF-8" in problems[0]
    assert db_session.exec(select(func.count()).select_from(User)).one() == 0


def test_a_bad_byte_is_reported_on_its_own_line_not_line_1(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad-byte")
    path = bundle / "users.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[4] = lines[4] + b"\xff"
    path.write_bytes(b"\r\n".join(lines))
    problems = refused(db_session, bundle)
    assert len(problems) == 1
    assert problems[0].startswith("users.csv:5: -: UTF-8 として読めないバイト（0xFF）があります")


def test_files_must_agree_on_one_encoding(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "mixed")
    users = bundle / "users.csv"
    users.write_bytes(users.read_bytes().decode("utf-8-sig").encode("cp932"))
    problems = refused(db_session, bundle)
    assert problems == [
        "users.csv:1: -: 文字コードが Shift_JIS ですが、ほかのファイルは UTF-8 です。"
        "すべてのファイルを同じ文字コード（UTF-8）で保存してください"
    ]


def test_a_whole_shift_jis_bundle_still_imports(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "sjis")
    for path in bundle.glob("*.csv"):
        path.write_bytes(path.read_bytes().decode("utf-8-sig").encode("cp932"))
    import_bundle(session=db_session, path=bundle)
    db_session.commit()
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-3")).one().family_name == "髙橋"


# --- zip hygiene ----------------------------------------------------------------------------------


def test_two_entries_with_one_name_are_refused(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    old = (bundle / "users.csv").read_bytes()
    archive = _zip(bundle, tmp_path / "two.zip", {"old/users.csv": old})
    problems = refused(db_session, archive)
    assert len(problems) == 1
    assert problems[0].startswith(
        "users.csv:0: -: zip の中に users.csv が 2 つあります（users.csv、old/users.csv）"
    )


def test_an_unused_huge_entry_is_never_inflated(db_session: Session, tmp_path: Path) -> None:
    bomb = b"0" * (8 * 1024 * 1024)  # compresses ~1000×: refused if it were read
    archive = _zip(copy_bundle(tmp_path / "b"), tmp_path / "extra.zip", {"extra/huge.csv": bomb})
    report = import_bundle(session=db_session, path=archive)
    assert any("huge.csv" in notice for notice in report.notices)


def test_a_wanted_entry_with_a_bomb_ratio_is_refused(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    (bundle / "users.csv").write_bytes((bundle / "users.csv").read_bytes() + b"\r\n" * (4 * 1024 * 1024))
    problems = refused(db_session, _zip(bundle, tmp_path / "ratio.zip"))
    assert problems[0].startswith("users.csv:0: -: 圧縮率が高すぎます")


def test_the_unpacked_size_cap(db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_files, "MAX_UNPACKED_BYTES", 4000)
    problems = refused(db_session, _zip(copy_bundle(tmp_path / "b"), tmp_path / "big.zip"))
    assert len(problems) == 1 and "展開後の大きさが上限" in problems[0]


def test_a_corrupt_deflate_stream_is_a_refusal_not_a_traceback(db_session: Session, tmp_path: Path) -> None:
    """zlib's own error (not a BadZipFile) when an entry's compressed bytes are damaged."""
    archive = _zip(copy_bundle(tmp_path / "b"), tmp_path / "corrupt.zip")
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("users.csv")
    data = bytearray(archive.read_bytes())
    name_and_extra = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    name_and_extra += int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_and_extra
    data[start] = 0xFF  # a deflate block of the reserved type 3
    archive.write_bytes(bytes(data))
    problems = refused(db_session, archive)
    assert len(problems) == 1 and "zip ファイルを読めません" in problems[0]


def test_an_unsupported_compression_method_is_refused_by_name(db_session: Session, tmp_path: Path) -> None:
    """Deflate64 (method 9, from some Windows tools) cannot be read by Python's zipfile: a sentence that says
    how to make the zip again, before anything is read."""
    archive = _zip(copy_bundle(tmp_path / "b"), tmp_path / "deflate64.zip")
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("users.csv")
    data = bytearray(archive.read_bytes())
    data[info.header_offset + 8 : info.header_offset + 10] = (9).to_bytes(2, "little")  # local header
    central = data.find(b"PK\x01\x02")  # the central directory's entries
    while data[central + 46 : central + 46 + len(b"users.csv")] != b"users.csv":
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    archive.write_bytes(bytes(data))
    problems = refused(db_session, archive)
    assert problems == [
        "users.csv:0: -: この zip の圧縮方式（9 番）には対応していません。Windows の「送る → 圧縮（zip 形式）"
        "フォルダー」など標準の方法で zip を作り直してください"
    ]


# --- no traceback, ever ------------------------------------------------------------------------------------


def test_a_stray_quote_is_a_refusal_with_its_line(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "quote")
    path = bundle / "users.csv"
    text = path.read_bytes().decode("utf-8-sig").split("\r\n")
    text[2] = text[2].replace(",結菜,", ',"結菜,', 1)
    path.write_bytes("\r\n".join(text).encode("utf-8-sig"))
    problems = refused(db_session, bundle)
    assert problems == [
        'users.csv:3: -: 引用符（"）が閉じていません（この行から先が 1 つの値として読まれてしまいます）'
    ]


def test_a_field_over_128_kib_is_a_refusal(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "long")
    set_value(bundle, "users.csv", "stu-es-2", "pronouns", "x" * (130 * 1024))
    problems = refused(db_session, bundle)
    assert problems == [
        "users.csv:3: -: 128 KiB を超える値があります（引用符の閉じ忘れがないか確かめてください）"
    ]


def test_lengths_are_checked_before_the_database(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "long-name")
    set_value(bundle, "users.csv", "stu-es-2", "familyName", "佐" * 256)
    set_value(bundle, "orgs.csv", "org-es", "identifier", "B" + "1" * 40)
    problems = refused(db_session, bundle)
    assert "users.csv:3: familyName: 値が長すぎます（256 文字、255 文字まで）" in problems
    assert any(
        p.startswith("orgs.csv:3: identifier: 値が長すぎます（41 文字、32 文字まで）") for p in problems
    )
    assert all("佐佐佐" not in p for p in problems)  # the pupil's name is not echoed


# --- rows -----------------------------------------------------------------------------------------


def test_shusseki_no_range_and_message(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "no")
    set_value(bundle, "enrollments.csv", "enr-es-2", "metadata.jp.ShussekiNo", "1000")
    assert refused(db_session, bundle) == [
        "enrollments.csv:3: metadata.jp.ShussekiNo: 出席番号「1000」は 1〜999 の整数で入力してください"
    ]
    set_value(bundle, "enrollments.csv", "enr-es-2", "metadata.jp.ShussekiNo", "999")
    import_bundle(session=db_session, path=bundle)


def _delta(bundle: Path, rows_of: dict[str, list[dict[str, str]]]) -> None:
    for name in ("academicSessions", "orgs", "courses", "classes", "roles", "demographics", "enrollments"):
        (bundle / f"{name}.csv").unlink()
    set_manifest(
        bundle,
        academicSessions="absent",
        orgs="absent",
        courses="absent",
        classes="absent",
        roles="absent",
        demographics="absent",
        enrollments="absent",
        users="delta",
    )

    def users(_header: list[str], rows: list[dict[str, str]]) -> None:
        blank = dict.fromkeys(rows[0], "")
        rows[:] = [blank | row for row in rows_of["users"]]

    edit(bundle, "users.csv", users)


def test_delta_rows_need_date_last_modified(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    bundle = copy_bundle(tmp_path / "delta")
    _delta(bundle, {"users": [{"sourcedId": "stu-es-2", "status": "tobedeleted"}]})
    assert refused(db_session, bundle) == [
        "users.csv:2: dateLastModified: 差分（delta）ファイルでは dateLastModified が必要です"
        "（例 2026-04-01T00:00:00Z）"
    ]


def test_deleting_an_unknown_sourced_id_is_reported(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    bundle = copy_bundle(tmp_path / "delta")
    stamp = "2026-05-01T00:00:00Z"
    _delta(
        bundle,
        {
            "users": [
                {"sourcedId": "stu-es-2", "status": "tobedeleted", "dateLastModified": stamp},
                {"sourcedId": "stu-nobody", "status": "tobedeleted", "dateLastModified": stamp},
            ]
        },
    )
    report = import_bundle(session=db_session, path=bundle)
    assert report.counts["users"].deactivated == 1
    assert report.unknown_deletions == [
        "users.csv:3: sourcedId: 「stu-nobody」は登録されていないため削除（tobedeleted）できません"
        "（この行は無視しました）"
    ]
    db_session.commit()
    assert (
        db_session.exec(
            select(func.count()).select_from(Enrollment).where(Enrollment.status == "active")
        ).one()
        == 8
    )

"""Reading and validating OneRoster 1.2 CSV bundles (Japan Profile).

Everything is checked before anything is written: `check_bundle` (the import's first pass) streams each file
and returns a `Checked` holding sourcedIds but no rows, or raises `BundleError` listing every problem as
``file.csv:line: column: message`` (line = physical line of the CSV file, the header is line 1); the second
pass reads the rows again (`Checked.rows`). References are resolved against the bundle and against what the
database already holds (``Existing``), so delta bundles can point at earlier imports. `parse_bundle` also
returns every row, for tools and tests.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from sys import intern

from lms.core.errors import InvalidInput
from lms.roster import bundle_files
from lms.roster import messages as msg
from lms.roster.export import SPREADSHEET_MARK

GRADE_CODES = frozenset(
    [f"P{n}" for n in range(1, 7)]
    + [f"J{n}" for n in range(1, 4)]
    + [f"H{n}" for n in range(1, 4)]
    + [f"E{n}" for n in range(1, 4)]
)
FILES = ("academicSessions", "orgs", "courses", "classes", "users", "enrollments", "roles")
IGNORED_WITH_NOTICE = {"demographics": "demographics.csv は取り込みません（データ最小化のため）。"}
STATUSES = ("active", "tobedeleted")
BOOLEANS = ("true", "false")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
ORG_TYPES = ("district", "school", "department", "local", "state", "national")
CLASS_TYPES = ("homeroom", "scheduled")
ENROLLMENT_ROLES = ("administrator", "proctor", "student", "teacher", "guardian")
ROLE_TYPES = ("primary", "secondary")
ROLES = (
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
)

# 出席番号: a positive integer of at most three digits (1–999), as rosters of a class of 40 never need more.
SHUSSEKI_NO_MIN, SHUSSEKI_NO_MAX = 1, 999
HALF_WIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")
KANA_NAME = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\u3000 ]+$")
DISTRICT_CODE = re.compile(r"^\d{6}$")
SCHOOL_CODE = re.compile(r"^[A-H]\d{12}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class BundleError(InvalidInput):
    """The bundle is refused; ``problems`` holds one ``file.csv:line: column: message`` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"名簿ファイルに {len(problems)} 件の問題があるため、取り込みませんでした"
            "（何も変更していません）。",
            detail=problems,
        )


@dataclass
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass
class Existing:
    """What the database already holds, by sourcedId (for references in delta bundles and uniqueness)."""

    sourced_ids: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in FILES})
    usernames: dict[str, str | None] = field(default_factory=dict)  # username -> sourcedId (None: local user)
    read_only_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sourcedId -> stored fields


@dataclass
class Bundle:
    modes: dict[str, str]  # file name (without .csv) -> bulk | delta
    rows: dict[str, list[Row]]
    notices: list[str]
    manifest: dict[str, str]


@dataclass
class _Spec:
    required_columns: tuple[str, ...]
    required_values: tuple[str, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)  # column -> file it refers to
    list_references: dict[str, str] = field(default_factory=dict)  # comma-separated column -> file


BASE = ("sourcedId", "status", "dateLastModified")
SPECS: dict[str, _Spec] = {
    "academicSessions": _Spec(
        required_columns=(*BASE, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"),
        required_values=("title", "type", "startDate", "endDate", "schoolYear"),
        enums={"type": SESSION_TYPES},
        dates=("startDate", "endDate"),
        references={"parentSourcedId": "academicSessions"},
    ),
    "orgs": _Spec(
        required_columns=(*BASE, "name", "type", "identifier", "parentSourcedId"),
        required_values=("name", "type"),
        enums={"type": ORG_TYPES},
        references={"parentSourcedId": "orgs"},
    ),
    "courses": _Spec(
        required_columns=(*BASE, "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId"),
        required_values=("title", "orgSourcedId"),
        references={"schoolYearSourcedId": "academicSessions", "orgSourcedId": "orgs"},
    ),
    "classes": _Spec(
        required_columns=(
            *BASE,
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "schoolSourcedId",
            "termSourcedIds",
        ),
        required_values=("title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
        enums={"classType": CLASS_TYPES, "metadata.jp.specialNeeds": BOOLEANS},
        references={"courseSourcedId": "courses", "schoolSourcedId": "orgs"},
        list_references={"termSourcedIds": "academicSessions"},
    ),
    "users": _Spec(
        required_columns=(
            *BASE,
            "enabledUser",
            "username",
            "givenName",
            "familyName",
            "grades",
            "userMasterIdentifier",
            "primaryOrgSourcedId",
            "metadata.jp.kanaGivenName",
            "metadata.jp.kanaFamilyName",
        ),
        required_values=(
            "enabledUser",
            "username",
            "givenName",
            "familyName",
            "metadata.jp.kanaGivenName",
            "metadata.jp.kanaFamilyName",
        ),
        enums={"enabledUser": BOOLEANS},
        references={"primaryOrgSourcedId": "orgs", "metadata.jp.homeClass": "classes"},
    ),
    "enrollments": _Spec(
        required_columns=(
            *BASE,
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ),
        required_values=("classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
        enums={"role": ENROLLMENT_ROLES, "primary": BOOLEANS, "metadata.jp.PublicFlg": BOOLEANS},
        dates=("beginDate", "endDate"),
        references={"classSourcedId": "classes", "schoolSourcedId": "orgs", "userSourcedId": "users"},
    ),
    "roles": _Spec(
        required_columns=(*BASE, "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId"),
        required_values=("userSourcedId", "roleType", "role", "orgSourcedId"),
        enums={"roleType": ROLE_TYPES, "role": ROLES},
        dates=("beginDate", "endDate"),
        references={"userSourcedId": "users", "orgSourcedId": "orgs"},
    ),
}
NAME_COLUMNS = (
    "givenName",
    "familyName",
    "middleName",
    "preferredGivenName",
    "preferredFamilyName",
    "preferredMiddleName",
)
KANA_COLUMNS = ("metadata.jp.kanaGivenName", "metadata.jp.kanaFamilyName", "metadata.jp.kanaMiddleName")
_NAME_AND_KANA_COLUMNS = NAME_COLUMNS + KANA_COLUMNS


# --- reading --------------------------------------------------------------------------------------

# Longest value per column that the database holds (model max_length); anything else: DEFAULT_MAX_LENGTH.
DEFAULT_MAX_LENGTH = 255
MAX_LENGTHS = {
    "status": 16,
    "type": 32,
    "classType": 16,
    "role": 32,
    "roleType": 16,
    "courseCode": 64,
    "classCode": 64,
    "grades": 64,
    "userMasterIdentifier": 64,
    "orgs.identifier": 32,
}
_SHORTEST_LIMIT = min(MAX_LENGTHS.values())
_FIELD_LIMIT = 128 * 1024


class CsvFormatError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message)


class CsvRows:
    """The rows of a CSV file as they are read, with their physical line numbers (a quoted field may span
    lines), from text lines as a file opened with ``newline=""`` gives them (or a string). ``header`` is set
    once the first record is read.

    Iterating raises `CsvFormatError` (with the line where the broken record starts) for an unclosed or stray
    quote or a field longer than 128 KiB."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = io.StringIO(lines, newline="") if isinstance(lines, str) else lines
        self.header: list[str] = []

    def __iter__(self) -> Iterator[Row]:
        csv.field_size_limit(_FIELD_LIMIT)
        reader = csv.reader(self.lines, strict=True)
        previous_line = 0
        start = 1
        try:
            for record in reader:
                start = previous_line + 1
                previous_line = reader.line_num
                if not self.header:
                    self.header = [column.strip() for column in record]
                    continue
                if not any(cell.strip() for cell in record):
                    continue
                # Only non-empty values are kept (Row.get gives "" for the others): most columns of a Japan
                # Profile users.csv are empty. Values are interned: statuses, dates, roles and the sourcedIds
                # of schools and classes repeat in thousands of rows, and the sourcedIds the import keeps
                # between its two passes are then the same objects as those of the rows it reads again.
                values = {
                    column: intern(value)
                    for column, cell in zip(self.header, record, strict=False)
                    if (value := cell.strip())
                }
                yield Row(start, values)
        except csv.Error as error:
            start = previous_line + 1
            reason = str(error)
            if "field larger" in reason:
                limit = _FIELD_LIMIT // 1024
                message = f"{limit} KiB を超える値があります（引用符の閉じ忘れがないか確かめてください）"
            elif "end of data" in reason:
                message = '引用符（"）が閉じていません（この行から先が 1 つの値として読まれてしまいます）'
            else:
                message = '引用符（"）の使い方が正しくありません（値の中の " は "" と 2 つ重ねます）'
            raise CsvFormatError(start, message) from None


def read_csv(lines: Iterable[str]) -> tuple[list[str], list[Row]]:
    """Header and every row (see `CsvRows`); for small files (the manifest) and tests."""
    reader = CsvRows(lines)
    rows = list(reader)
    return reader.header, rows


Parsed = tuple[list[str], list[Row]] | CsvFormatError


def _parse_manifest(lines: Iterable[str]) -> Parsed:
    try:
        return read_csv(lines)
    except CsvFormatError as error:
        return error


# --- validating -----------------------------------------------------------------------------------

# The order of problems on one line of one file: what the row says, then references to other rows, then
# usernames taken, then read-only classes (as when every check ran over the whole bundle in turn).
_ROW_PHASE, _REFERENCE_PHASE, _USERNAME_PHASE, _READ_ONLY_PHASE = range(4)


class _Problems:
    def __init__(self) -> None:
        self.unreadable: set[str] = set()  # files whose CSV structure is broken
        self.phase = _ROW_PHASE
        self._entries: list[tuple[int, int, int, int, str]] = []  # order, line, phase, sequence, text

    @property
    def lines(self) -> list[str]:
        return [entry[4] for entry in self._entries]

    def add(self, file: str, line: int, column: str, message: str) -> None:
        order = ["manifest", *FILES].index(file) if file in ("manifest", *FILES) else len(FILES) + 1
        name = file if "." in file else f"{file}.csv"  # a stem, or the bundle's own name (notzip.zip)
        entry = (order, line, self.phase, len(self._entries), f"{name}:{line}: {column}: {message}")
        self._entries.append(entry)

    def merge(self, other: _Problems) -> None:
        for order, line, phase, _sequence, text in other._entries:
            self._entries.append((order, line, phase, len(self._entries), text))

    def sorted(self) -> list[str]:
        """By file (manifest, then the OneRoster load order), then line."""
        return [entry[4] for entry in sorted(self._entries)]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@lru_cache(maxsize=4096)  # a city's rows share a handful of dates
def _check_date(value: str) -> bool:
    if not DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _check_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _check_date(value)
    return True


@dataclass
class Checked:
    """A bundle that passed validation, as the first pass leaves it: no rows, only what the second pass
    (`rows`) and the apply step need besides them. What grows with the bundle: the sourcedIds of every file
    (interned strings, shared with the rows read again) and the users holding roles."""

    path: Path
    modes: dict[str, str]  # file name (without .csv) -> bulk | delta
    notices: list[str]
    manifest: dict[str, str]
    encodings: dict[str, str]  # file name -> the encoding it was read with
    digests: dict[str, str]  # file name -> SHA-256 of its bytes in the first pass (the second pass compares)
    sourced_ids: dict[str, set[str]]  # file name -> every sourcedId it lists
    contacts: set[str]  # users whose roles in the bundle are all non-account roles (guardian, parent, …)

    def rows(self, stem: str) -> Iterator[Row]:
        """The rows of one file, read again (second pass): streamed, nothing of the file held."""
        with bundle_files.open_files(self.path, frozenset((stem,))) as (sources, _others):
            yield from CsvRows(
                bundle_files.read_again(sources[stem], self.encodings[stem], self.digests.get(stem, ""))
            )


class _FileCheck:
    """Validation of one file as it streams past. Its findings stay here until the file was read to its end
    (a second decoding pass, as Shift_JIS, starts a fresh `_FileCheck`); the rows themselves are not kept."""

    def __init__(self, stem: str, mode: str | None, existing: Existing, known: dict[str, set[str]]) -> None:
        self.stem = stem
        self.mode = mode  # None: present but not imported (absent in the manifest): decoded and parsed only
        self.existing = existing
        self.known = known  # sourcedIds of the files checked before this one
        self.problems = _Problems()
        self.late = _Problems()  # references, usernames, read-only classes: reported only if all was readable
        self.sourced_ids: set[str] = set()
        self.header_checked = False
        self.columns_missing = False
        self.role_holders: set[str] = set()
        self.account_holders: set[str] = set()
        self.account_roles = _account_roles(stem)

    def run(self, lines: Iterable[str]) -> _FileCheck | CsvFormatError:
        reader = CsvRows(lines)
        spec = SPECS.get(self.stem)
        if self.mode is None or spec is None:
            try:
                for _row in reader:
                    pass
            except CsvFormatError as error:
                return error
            return self
        seen: dict[str, int] = {}
        usernames: dict[str, int] = {}
        deferred: list[Row] = []  # rows referring to their own file (orgs, sessions: small files)
        self_referring = any(target == self.stem for target in spec.references.values())
        try:
            for row in reader:
                if not self.header_checked:
                    self._check_header(reader.header, spec)
                if self.columns_missing:
                    continue
                self._check_row(spec, row, seen)
                if row.get("status") != "tobedeleted":
                    if self_referring:
                        deferred.append(row)
                    else:
                        self._check_references(spec, row)
                if self.stem == "users":
                    self._check_username(row, usernames)
                elif self.stem == "classes":
                    self._check_read_only_class(row)
                if self.account_roles is not None:
                    self._note_role(row, self.account_roles)
        except CsvFormatError as error:
            return error
        if not self.header_checked:
            self._check_header(reader.header, spec)  # a file with no rows (or not even a header)
        if self_referring and not self.columns_missing:
            for row in deferred:
                self._check_references(spec, row)
        return self

    def _check_header(self, header: list[str], spec: _Spec) -> None:
        self.header_checked = True
        for column in spec.required_columns:
            if column not in header:
                self.problems.add(self.stem, 1, column, "必須の列がありません")
                self.columns_missing = True

    def _check_row(self, spec: _Spec, row: Row, seen: dict[str, int]) -> None:
        _validate_row(self.stem, self.mode or "bulk", spec, row, self.problems)
        sourced_id = row.get("sourcedId")
        if sourced_id:
            if sourced_id in seen:
                self.problems.add(
                    self.stem,
                    row.line,
                    "sourcedId",
                    f"「{sourced_id}」が重複しています（{seen[sourced_id]} 行目）",
                )
            else:
                seen[sourced_id] = row.line
                self.sourced_ids.add(sourced_id)

    def _check_references(self, spec: _Spec, row: Row) -> None:
        self.late.phase = _REFERENCE_PHASE
        for column, target in spec.references.items():
            value = row.get(column)
            if value and not self._known(target, value):
                self.late.add(self.stem, row.line, column, f"{_LABELS[target]}「{value}」が見つかりません")
        for column, target in spec.list_references.items():
            for value in _split(row.get(column)):
                if not self._known(target, value):
                    self.late.add(
                        self.stem, row.line, column, f"{_LABELS[target]}「{value}」が見つかりません"
                    )

    def _known(self, target: str, value: str) -> bool:
        listed = self.sourced_ids if target == self.stem else self.known.get(target, _NONE)
        return value in listed or value in self.existing.sourced_ids[target]

    def _check_username(self, row: Row, seen: dict[str, int]) -> None:
        username, sourced_id = row.get("username"), row.get("sourcedId")
        if not username:
            return
        self.late.phase = _USERNAME_PHASE
        if username in seen:
            self.late.add(
                "users", row.line, "username", f"「{username}」が重複しています（{seen[username]} 行目）"
            )
            return
        seen[username] = row.line
        if username in self.existing.usernames and self.existing.usernames[username] != sourced_id:
            self.late.add("users", row.line, "username", f"「{username}」は別の利用者がすでに使っています")

    def _check_read_only_class(self, row: Row) -> None:
        stored = self.existing.read_only_classes.get(row.get("sourcedId"))
        if stored is not None and class_fields(row) != stored:
            self.late.phase = _READ_ONLY_PHASE
            self.late.add(
                "classes",
                row.line,
                "sourcedId",
                "過去の年度のクラス（読み取り専用）は変更できません。"
                "新しい年度のクラスは新しい sourcedId で登録してください",
            )

    def _note_role(self, row: Row, account_roles: frozenset[str]) -> None:
        """Who holds which kind of role, for telling accounts from contacts (guardians, parents)."""
        if row.get("status") == "tobedeleted":
            return
        user = row.get("userSourcedId")
        self.role_holders.add(user)
        if row.get("role") in account_roles:
            self.account_holders.add(user)


def _account_roles(stem: str) -> frozenset[str] | None:
    """The roles that make a user an account holder, in roles.csv or enrollments.csv (None: other files)."""
    from lms.roster.report import ACCOUNT_ENROLLMENT_ROLES, ACCOUNT_ROLES  # report imports this module

    if stem == "roles":
        return ACCOUNT_ROLES | ACCOUNT_ENROLLMENT_ROLES
    if stem == "enrollments":
        return ACCOUNT_ENROLLMENT_ROLES  # any other enrollment role counts as a contact's
    return None


_NONE: frozenset[str] = frozenset()
_LABELS = {
    "academicSessions": "学期・年度",
    "orgs": "組織",
    "courses": "コース",
    "classes": "クラス",
    "users": "利用者",
}


def check_bundle(path: Path, existing: Existing | None = None) -> Checked:
    """Pass 1: read, decode and validate a bundle file by file, streamed, keeping no rows; raise `BundleError`
    with every problem found. Files are read in the OneRoster load order (manifest first), so references
    into earlier files are checked as the rows stream past."""
    existing = existing or Existing()
    problems = _Problems()
    late = _Problems()
    known: dict[str, set[str]] = {}
    encodings: dict[str, str] = {}
    role_holders: set[str] = set()
    account_holders: set[str] = set()
    try:
        with bundle_files.open_files(path, frozenset(("manifest", *FILES))) as (sources, others):
            if "manifest" not in sources:
                raise BundleError([msg.NO_MANIFEST])
            budget = bundle_files.Budget()
            decode_problems: list[bundle_files.Problem] = []
            outcome = bundle_files.read_decoded(sources["manifest"], budget, _parse_manifest)
            manifest_parsed: Parsed | None = None
            if isinstance(outcome, bundle_files.Problem):
                decode_problems.append(outcome)
            else:
                manifest_parsed, encodings["manifest"] = outcome
            manifest, manifest_lines = _read_manifest(manifest_parsed, problems)
            modes, notices = _modes(manifest, manifest_lines, set(sources), others, problems)
            for stem in FILES:
                if stem not in sources:
                    continue
                check = partial(_run_check, stem, modes.get(stem), existing, known)
                result = bundle_files.read_decoded(sources[stem], budget, check)
                if isinstance(result, bundle_files.Problem):
                    decode_problems.append(result)
                    continue
                file_check, encodings[stem] = result
                if isinstance(file_check, CsvFormatError):
                    if stem in modes:
                        problems.add(stem, file_check.line, "-", file_check.message)
                        problems.unreadable.add(stem)
                    continue
                if stem not in modes:
                    continue
                problems.merge(file_check.problems)
                late.merge(file_check.late)
                known[stem] = set() if file_check.columns_missing else file_check.sourced_ids
                role_holders |= file_check.role_holders
                account_holders |= file_check.account_holders
            decode_problems += bundle_files.mismatched_encodings(
                {stem: code for stem, code in encodings.items() if code != "ascii"}
            )
    except bundle_files.FilesRefused as refused:
        problems = _Problems()
        for problem in refused.problems:
            problems.add(problem.file, problem.line, problem.column, problem.message)
        raise BundleError(problems.sorted()) from None
    problems.phase = _ROW_PHASE - 1  # decoding comes first on its line, as it was found first
    for problem in decode_problems:
        problems.add(problem.file, problem.line, problem.column, problem.message)
    if decode_problems or problems.unreadable:
        # A file that could not be read makes every reference into it look broken: report the cause only.
        raise BundleError(problems.sorted())
    problems.merge(late)
    if problems.lines:
        raise BundleError(problems.sorted())
    return Checked(
        path=path,
        modes=modes,
        notices=notices,
        manifest=manifest,
        encodings={stem: "cp932" if code == "cp932" else "utf-8" for stem, code in encodings.items()},
        sourced_ids={stem: known.get(stem, set()) for stem in modes},
        contacts=role_holders - account_holders,
        digests=dict(budget.digests),
    )


def _run_check(
    stem: str, mode: str | None, existing: Existing, known: dict[str, set[str]], lines: Iterable[str]
) -> _FileCheck | CsvFormatError:
    return _FileCheck(stem, mode, existing, known).run(lines)


def parse_bundle(path: Path, existing: Existing | None = None) -> Bundle:
    """Validate a bundle (`check_bundle`) and read all its rows: for tools and tests, whose bundles are
    small. The import itself never holds the rows (`Checked.rows`)."""
    checked = check_bundle(path, existing)
    rows = {stem: list(checked.rows(stem)) for stem in FILES if stem in checked.modes}
    return Bundle(modes=checked.modes, rows=rows, notices=checked.notices, manifest=checked.manifest)


def _modes(
    manifest: dict[str, str],
    manifest_lines: dict[str, int],
    present: set[str],
    others: list[str],
    problems: _Problems,
) -> tuple[dict[str, str], list[str]]:
    modes: dict[str, str] = {}
    notices: list[str] = []
    for stem in FILES:
        mode = manifest.get(f"file.{stem}", "absent").strip() or "absent"
        if mode not in ("absent", "bulk", "delta"):
            problems.add(
                "manifest",
                manifest_lines.get(f"file.{stem}", 1),
                "value",
                f"file.{stem} は absent / bulk / delta のいずれかです（「{mode}」）",
            )
            continue
        if mode == "absent":
            if stem in present:
                notices.append(f"{stem}.csv は manifest で absent とされているため読み込みません。")
            continue
        if stem not in present:
            problems.add(
                "manifest",
                manifest_lines.get(f"file.{stem}", 1),
                "value",
                f"file.{stem} が {mode} ですが {stem}.csv がありません",
            )
            continue
        modes[stem] = mode
    for name in others:
        stem = Path(name).stem
        if stem in IGNORED_WITH_NOTICE:
            notices.append(IGNORED_WITH_NOTICE[stem])
        else:
            notices.append(f"{name} はこのシステムでは使わないため読み込みません。")
    return modes, notices


def _read_manifest(parsed: Parsed | None, problems: _Problems) -> tuple[dict[str, str], dict[str, int]]:
    manifest: dict[str, str] = {}
    manifest_lines: dict[str, int] = {}
    if parsed is None:
        return manifest, manifest_lines  # the decoding problem is already listed
    if isinstance(parsed, CsvFormatError):
        problems.add("manifest", parsed.line, "-", parsed.message)
        return manifest, manifest_lines
    header, rows = parsed
    if header[:2] != ["propertyName", "value"]:
        problems.add("manifest", 1, "propertyName", "見出し行は propertyName,value です")
        return manifest, manifest_lines
    for row in rows:
        manifest[row.get("propertyName")] = row.get("value")
        manifest_lines[row.get("propertyName")] = row.line
    if manifest.get(SPREADSHEET_MARK, "").strip().lower() == "true":
        problems.add("manifest", manifest_lines[SPREADSHEET_MARK], SPREADSHEET_MARK, msg.SPREADSHEET_COPY)
    version = manifest.get("oneroster.version", "")
    if version not in ("1.2", "1.2.0"):
        problems.add(
            "manifest",
            manifest_lines.get("oneroster.version", 1),
            "value",
            f"oneroster.version は 1.2 に対応しています（「{version}」）",
        )
    return manifest, manifest_lines


def _validate_row(stem: str, mode: str, spec: _Spec, row: Row, problems: _Problems) -> None:
    add = problems.add
    get = row.values.get  # a bound method: this runs for every row of a 20,000-user city
    if not get("sourcedId", ""):
        add(stem, row.line, "sourcedId", "値がありません")
    status = get("status", "")
    if status and status not in STATUSES:
        add(stem, row.line, "status", f"「{status}」は使えません（active / tobedeleted）")
    if mode == "delta" and not status:
        add(stem, row.line, "status", "差分（delta）ファイルでは status が必要です（active / tobedeleted）")
    if max(map(len, row.values.values()), default=0) > _SHORTEST_LIMIT:  # rare: check column by column
        for column, value in row.values.items():
            limit = MAX_LENGTHS.get(f"{stem}.{column}") or MAX_LENGTHS.get(column, DEFAULT_MAX_LENGTH)
            if len(value) > limit:
                add(stem, row.line, column, f"値が長すぎます（{len(value)} 文字、{limit} 文字まで）")
    modified = get("dateLastModified", "")
    if mode == "delta" and not modified:
        add(
            stem,
            row.line,
            "dateLastModified",
            "差分（delta）ファイルでは dateLastModified が必要です（例 2026-04-01T00:00:00Z）",
        )
    if modified and not _check_datetime(modified):
        add(
            stem,
            row.line,
            "dateLastModified",
            f"「{modified}」は日時ではありません（例 2026-04-01T00:00:00Z）",
        )
    if status == "tobedeleted":
        return  # a deletion names only the sourcedId; the other columns may be empty
    for column in spec.required_values:
        if not get(column, ""):
            add(stem, row.line, column, "値がありません")
    for column, allowed in spec.enums.items():
        value = get(column, "")
        if value and value not in allowed:
            add(stem, row.line, column, f"「{value}」は使えません（{' / '.join(allowed)}）")
    for column in spec.dates:
        value = get(column, "")
        if value and not _check_date(value):
            add(stem, row.line, column, f"「{value}」は日付ではありません（YYYY-MM-DD）")
    if get("grades", ""):
        for grade in _split(get("grades", "")):
            if grade not in GRADE_CODES:
                add(
                    stem,
                    row.line,
                    "grades",
                    f"学年コード「{grade}」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）",
                )
    extra = _ROW_CHECKS.get(stem)
    if extra:
        extra(stem, row, problems)


def _check_session(stem: str, row: Row, problems: _Problems) -> None:
    year = row.get("schoolYear")
    if year and not re.fullmatch(r"\d{4}", year):
        problems.add(stem, row.line, "schoolYear", f"「{year}」は西暦の年（YYYY）ではありません")
    start, end = row.get("startDate"), row.get("endDate")
    if _check_date(start) and _check_date(end) and start > end:
        problems.add(stem, row.line, "endDate", f"終了日 {end} が開始日 {start} より前です")


def _check_org(stem: str, row: Row, problems: _Problems) -> None:
    identifier, kind = row.get("identifier"), row.get("type")
    if kind == "district" and identifier and not DISTRICT_CODE.match(identifier):
        problems.add(stem, row.line, "identifier", f"教育委員会コード「{identifier}」は 6 桁の数字です")
    if kind == "school" and identifier and not SCHOOL_CODE.match(identifier):
        problems.add(
            stem, row.line, "identifier", f"学校コード「{identifier}」は 13 桁（英字 1 字＋数字 12 桁）です"
        )
    if kind == "school" and not row.get("parentSourcedId"):
        problems.add(stem, row.line, "parentSourcedId", "学校には設置者（教育委員会）の sourcedId が必要です")


def _check_user(stem: str, row: Row, problems: _Problems) -> None:
    values = row.values
    for column in _NAME_AND_KANA_COLUMNS:
        value = values.get(column)
        if not value:
            continue
        if value.startswith("="):  # a formula in every spreadsheet, never a name (+ - @ have innocent uses)
            problems.add(stem, row.line, column, msg.NAME_IS_FORMULA.format(value=value))
        elif value and HALF_WIDTH_KATAKANA.search(value):
            problems.add(
                stem, row.line, column, f"「{value}」に半角カタカナがあります（全角で入力してください）"
            )
        elif value and column in KANA_COLUMNS and not KANA_NAME.match(value):
            problems.add(
                stem,
                row.line,
                column,
                f"「{value}」はかなではありません（カタカナかひらがなで入力してください）",
            )
    master = row.get("userMasterIdentifier")
    if master:
        try:
            uuid.UUID(master)
        except ValueError:
            problems.add(stem, row.line, "userMasterIdentifier", f"「{master}」は UUID ではありません")
    email = row.get("email")
    if email and not EMAIL.fullmatch(email):
        problems.add(stem, row.line, "email", f"「{email}」はメールアドレスではありません")


def _check_enrollment(stem: str, row: Row, problems: _Problems) -> None:
    number = row.get("metadata.jp.ShussekiNo")
    if number and not (number.isdigit() and SHUSSEKI_NO_MIN <= int(number) <= SHUSSEKI_NO_MAX):
        problems.add(
            stem,
            row.line,
            "metadata.jp.ShussekiNo",
            f"出席番号「{number}」は {SHUSSEKI_NO_MIN}〜{SHUSSEKI_NO_MAX} の整数で入力してください",
        )
    begin, end = row.get("beginDate"), row.get("endDate")
    if _check_date(begin) and _check_date(end) and begin > end:
        problems.add(stem, row.line, "endDate", f"終了日 {end} が開始日 {begin} より前です")


_ROW_CHECKS = {
    "academicSessions": _check_session,
    "orgs": _check_org,
    "users": _check_user,
    "enrollments": _check_enrollment,
}


def class_fields(row: Row) -> tuple[str, ...]:
    """The fields of a class that a read-only (past year) class must keep."""
    return (row.get("status") or "active", row.get("title"), row.get("grades"), row.get("classType"))

"""Applying a validated bundle with bulk Core statements (issue 22: 20,000 users in seconds, not a minute).

The second pass of the import: each file's rows are read again (streamed, `Checked.rows`) and applied in
batches. Small tables (sessions, orgs, courses, classes: a city has hundreds) are read once whole as plain
dictionaries. Of the tables that grow with the number of users (users, enrollments, roles) only the few
columns later steps need are held per stored row (``COMPACT``); a batch's full stored rows are read when the
batch is compared, and its new rows inserted (COPY on PostgreSQL) and changed columns updated (one
executemany per set of columns) before the next batch is read.

Behaviour is that of the row-by-row version it replaces: rows are matched by sourcedId; ``tobedeleted`` or
absence from a bulk file deactivates (users disabled, enrollments ended); past years' classes stay as they
are; platform roles are derived from roles.csv, else enrollments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlmodel import Session, SQLModel

from lms.core.db import utc_now
from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User
from lms.roster.oneroster import FILES, Checked, Row
from lms.roster.report import (
    ENROLLMENT_ROLE_TO_PLATFORM,
    MASS_CHANGE_MIN_ROWS,
    MASS_CHANGE_SHARE,
    ORG_ROLE_TO_PLATFORM,
    ROLE_RANK,
    ROLLOVER_PREFIX,
    EntityCounts,
    ImportReport,
    MassChange,
)

MODELS: dict[str, type[SQLModel]] = {
    "academicSessions": AcademicSession,
    "orgs": Org,
    "courses": Course,
    "classes": SchoolClass,
    "users": User,
    "enrollments": Enrollment,
    "roles": OrgRole,
}
COPY_THRESHOLD = 500  # rows: below this a multi-row INSERT is as quick as COPY and simpler
BATCH_ROWS = 2000  # rows compared and written at a time (the IN list of a batch's lookup stays well below
# SQLite's 32,766 variables; bigger batches were no faster)
# The columns held per stored row of the tables that grow with the number of users: what deactivation,
# the mass-change guard, the per-school counts and the platform roles read after a row's batch is written.
COMPACT: dict[str, tuple[str, ...]] = {
    "users": ("id", "status", "enabled", "graduated", "moving_on", "primary_org_id", "role"),
    "enrollments": ("id", "status", "end_date", "user_id", "class_id", "school_id", "role"),
    "roles": ("id", "status", "user_id", "role"),
}
Record = dict[str, Any]


def _parse_date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _first(value: str) -> str | None:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts[0] if parts else None


def _table(name: str) -> Table:
    return MODELS[name].__table__  # type: ignore[attr-defined,no-any-return]


class _Store:
    """One table's rows by sourcedId (whole, or the ``COMPACT`` columns), the pending column changes by id,
    and the rows to insert."""

    def __init__(self, session: Session, name: str) -> None:
        self.name = name
        self.table = _table(name)
        self.compact = COMPACT.get(name)
        columns = (
            [self.table.c.sourced_id, *(self.table.c[key] for key in self.compact)]
            if self.compact
            else [self.table]
        )
        self.by_sid: dict[str, Record] = {}
        for row in session.execute(select(*columns)).mappings():
            record = dict(row)
            sourced_id = record.pop("sourced_id") if self.compact else record.get("sourced_id")
            if sourced_id:
                self.by_sid[sourced_id] = record
        self.dirty: dict[int, Record] = {}
        self.new: list[Record] = []

    def whole(self, session: Session, sourced_ids: list[str]) -> dict[str, Record]:
        """The stored rows of a batch, every column (the compact records hold only a few)."""
        if not self.compact:
            return self.by_sid
        wanted = [sid for sid in sourced_ids if sid in self.by_sid]
        if not wanted:
            return {}
        statement = select(self.table).where(self.table.c.sourced_id.in_(wanted))
        return {row["sourced_id"]: dict(row) for row in session.execute(statement).mappings()}

    def keep(self, records: Iterable[tuple[str, Record]]) -> None:
        """A written batch's records, cut down to the compact columns."""
        if self.compact:
            for sourced_id, record in records:
                self.by_sid[sourced_id] = {key: record.get(key) for key in self.compact}

    def change(self, record: Record, values: Record) -> bool:
        """Set ``values`` on a stored (or new) record; True when anything differed."""
        diff = {key: value for key, value in values.items() if record.get(key) != value}
        if not diff:
            return False
        record.update(diff)
        if record.get("id") is not None:
            self.dirty.setdefault(record["id"], {}).update(diff)
        return True

    def by_id(self) -> dict[int, Record]:
        return {r["id"]: r for r in self.by_sid.values() if r.get("id") is not None}


class BulkApplier:
    def __init__(self, session: Session, checked: Checked, report: ImportReport) -> None:
        session.flush()  # pending ORM changes first: the rows below are read with Core
        self.session = session
        self.checked = checked
        self.report = report
        self.today = date.today()
        self.stores = {name: _Store(session, name) for name in FILES}
        users = self.stores["users"].by_sid.values()
        self.active_users_before = {u["id"] for u in users if u["status"] == "active" and u["enabled"]}
        enrollments = self.stores["enrollments"].by_sid.values()
        self.active_enrollments_before = {e["id"] for e in enrollments if e["status"] == "active"}
        self.contacts = checked.contacts  # users whose roles in the bundle are all non-account roles
        self._names: dict[str, dict[Any, str]] = {}
        self._enrollments_of: dict[str, dict[int, list[Record]]] = {}
        self._parents: list[tuple[str, str]] = []  # (sourcedId, parentSourcedId) of the file being applied
        self._password_given = False

    def mass_change(self) -> MassChange | None:
        users = self.stores["users"].by_sid.values()
        users_off = sum(
            1
            for u in users
            if u["id"] in self.active_users_before and not (u["status"] == "active" and u["enabled"])
        )
        enrollments = self.stores["enrollments"].by_sid.values()
        enrollments_off = sum(
            1 for e in enrollments if e["id"] in self.active_enrollments_before and e["status"] != "active"
        )
        change = MassChange(
            users_off, len(self.active_users_before), enrollments_off, len(self.active_enrollments_before)
        )

        def too_many(count: int, active: int) -> bool:
            return count >= MASS_CHANGE_MIN_ROWS and count > MASS_CHANGE_SHARE * active

        if too_many(users_off, change.active_users) or too_many(enrollments_off, change.active_enrollments):
            return change
        return None

    # --- the run --------------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.contacts:
            self.report.skipped_contacts = len(self.contacts)
        fields_of: dict[str, Callable[[Row], Record]] = {
            "academicSessions": self._session_fields,
            "orgs": self._org_fields,
            "courses": self._course_fields,
            "classes": self._class_fields,
            "users": self._user_fields,
            "enrollments": self._enrollment_fields,
            "roles": self._role_fields,
        }
        for name in FILES:
            if name not in self.checked.modes:
                continue
            self._upsert(name, fields_of[name], self._rows(name))
            if name == "users" and self._password_given:
                self.report.notices.append(
                    "users.csv の password 列は取り込みません（パスワードは本システムで設定します）。"
                )
            if name in ("academicSessions", "orgs"):
                self._link_parents(name)
            if name == "academicSessions":
                self._mark_current_year()
        for name, mode in self.checked.modes.items():
            if mode == "bulk":
                self._deactivate_absent(name)
        self._derive_platform_roles()
        for name in FILES:
            self._write_changes(self.stores[name])
        self.session.expire_all()  # ORM objects loaded earlier must not show the old values

    def _rows(self, name: str) -> Iterator[Row]:
        """The file's rows read again, without those of contacts (a contact's rows are not listed either: a
        bulk file then deactivates what was stored for them)."""
        key = {"users": "sourcedId", "enrollments": "userSourcedId", "roles": "userSourcedId"}.get(name)
        listed = self.checked.sourced_ids[name]
        for row in self.checked.rows(name):
            if key is not None and self.contacts and row.get(key) in self.contacts:
                listed.discard(row.get("sourcedId"))
                continue
            if name == "users" and row.get("password"):
                self._password_given = True
            if name in ("academicSessions", "orgs") and row.get("status") != "tobedeleted":
                self._parents.append((row.get("sourcedId"), row.get("parentSourcedId")))
            yield row

    # --- generic upsert -------------------------------------------------------------------------------------

    def _upsert(self, name: str, fields_of: Callable[[Row], Record], rows: Iterable[Row]) -> None:
        store = self.stores[name]
        counts = self.report.counts.setdefault(name, EntityCounts())
        self._names.clear()
        for batch in _batches(rows, BATCH_ROWS):
            self._write_changes(store)  # a batch is compared with the rows as they stand now
            stored = store.whole(self.session, [row.get("sourcedId") for row in batch])
            for row in batch:
                self._upsert_row(name, store, stored, row, fields_of, counts)
            written = [*store.new, *stored.values()] if store.compact else []
            self._insert(store)
            if store.compact:
                self._write_changes(store)
                store.keep((record["sourced_id"], record) for record in written)
        self._enrollments_of.clear()  # new rows have ids now

    def _upsert_row(
        self,
        name: str,
        store: _Store,
        stored: dict[str, Record],
        row: Row,
        fields_of: Callable[[Row], Record],
        counts: EntityCounts,
    ) -> None:
        sourced_id = row.get("sourcedId")
        record = stored.get(sourced_id)
        if row.get("status") == "tobedeleted":
            if record is None:
                self.report.unknown_deletions.append(
                    f"{name}.csv:{row.line}: sourcedId: 「{sourced_id}」は登録されていないため"
                    "削除（tobedeleted）できません（この行は無視しました）"
                )
            elif self._deactivate(name, record):
                counts.deactivated += 1
                self._tally(name, record, "deactivated")
            return
        if name == "classes" and record is not None and record["read_only"]:
            counts.unchanged += 1  # a past year's class: validation made sure nothing differs
            return
        fields = fields_of(row)
        if record is None and name == "academicSessions":
            record = self._adopt_rollover_session(fields, sourced_id)
            if record is not None:
                store.change(record, fields)
                counts.updated += 1
                return
        if record is None:
            record = {"sourced_id": sourced_id, **fields}
            store.by_sid[sourced_id] = record
            store.new.append(record)
            counts.created += 1
            self._tally(name, record, "created")
        elif store.change(record, fields):
            counts.updated += 1
            self._tally(name, record, "updated")
        else:
            counts.unchanged += 1

    def _insert(self, store: _Store) -> None:
        """Insert the new rows in one statement (COPY on PostgreSQL) and learn their ids."""
        if not store.new:
            return
        now = utc_now()
        columns = [c for c in store.table.columns if not c.primary_key]
        defaults = {column.name: _default(column, now) for column in columns}
        rows = [defaults | record for record in store.new]  # a record's keys are column names
        connection = self.session.connection()
        table = store.table
        # New rows get ids above every stored one: reading those back is one index range per batch (an IN
        # list of a batch's sourcedIds cost PostgreSQL more than the COPY itself).
        last_id = connection.execute(select(func.max(table.c.id))).scalar_one() or 0
        if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
            _copy(connection, store.table, [c.name for c in columns], rows)
        elif connection.dialect.name == "sqlite":
            _executemany(connection, store.table, columns, rows)
        else:
            connection.execute(insert(store.table), rows)
        for record, row in zip(store.new, rows, strict=True):
            record.update(row)  # the defaults the database was given
        new = {record["sourced_id"]: record for record in store.new}
        learn = select(table.c.id, table.c.sourced_id).where(table.c.id > last_id)
        for row_id, sourced_id in connection.execute(learn):
            if sourced_id in new:
                new[sourced_id]["id"] = row_id
        store.new = []

    def _write_changes(self, store: _Store) -> None:
        """One executemany UPDATE per set of changed columns."""
        if not store.dirty:
            return
        groups: dict[tuple[str, ...], list[Record]] = defaultdict(list)
        for row_id, values in store.dirty.items():
            groups[tuple(sorted(values))].append({"b_id": row_id, **{f"b_{k}": v for k, v in values.items()}})
        connection = self.session.connection()
        for keys, params in groups.items():
            statement = (
                update(store.table)
                .where(store.table.c.id == bindparam("b_id"))
                .values({key: bindparam(f"b_{key}") for key in keys})
            )
            connection.execute(statement, params)
        store.dirty.clear()

    def _link_parents(self, name: str) -> None:
        store = self.stores[name]
        for sourced_id, parent_sourced_id in self._parents:
            parent = store.by_sid.get(parent_sourced_id)
            record = store.by_sid[sourced_id]
            store.change(record, {"parent_id": parent["id"] if parent is not None else None})
        self._parents.clear()

    # --- fields per file ------------------------------------------------------------------------------------

    def _id(self, name: str, sourced_id: str | None) -> int | None:
        record = self.stores[name].by_sid.get(sourced_id or "")
        return record["id"] if record is not None else None

    def _session_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "title": get("title", ""),
            "type": get("type", ""),
            "start_date": _parse_date(get("startDate", "")),
            "end_date": _parse_date(get("endDate", "")),
            "school_year": int(get("schoolYear", "")),
        }

    def _org_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "name": get("name", ""),
            "type": get("type", ""),
            "identifier": get("identifier", "") or None,
        }

    def _course_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "title": get("title", ""),
            "course_code": get("courseCode", "") or None,
            "grades": get("grades", "") or None,
            "org_id": self._id("orgs", get("orgSourcedId", "")),
            "school_year_id": self._id("academicSessions", get("schoolYearSourcedId", "")),
        }

    def _class_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "title": get("title", ""),
            "grades": get("grades", "") or None,
            "class_code": get("classCode", "") or None,
            "class_type": get("classType", ""),
            "school_id": self._id("orgs", get("schoolSourcedId", "")),
            "course_id": self._id("courses", get("courseSourcedId", "")),
            "academic_session_id": self._id("academicSessions", _first(get("termSourcedIds", ""))),
            "special_needs": get("metadata.jp.specialNeeds", "") == "true",
        }

    def _user_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "enabled": get("enabledUser", "") == "true",
            "username": get("username", ""),
            "email": get("email", "") or None,
            "given_name": get("givenName", ""),
            "family_name": get("familyName", ""),
            "kana_given_name": get("metadata.jp.kanaGivenName", "") or None,
            "kana_family_name": get("metadata.jp.kanaFamilyName", "") or None,
            "kana_middle_name": get("metadata.jp.kanaMiddleName", "") or None,
            "middle_name": get("middleName", "") or None,
            "preferred_given_name": get("preferredGivenName", "") or None,
            "preferred_family_name": get("preferredFamilyName", "") or None,
            "preferred_middle_name": get("preferredMiddleName", "") or None,
            "identifier": get("identifier", "") or None,
            "user_master_identifier": get("userMasterIdentifier", "").lower() or None,
            "primary_org_id": self._id("orgs", get("primaryOrgSourcedId", "")),
            "grades": _first(get("grades", "")),
            "home_class_id": self._id("classes", get("metadata.jp.homeClass", "")),
        }

    def _enrollment_fields(self, row: Row) -> Record:
        get = row.values.get
        number = get("metadata.jp.ShussekiNo", "")
        return {
            "status": "active",
            "class_id": self._id("classes", get("classSourcedId", "")),
            "user_id": self._id("users", get("userSourcedId", "")),
            "school_id": self._id("orgs", get("schoolSourcedId", "")),
            "role": get("role", ""),
            "primary": get("primary", "") == "true",
            "begin_date": _parse_date(get("beginDate", "")),
            "end_date": _parse_date(get("endDate", "")),
            "shusseki_no": int(number) if number else None,
            "public_flg": {"true": True, "false": False}.get(get("metadata.jp.PublicFlg", "")),
        }

    def _role_fields(self, row: Row) -> Record:
        get = row.values.get
        return {
            "status": "active",
            "user_id": self._id("users", get("userSourcedId", "")),
            "role_type": get("roleType", ""),
            "role": get("role", ""),
            "org_id": self._id("orgs", get("orgSourcedId", "")),
            "begin_date": _parse_date(get("beginDate", "")),
            "end_date": _parse_date(get("endDate", "")),
        }

    # --- deactivation ---------------------------------------------------------------------------------------

    def _deactivate(self, name: str, record: Record) -> bool:
        """Mark one row tobedeleted (history kept); False when it already was."""
        if name == "classes" and record["read_only"]:
            return False
        if name == "enrollments":
            self._end_enrollments([record])
        store = self.stores[name]
        changed = store.change(record, {"status": "tobedeleted"})
        if name == "users":
            changed |= store.change(record, {"enabled": False})
            self._end_enrollments(self._enrollments_by("user_id").get(record["id"], []))
        elif name == "classes":
            self._end_enrollments(self._enrollments_by("class_id").get(record["id"], []))
        return changed

    def _enrollments_by(self, key: str) -> dict[int, list[Record]]:
        if key not in self._enrollments_of:
            index: dict[int, list[Record]] = defaultdict(list)
            for record in self.stores["enrollments"].by_sid.values():
                index[record[key]].append(record)
            self._enrollments_of[key] = index
        return self._enrollments_of[key]

    def _end_enrollments(self, enrollments: Iterable[Record]) -> None:
        store = self.stores["enrollments"]
        for record in enrollments:
            if record.get("id") is None:
                continue
            if record["status"] == "active":
                self._tally("enrollments", record, "ended")
            values: Record = {"status": "tobedeleted"}
            if record["end_date"] is None or record["end_date"] > self.today:
                values["end_date"] = self.today
            store.change(record, values)

    def _deactivate_absent(self, name: str) -> None:
        """A bulk file is the whole set: rows stored earlier but not listed are deactivated."""
        if name in ("academicSessions", "courses"):
            return  # past years' sessions and courses stay as they are
        listed = self.checked.sourced_ids.get(name, set())
        read_only_class_ids = {c["id"] for c in self.stores["classes"].by_sid.values() if c.get("read_only")}
        counts = self.report.counts.setdefault(name, EntityCounts())
        for sourced_id, record in self.stores[name].by_sid.items():
            if sourced_id in listed or record["status"] != "active":
                continue
            if name == "enrollments" and record["class_id"] in read_only_class_ids:
                continue
            if name == "users" and (record["graduated"] or record["moving_on"]):
                continue
            if self._deactivate(name, record):
                counts.deactivated += 1
                self._tally(name, record, "deactivated")

    # --- per school and class counts (dry run) --------------------------------------------------------------

    def _name_of(self, name: str, row_id: Any) -> str:
        if name not in self._names:
            column = "name" if name == "orgs" else "title"
            self._names[name] = {r.get("id"): r[column] for r in self.stores[name].by_sid.values()}
        return self._names[name].get(row_id, "?")

    def _tally(self, name: str, record: Record, outcome: str) -> None:
        if name == "enrollments" and outcome in ("deactivated", "ended"):
            if outcome == "deactivated":
                return  # counted once, when the enrollment ended (_end_enrollments)
            outcome = "deactivated"
        if name == "users":
            key = (
                self._name_of("orgs", record.get("primary_org_id"))
                if record.get("primary_org_id")
                else "（学校なし）"
            )
            counts = self.report.by_school.setdefault(key, EntityCounts())
        elif name == "enrollments":
            school = self._name_of("orgs", record.get("school_id"))
            klass = self._name_of("classes", record.get("class_id"))
            counts = self.report.by_class.setdefault(f"{school} / {klass}", EntityCounts())
        else:
            return
        setattr(counts, outcome, getattr(counts, outcome) + 1)

    # --- derived state --------------------------------------------------------------------------------------

    def _adopt_rollover_session(self, fields: Record, sourced_id: str) -> Record | None:
        """The roll-over created this school year before the bulk import named it: reuse that row."""
        if fields["type"] != "schoolYear":
            return None
        store = self.stores["academicSessions"]
        for old_sid, record in list(store.by_sid.items()):
            if old_sid.startswith(ROLLOVER_PREFIX) and record["school_year"] == fields["school_year"]:
                del store.by_sid[old_sid]
                store.by_sid[sourced_id] = record
                store.change(record, {"sourced_id": sourced_id})
                return record
        return None

    def _mark_current_year(self) -> None:
        store = self.stores["academicSessions"]
        years = [s for s in store.by_sid.values() if s["type"] == "schoolYear" and s["status"] == "active"]
        if not years or any(s.get("is_current") for s in years):
            return
        containing = [s for s in years if s["start_date"] <= self.today <= s["end_date"]]
        current = containing[0] if containing else max(years, key=lambda s: s["school_year"])
        store.change(current, {"is_current": True})

    def _derive_platform_roles(self) -> None:
        """student/teacher/school_admin/board from roles.csv, else enrollments (admin is local only)."""
        best: dict[int, str] = {}

        def offer(user_id: int, role: str | None) -> None:
            if role and ROLE_RANK[role] > ROLE_RANK.get(best.get(user_id, ""), 0):
                best[user_id] = role

        for record in self.stores["roles"].by_sid.values():
            if record["status"] == "active":
                offer(record["user_id"], ORG_ROLE_TO_PLATFORM.get(record["role"]))
        from_roles = set(best)
        for record in self.stores["enrollments"].by_sid.values():
            if record["status"] == "active" and record["user_id"] not in from_roles:
                offer(record["user_id"], ENROLLMENT_ROLE_TO_PLATFORM.get(record["role"]))
        users = self.stores["users"]
        for record in users.by_sid.values():
            role = best.get(record["id"])
            if role is None or record["role"] == "admin":
                continue
            users.change(record, {"role": role})


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _default(column: Any, now: datetime) -> Any:
    """The value the column's default would give (Core fills these itself; COPY needs them spelled out)."""
    default = column.default
    if default is None:
        return None
    if column.name in ("created_at", "updated_at"):
        return now
    return default.arg(None) if default.is_callable else default.arg


def _executemany(connection: Any, table: Table, columns: list[Any], rows: list[Record]) -> None:
    """One DBAPI executemany of the rows, values converted by the columns' own SQLAlchemy types (SQLite).

    Core's executemany does the same conversions, but spends most of its time in generic per-row machinery.
    A converted value is remembered per column: dates, timestamps and flags repeat in thousands of rows."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = [column.name for column in columns]
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    values = [[row[name] for name in names] for row in rows]
    for index, column in enumerate(columns):
        process = column.type._cached_bind_processor(dialect)
        if process is None:
            continue
        seen: dict[Any, Any] = {}
        for value_row in values:
            value = value_row[index]
            if value is None:
                continue
            try:
                value_row[index] = seen[value]
            except KeyError:
                value_row[index] = seen[value] = process(value)
            except TypeError:  # unhashable: convert every time
                value_row[index] = process(value)
    connection.exec_driver_sql(statement, [tuple(value_row) for value_row in values])


def _copy(connection: Any, table: Table, columns: list[str], rows: list[Record]) -> None:
    """PostgreSQL COPY … FROM STDIN of the rows (psycopg 3), through the session's own connection."""
    quoted = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])

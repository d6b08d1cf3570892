"""Input of the teacher side: what an assignment request may say, and its Japanese validation messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from lms.core.errors import InvalidInput
from lms.core.jst import JST
from lms.teaching import messages as msg
from lms.teaching.report import SKILL_NAMES_JA, SKILL_ORDER

GRADE_CODES = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3")
RUBY_LEVELS = ("all", "none", *GRADE_CODES)
RUBY_LABELS = {
    "": "学年に合わせる（標準）",
    "all": "すべての漢字にふりがな",
    "none": "ふりがななし",
    **{g: f"{'小' if g[0] == 'P' else '中'}{g[1]}の漢字まではふりがななし" for g in GRADE_CODES},
}
EXTRA_TIME_CHOICES = (0, 25, 50, 100)


class AccommodationIn(BaseModel):
    """One student's accommodations (配慮) for an assignment."""

    user_id: int
    ruby_level: str | None = Field(default=None, description='grade code P1–J3, "all" or "none"')
    extra_time_pct: int = Field(default=0, ge=0, le=300)
    read_aloud: bool = False
    large_text: bool = False

    def is_default(self) -> bool:
        return not (self.ruby_level or self.extra_time_pct or self.read_aloud or self.large_text)


class AssignmentCreate(BaseModel):
    """``POST /api/v1/classes/{class_id}/assignments``: an adaptive test, a fixed form or a practice set."""

    title: str = Field(min_length=1, max_length=255)
    kind: Literal["cat", "fixed", "practice"] = "cat"
    skills: list[str] = Field(default_factory=list, description="skill codes; empty = all seven")
    min_items: int = Field(default=5, ge=1, le=60)
    max_items: int = Field(default=15, ge=1, le=60)
    se_target: float | None = Field(default=None, gt=0, le=2.0, description="stop when SE(θ) ≤ this")
    item_ids: list[str] = Field(default_factory=list, description="the items of a fixed form or practice set")
    time_limit_min: int | None = Field(default=None, ge=1, le=180)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    student_ids: list[int] = Field(default_factory=list, description="empty = the whole class")
    accommodations: list[AccommodationIn] = Field(default_factory=list)

    def check(self, *, class_student_ids: set[int], known_items: set[str], now: datetime) -> None:
        """Rules across fields, each broken one reported in Japanese (raise `InvalidInput`)."""
        problems = []
        unknown_skills = [s for s in self.skills if s not in SKILL_ORDER]
        if unknown_skills:
            problems.append(f"知らない技能があります: {', '.join(unknown_skills)}")
        if self.min_items > self.max_items:
            problems.append("最少問題数は最大問題数以下にしてください。")
        if self.kind in ("fixed", "practice"):
            if not self.item_ids:
                problems.append("固定フォーム・練習セットでは、問題を1つ以上選んでください。")
            unknown_items = [i for i in self.item_ids if i not in known_items]
            if unknown_items:
                problems.append(f"問題バンクにない問題IDがあります: {', '.join(unknown_items[:5])}")
            if len(set(self.item_ids)) != len(self.item_ids):
                problems.append("同じ問題が2回選ばれています。")
        opens = self.opens_at or now
        if self.closes_at is not None and self.closes_at <= opens:
            problems.append("終了日時は開始日時より後にしてください。")
        if self.closes_at is not None and self.closes_at <= now:
            problems.append("終了日時が過去になっています。")
        outsiders = [i for i in self.student_ids if i not in class_student_ids]
        outsiders += [a.user_id for a in self.accommodations if a.user_id not in class_student_ids]
        if outsiders:
            problems.append("このクラスにいない児童生徒が指定されています。")
        for a in self.accommodations:
            if a.ruby_level and a.ruby_level not in RUBY_LEVELS:
                problems.append(f"ふりがなの設定「{a.ruby_level}」は使えません（all, none, P1–J3）。")
        if problems:
            raise InvalidInput(" ".join(problems), detail=problems)


def parse_local_datetime(value: str | None) -> datetime | None:
    """A ``datetime-local`` form value, read as Japan time; None when empty."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(msg.BAD_DATETIME.format(value=value)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    return parsed.astimezone(UTC)


def _int(value: str | None, label: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(msg.NOT_A_NUMBER.format(label=label)) from None


def _float(value: str | None, label: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(msg.NOT_A_NUMBER.format(label=label)) from None


def from_form(form: dict[str, list[str]]) -> AssignmentCreate:
    """Read the assign page's form fields (lists, as `multi_items` gives them) into a request."""
    from pydantic import ValidationError

    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    item_ids = [i for v in form.get("item_ids", []) for i in v.replace(",", " ").split() if i]
    students = [int(v) for v in form.get("student_ids", []) if v.isdigit()]
    everyone = one("target") != "some"
    accommodations = []
    for raw in form.get("acc_user", []):
        if not raw.isdigit():
            continue
        uid = int(raw)
        acc = AccommodationIn(
            user_id=uid,
            ruby_level=one(f"ruby_{uid}") or None,
            extra_time_pct=_int(one(f"extra_{uid}"), "延長時間") or 0,
            read_aloud=one(f"aloud_{uid}") == "on",
            large_text=one(f"large_{uid}") == "on",
        )
        if not acc.is_default():
            accommodations.append(acc)
    try:
        return AssignmentCreate(
            title=(one("title") or "").strip(),
            kind=one("kind") or "cat",
            skills=form.get("skills", []),
            min_items=_int(one("min_items"), "最少問題数") or 5,
            max_items=_int(one("max_items"), "最大問題数") or 15,
            se_target=_float(one("se_target"), "測定の精度（SE）"),
            item_ids=item_ids,
            time_limit_min=_int(one("time_limit_min"), "制限時間"),
            opens_at=parse_local_datetime(one("opens_at")),
            closes_at=parse_local_datetime(one("closes_at")),
            student_ids=[] if everyone else students,
            accommodations=accommodations,
        )
    except ValidationError as error:
        raise InvalidInput(_validation_message(error)) from None


FIELD_LABELS = {
    "title": "タイトル",
    "kind": "種類",
    "min_items": "最少問題数",
    "max_items": "最大問題数",
    "se_target": "測定の精度（SE）",
    "time_limit_min": "制限時間",
    "extra_time_pct": "延長時間",
}


def _validation_message(error: object) -> str:
    from pydantic import ValidationError

    assert isinstance(error, ValidationError)
    names = []
    for problem in error.errors():
        field = next((str(p) for p in reversed(problem["loc"]) if str(p) in FIELD_LABELS), None)
        names.append(FIELD_LABELS.get(field or "", "入力"))
    return "次の項目を確かめてください: " + "、".join(dict.fromkeys(names)) + "。"


SKILL_CHOICES = [(code, SKILL_NAMES_JA[code]) for code in SKILL_ORDER]

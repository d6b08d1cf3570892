"""Japanese messages of the practice pages and API, in one place (the item reasons are in
`reading_tests.practice.REASONS`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from reading_tests.practice import skill_name

STAFF_ONLY = "練習問題の変更や配布は、先生・学校管理者・システム管理者が行えます。"
NOT_A_STUDENT = "練習問題は児童生徒にだけ設定できます。"
OVERRIDE_EMPTY = "問題（item_ids）か力（skills）を一つ以上選んでください。"
NOTE_TOO_LONG = "メモは255文字以内にしてください。"
NOT_IN_CLASS = "このクラスに在籍していない児童生徒が選ばれています。"
NOTHING_TO_ASSIGN = "配布できる練習問題がありませんでした。"


def teacher_reason(skill: str) -> str:
    return f"先生がえらんだ『{skill_name(skill)}』の問題です"


def too_many_items(limit: int) -> str:
    return f"一度に選べる問題は{limit}問までです。"


def unknown_item(item_id: str) -> str:
    return f"問題「{item_id}」は練習に使えません（問題番号を確かめてください）。"


def unknown_skill(skill: str, skills: Sequence[str]) -> str:
    return f"力のコード「{skill}」はありません（{', '.join(skills)} のどれかです）。"


def practice_title(day: date) -> str:
    return f"れんしゅう（{day.month}月{day.day}日）"


STUDENT_NOT_IN_CLASS = "その児童生徒はこのクラスにいません。"

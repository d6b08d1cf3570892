"""Japanese sentences of notebook lessons by launch and of dynamic registration (issue 23, third round).

Apart from `lms.lti.messages` and `lms.lti.service_messages`: parallel work on LTI does not edit one file."""

from __future__ import annotations

NOTEBOOK_LESSON_TITLE = "ノートブックの授業「{assignment}」"
NOTEBOOK_LESSON_NOT_FOUND = (
    "このノートブックの授業は見つかりません。クラスに登録されているか、先生に確認してください。"
    "（ポータルのリンクのコース名・課題名が違うときは、ポータルの管理者に伝えてください。）"
)

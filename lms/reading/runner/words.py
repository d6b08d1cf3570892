"""What the runner says to a child, in words for their school stage and with ruby by their reading level.

小学生 keep the runner's hiragana-rich wording; 中学生 read ordinary written Japanese (問題, 答える, 結果).
Every kanji word above the child's ruby level gets ruby (端末, 通信, 保存 …), so the all-ruby accommodation
reaches the runner's own messages too, not only the items. The page carries each message as HTML (with
ruby) and as plain text (``data-text``, for tests and the teacher's troubleshooting)."""

from __future__ import annotations

import json
from functools import lru_cache

from reading_tests.items import RubyEntry
from reading_tests.text import kanji_grade, render_ruby_html

JUNIOR_FROM = 7  # J1 on `reading_tests.text.student_grade`'s scale

READINGS = {
    "保存": "ほぞん", "端末": "たんまつ", "送信": "そうしん", "待": "ま", "時間": "じかん", "答": "こた",
    "送": "おく", "選": "えら", "先生": "せんせい", "知": "し", "切": "き", "残": "のこ", "一度": "いちど",
    "連絡": "れんらく", "自動": "じどう", "終了": "しゅうりょう", "始": "はじ", "通信": "つうしん",
    "確": "たし", "確認": "かくにん", "試": "ため", "続": "つづ", "合": "あ", "正解": "せいかい",
    "不正解": "ふせいかい", "読": "よ", "進": "すす", "次": "つぎ", "約": "やく", "問": "もん",
    "問題": "もんだい", "全部": "ぜんぶ", "分": "ふん", "秒": "びょう", "終": "お", "結果": "けっか",
    "見": "み", "準備": "じゅんび", "全": "すべ", "上": "あ", "戻": "もど", "疲": "つか",
}  # fmt: skip

# key: (小学生, 中学生)
MESSAGES: dict[str, tuple[str, str]] = {
    "saved": ("保存しました", "保存しました"),
    "pending": ("この端末に保存しました（送信待ち）", "この端末に保存しました（送信待ち）"),
    "time_up": ("時間になりました。答えを送っています。", "時間になりました。答えを送っています。"),
    "choose": ("答えをえらんでください。", "答えを選んでください。"),
    "store_failed": (
        "この端末に保存できませんでした。先生に知らせてください。",
        "この端末に保存できませんでした。先生に知らせてください。",
    ),
    "signed_out": (
        "サインインが切れました。答えはこの端末に残っています。もう一度サインインしてください。",
        "サインインが切れました。答えはこの端末に残っています。もう一度サインインしてください。",
    ),
    "send_failed": ("答えを送れませんでした。", "答えを送れませんでした。"),
    "finish_failed": (
        "おわりの連絡を送れませんでした。自動でもう一度送ります。",
        "終了の連絡を送れませんでした。自動でもう一度送ります。",
    ),
    "kept": ("ここまでに送った答えは保存されています。", "ここまでに送った答えは保存されています。"),
    "time_over": ("このテストの時間は終わっています。", "このテストの時間は終わっています。"),
    "start_failed": (
        "テストを始められませんでした。通信を確かめて、もう一度ためしてください。",
        "テストを始められませんでした。通信を確認して、もう一度試してください。",
    ),
    "cannot_continue": ("このテストを続けられません。", "このテストを続けられません。"),
    "checking": ("答えあわせをしています…", "答え合わせをしています…"),
    "right": ("せいかい！", "正解！"),
    "wrong": ("ざんねん。もう一度よく読んでみよう。", "不正解。もう一度よく読んでみよう。"),
    "feedback_failed": (
        "答えあわせができませんでした。つぎへ進んでください。",
        "答え合わせができませんでした。次へ進んでください。",
    ),
    "item_number": ("もんだい {n}（ぜんぶで約{m}問）", "問題 {n}（全部で約{m}問）"),
    "item_number_open": ("もんだい {n}", "問題 {n}"),
    "remaining": ("のこり {m}分{s}秒", "残り {m}分{s}秒"),
    # the page's own sentences (rendered on the server)
    "loading": ("じゅんびしています…", "準備しています…"),
    "wait_heading": ("つぎの問題を待っています", "次の問題を待っています"),
    "wait_text": (
        "答えはこの端末に保存されています。通信がもどると、自動で送ります。このまま待ってください。",
        "答えはこの端末に保存されています。通信が戻ると、自動で送ります。このまま待ってください。",
    ),
    "done_heading": ("おわり", "終わり"),
    "done_text": (
        "おつかれさまでした。答えはすべて送りました。",
        "お疲れさまでした。答えはすべて送りました。",
    ),
    "error_heading": ("テストを始められませんでした", "テストを始められませんでした"),
    "error_heading_mid": ("テストを続けられませんでした", "テストを続けられませんでした"),  # after an answer
    "key_label": ("せいかいは", "正解は"),
}
# Button and link labels: the stage's words without ruby (ruby inside a control doubles its spoken name).
LABELS: dict[str, tuple[str, str]] = {
    "answer_button": ("こたえる", "答える"),
    "results_link": ("けっかを見る", "結果を見る"),
    "finish_button": ("おわる（サインアウト）", "終わる（サインアウト）"),
    "retry": ("もう一度ためす", "もう一度試す"),
    "home": ("ホームにもどる", "ホームに戻る"),
    "next": ("つぎへ", "次へ"),
}


def _entries(text: str) -> list[RubyEntry]:
    """Ruby entries for every known word of ``text``, in order, longest word first at each position."""
    bases = sorted(READINGS, key=len, reverse=True)
    out: list[RubyEntry] = []
    i = 0
    while i < len(text):
        base = next((b for b in bases if text.startswith(b, i)), None)
        if base is None:
            i += 1
            continue
        out.append(RubyEntry(base, READINGS[base], kanji_grade(base)))
        i += len(base)
    return out


def message(key: str, *, school_grade: int, ruby_grade: int) -> dict[str, str]:
    """``{"html", "text"}`` of one message for a child in ``school_grade`` (1–9) reading at ``ruby_grade``."""
    primary, junior = MESSAGES[key]
    text = junior if school_grade >= JUNIOR_FROM else primary
    return {"html": render_ruby_html(text, _entries(text), ruby_grade), "text": text}


@lru_cache(maxsize=64)
def messages_json(school_grade: int, ruby_grade: int) -> str:
    """Every runner message for one child, as the JSON block the runner page embeds (cached per grades)."""
    body = {key: message(key, school_grade=school_grade, ruby_grade=ruby_grade) for key in MESSAGES}
    return json.dumps(body, ensure_ascii=False).replace("</", "<\\/")


def page_words(school_grade: int, ruby_grade: int) -> dict[str, str]:
    """The runner page's own sentences (ruby HTML) and labels (plain) for one child."""
    junior = school_grade >= JUNIOR_FROM
    out = {key: message(key, school_grade=school_grade, ruby_grade=ruby_grade)["html"] for key in MESSAGES}
    out.update({key: pair[1] if junior else pair[0] for key, pair in LABELS.items()})
    return out

"""The roster's refusal sentences: Japanese ones of whole-bundle refusals and the rollover (bottom), and
English variants of every refusal line (``giga roster import --english``).

The Japanese line is the reference; each pattern maps one message shape. A message without a pattern stays in
Japanese rather than being guessed at.
"""

from __future__ import annotations

import re

LINE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<column>[^:]+): (?P<message>.*)$", re.S)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^値がありません$"), "value missing"),
    (re.compile(r"^必須の列がありません$"), "required column missing"),
    (
        re.compile(r"^値が長すぎます（(\d+) 文字、(\d+) 文字まで）$"),
        r"value too long (\1 characters, at most \2)",
    ),
    (re.compile(r"^「(.*)」が重複しています（(\d+) 行目）$"), r"'\1' is duplicated (line \2)"),
    (re.compile(r"^「(.*)」は使えません（(.*)）$"), r"'\1' is not allowed (\2)"),
    (re.compile(r"^(.*)「(.*)」が見つかりません$"), r"reference '\2' not found"),
    (
        re.compile(r"^出席番号「(.*)」は (\d+)〜(\d+) の整数で入力してください$"),
        r"attendance number '\1' must be an integer \2–\3",
    ),
    (
        re.compile(r"^UTF-8 として読めないバイト（(0x..)）があります.*$"),
        r"byte \1 is not valid UTF-8; the file may be damaged, save it again as UTF-8",
    ),
    (
        re.compile(r"^UTF-8 としても Shift_JIS としても読めないバイト（(0x..)）があります.*$"),
        r"byte \1 is neither UTF-8 nor Shift_JIS; save the file as UTF-8",
    ),
    (
        re.compile(r"^Shift_JIS として読むと半角カタカナ.*$"),
        "decodes as Shift_JIS only into half-width katakana: probably damaged UTF-8; refused",
    ),
    (
        re.compile(r"^文字コードが (\S+) ですが、ほかのファイルは (\S+) です.*$"),
        r"encoding is \1 but the other files are \2; save all files as UTF-8",
    ),
    (
        re.compile(r"^zip の中に (\S+) が (\d+) つあります（(.*)）.*$"),
        r"the zip holds \2 entries named \1 (\3); refused as ambiguous",
    ),
    (
        re.compile(r"^展開後の大きさが上限（(\d+) MB）を超える.*$"),
        r"unpacked size exceeds the cap (\1 MB); refused",
    ),
    (
        re.compile(r"^1 行が ([\d,]+) 文字を超えています.*$"),
        r"a line longer than \1 characters (no line breaks, or a damaged file); refused",
    ),
    (re.compile(r"^圧縮率が高すぎます.*$"), "compression ratio too high (damaged or crafted zip); refused"),
    (
        re.compile(r"^引用符（\"）が閉じていません.*$"),
        'unclosed quote (") — the rest of the file would be read as one value',
    ),
    (
        re.compile(r"^引用符（\"）の使い方が正しくありません.*$"),
        'stray quote ("); write a quote inside a value as ""',
    ),
    (
        re.compile(r"^(\d+) KiB を超える値があります.*$"),
        r"a value longer than \1 KiB (check for an unclosed quote)",
    ),
    (re.compile(r"^差分（delta）ファイルでは (\S+) が必要です.*$"), r"\1 is required in a delta file"),
    (re.compile(r"^「(.*)」は日付ではありません（YYYY-MM-DD）$"), r"'\1' is not a date (YYYY-MM-DD)"),
    (re.compile(r"^「(.*)」は日時ではありません.*$"), r"'\1' is not a date-time (e.g. 2026-04-01T00:00:00Z)"),
    (
        re.compile(r"^「(.*)」に半角カタカナがあります.*$"),
        r"'\1' contains half-width katakana (use full-width)",
    ),
    (re.compile(r"^「(.*)」はかなではありません.*$"), r"'\1' is not kana"),
    (re.compile(r"^「(.*)」は UUID ではありません$"), r"'\1' is not a UUID"),
    (
        re.compile(r"^「(.*)」は = で始まるため名前として取り込めません.*$"),
        r"'\1' starts with = (a spreadsheet formula), not a name; refused",
    ),
    (
        re.compile(r"^表計算ソフト向けに書き出した名簿です.*$"),
        "this is the spreadsheet copy of an export (values may start with an added '); "
        "import the OneRoster export instead",
    ),
    (re.compile(r"^「(.*)」は別の利用者がすでに使っています$"), r"'\1' is already used by another user"),
]


def translate_message(message: str) -> str:
    for pattern, english in _PATTERNS:
        if pattern.match(message):
            return pattern.sub(english, message)
    return message


def translate_problem(line: str) -> str:
    """``file.csv:line: column: message`` with the message in English where a pattern knows it."""
    match = LINE_RE.match(line)
    if match is None:
        return line
    return f"{match['file']}:{match['line']}: {match['column']}: {translate_message(match['message'])}"


# Japanese refusals of a bundle as a whole (the English patterns above translate them)
PATH_NOT_FOUND = "ファイルまたはフォルダが見つかりません"
NOT_FOLDER_OR_ZIP = "フォルダか zip ファイルを指定してください"
ZIP_UNREADABLE = "zip ファイルを読めません（{error_type}）"
COMPRESSION_UNSUPPORTED = (
    "この zip の圧縮方式（{method} 番）には対応していません。"
    "Windows の「送る → 圧縮（zip 形式）フォルダー」など標準の方法で zip を作り直してください"
)
COMPRESSION_TOO_HIGH = (
    "圧縮率が高すぎます（{file_size:,} バイトに展開）。"
    "壊れたか細工された zip の可能性があるため取り込みません"
)
SPREADSHEET_COPY = (
    "表計算ソフト向けに書き出した名簿です（数式に見える値の先頭に ' を付けています）。"
    "取り込むと名前に ' が残るため取り込みません。「OneRoster 形式」で書き出した名簿を使ってください"
)
NAME_IS_FORMULA = "「{value}」は = で始まるため名前として取り込めません（表計算ソフトで数式として扱われます）"
LINE_TOO_LONG = (
    "1 行が {limit:,} 文字を超えています（改行のないファイルか、壊れたファイルのようです）。取り込みません"
)
NO_MANIFEST = "manifest.csv:0: -: manifest.csv がありません（OneRoster のバンドルではないようです）"

# the database refused an import that passed validation (the last guard: a sentence, never a row echoed)
DATABASE_BUSY = (
    "いまデータベースが名簿を書き込めません（{error_type}）。何も変更していません。"
    "少し待ってから、同じファイルをもう一度取り込んでください"
)
DATABASE_REFUSED_IMPORT = (
    "データベースが名簿の値を受け付けませんでした（{error_type}）。何も変更していません。"
    "ファイルの内容を確かめ、続くときは管理者に連絡してください"
)

# the yearly rollover
NO_CURRENT_YEAR = "現在の年度がありません。先に名簿（OneRoster）を取り込んでください。"
ALREADY_THAT_YEAR = "すでに {school_year} 年度です（{to_year} 年度への切り替えはできません）。"
ONE_YEAR_AT_A_TIME = "年度の切り替えは 1 年ずつです（現在 {school_year} 年度、次は {next_year}）。"
FILES_CHANGED_DURING_IMPORT = (
    "取り込みの途中でファイルが書き換えられました。書き換えが終わってから、もう一度取り込んでください"
    "（何も変更していません）"
)

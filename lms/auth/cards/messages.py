"""Every Japanese sentence of the sign-in cards (teachers' pages, the child's scanner page)."""

from __future__ import annotations

MANAGE_REFUSED = "QRログインカードの発行と無効化は、そのクラスの担任・担当の先生と学校の管理者が行います。"
CLASS_NOT_FOUND = "そのクラスは見つかりません。"
NOT_IN_CLASS = "選ばれた児童生徒の中に、このクラスにいない人がいます。名簿を確かめてください。"
NOBODY_CHOSEN = "カードを作る（または無効にする）児童生徒を1人以上選んでください。"
ALREADY_ISSUED = (
    "選ばれた児童生徒のカードは、この一覧を開いたあとに発行されています（印刷ページの再読み込みなど）。"
    "印刷したカードはそのまま使えます。作り直すときは、カードの一覧を開き直してから選んでください。"
)
LIST_TOO_OLD = "カードの一覧のページを開き直してから、もう一度発行してください。"
READ_ONLY_CLASS = "過去の年度のクラスではカードを発行できません。今年度のクラスから発行してください。"

# the child's scanner page: hiragana for the youngest readers
CARD_INVALID = "このカードは つかえません。せんせいに みせてね。"
CARD_LOCKED = (
    "まちがいが つづいたので、しばらく カードで ログインできません。"
    "{minutes}ぷん ほど まってから、もう いちど ためしてね。"
)
CARD_EMPTY = "カードの コードを いれてね。"

DONE_NOTICES = {
    "revoked": "カードを無効にしました。そのカードではもうログインできません。",
    "revoked-all": "このクラスの全員のカードを無効にしました。",
}

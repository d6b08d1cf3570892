"""Japanese sentences of notebook lessons by launch and of dynamic registration (issue 23, third round).

Apart from `lms.lti.messages` and `lms.lti.service_messages`: parallel work on LTI does not edit one file."""

from __future__ import annotations

NOTEBOOK_LESSON_TITLE = "ノートブックの授業「{assignment}」"
NOTEBOOK_LESSON_NOT_FOUND = (
    "このノートブックの授業は見つかりません。クラスに登録されているか、先生に確認してください。"
    "（ポータルのリンクのコース名・課題名が違うときは、ポータルの管理者に伝えてください。）"
)

# dynamic registration (lms/lti/dynamic_registration.py)
DR_TITLE = "学習eポータルへの登録（動的登録）"
DR_DONE_TITLE = "学習eポータルに登録しました"
DR_PARAMS_MISSING = (
    "ポータルからの登録の呼び出しに openid_configuration がありません。"
    "ポータルの「ツールの動的登録」から、このページのURL（…/lti/register）を指定し直してください。"
)
DR_CONFIG_URL_BAD = (
    "ポータルの設定情報のURL（openid_configuration）が https ではありません。"
    "ポータルの管理者に、https のURLで動的登録を行うよう伝えてください。"
)
DR_CONFIG_UNREACHABLE = (
    "ポータルの設定情報（openid_configuration）を取得できませんでした。"
    "少し待ってやり直すか、ポータルの管理者に動的登録の設定を確認してもらってください。"
)
DR_CONFIG_INVALID = (
    "ポータルの設定情報に必要な項目がないか、形式が違います（{detail}）。"
    "ポータルが LTI 動的登録 1.0 に対応しているか、ポータルの管理者に確認してください。"
)
DR_ISSUER_MISMATCH = (
    "ポータルの発行者（issuer: {issuer}）が、設定情報のURLと別のドメインです。安全のため登録しません。"
    "ポータルの管理者に、正しい設定情報のURLを確認してもらってください。"
)
DR_REGISTER_UNREACHABLE = (
    "ポータルの登録窓口（registration_endpoint）に接続できませんでした。少し待ってやり直してください。"
)
DR_REGISTER_REFUSED = (
    "ポータルが登録を受け付けませんでした（HTTP {status}）{detail}。"
    "登録用のトークンの期限が切れていることがあります。ポータルでもう一度動的登録を始めてください。"
)
DR_REGISTER_ANSWER_BAD = (
    "ポータルの登録の返事に client_id または deployment_id がありません。"
    "ポータルの管理者に、このツールの登録が作られたか確認し、必要なら手動で登録してください。"
)

"""Every Japanese sentence of the LTI tool: the launch's error pages (what went wrong, what to tell the
portal's administrator) and the administrator's platform page."""

from __future__ import annotations

TOOL_KEY_UNREADABLE = (
    "LTI の署名鍵を読み出せません（GIGA_SECRET_KEY が変わった可能性があります）。"
    "管理者は「LTI 連携」のページで鍵を作り直し、ポータル側に公開鍵を読み直してもらってください。"
)

# the administrator's page
FIELD_REQUIRED = "「{label}」を入力してください。"
LABEL_NAME = "名前"
LABEL_CLIENT_ID = "クライアントID"
LABEL_DEPLOYMENT_ID = "デプロイメントID"
LABEL_ISSUER = "発行者（issuer）"
LABEL_AUTH_LOGIN_URL = "認可エンドポイント"
LABEL_AUTH_TOKEN_URL = "トークンエンドポイント"
LABEL_JWKS_URL = "公開鍵（JWKS）のURL"
URL_MUST_BE_HTTPS = (
    "「{label}」は https:// で始まる URL を入力してください"
    "（ポータルの LTI 設定画面に表示されている値です）。"
)
DISTRICT_UNKNOWN = "選ばれた教育委員会が名簿にありません。名簿を取り込んでから選んでください。"
DISTRICT_REQUIRED = (
    "この設置には複数の教育委員会があります。このポータルから起動できる教育委員会を選んでください"
    "（「すべて」のままでは、ほかの教育委員会の利用者まで起動できてしまいます）。"
)
PLATFORM_EXISTS = (
    "同じ発行者（issuer）とクライアントIDのプラットフォームは「{name}」として登録済みです。"
    "デプロイメントIDを足すときは、一覧からそのプラットフォームを選んでください。"
)
PLATFORM_NOT_FOUND = "そのプラットフォームは登録されていません。"

# the launch's refusals: what went wrong (for the person in front of the screen) …
REFUSALS: dict[str, str] = {
    "login_params_missing": (
        "学習eポータルからの起動に必要な情報（iss、login_hint、target_link_uri）が届いていません。"
    ),
    "unknown_platform": "この学習eポータル（発行者とクライアントID）は、このサービスに登録されていません。",
    "unknown_deployment": "この学習eポータルの配置（デプロイメントID）は、このサービスに登録されていません。",
    "launch_params_missing": "起動の情報（id_token と state）が届いていません。",
    "unknown_state": (
        "起動の手続きが見つかりません。学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "replayed": (
        "この起動の情報はすでに使われています（同じ起動を二度受け付けることはありません）。"
        "学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "state_expired": (
        "起動の手続きの有効期限（10分）が切れました。学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "jwks_unreachable": (
        "学習eポータルの公開鍵を取得できませんでした。しばらくしてから、もう一度ためしてください。"
    ),
    "jwks_unreadable": (
        "学習eポータルの公開鍵を読み取れませんでした。しばらくしてから、もう一度ためしてください。"
    ),
    "bad_signature": "起動の情報の署名を確かめられませんでした。",
    "bad_token": "起動の情報（id_token）の形式が正しくありません。",
    "expired": "起動の情報の有効期限が切れています。学習eポータルに戻って、もう一度リンクを開いてください。",
    "wrong_audience": "起動の情報が、このサービスあて（クライアントID）になっていません。",
    "wrong_issuer": "起動の情報の発行者が、登録されている学習eポータルと一致しません。",
    "nonce_mismatch": "起動の情報が、この起動の手続きのものではありません。",
    "bad_version": "LTI 1.3.0 以外の起動には対応していません。",
    "bad_message_type": "この種類の起動（メッセージタイプ）には対応していません。",
    "not_on_roster": "あなたのアカウントが、このサービスの名簿に見つかりませんでした。",
    "user_disabled": "あなたのアカウントは、このサービスでは現在使えません。",
    "role_not_launchable": (
        "このアカウントの種類は、学習eポータルからは起動できません。直接サインインしてください。"
    ),
    "browser_not_bound": (
        "この起動が、リンクを開いたブラウザから届いたことを確かめられませんでした"
        "（ブラウザがこのサービスのクッキーを受け付けていない可能性があります）。"
        "学習eポータルでリンクを新しいウィンドウ（タブ）で開いてください"
        "（下に「新しいウィンドウで開く」ボタンがあるときは、それを押しても開けます）。"
    ),
    "confirm_cross_site": (
        "この確認は、このサービスの起動の画面からしか受け付けません。"
        "学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "handoff_cross_site": (
        "新しいウィンドウは、このサービスの画面の「新しいウィンドウで開く」ボタンからしか開けません。"
        "学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "pending_expired": (
        "起動の確認の有効期限（2分）が切れたか、すでに使われています。"
        "学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
    "binding_mismatch": (
        "この起動が、リンクを開いたブラウザから届いたことを確かめられませんでした"
        "（学習eポータルの画面に、この起動の確認の値が見つかりませんでした）。"
        "学習eポータルに戻って、もう一度リンクを開いてください。"
    ),
}

# … and what to tell the portal's administrator
ADMIN_HINT_DEFAULT = "続くときは、学校の学習eポータルの管理者に、この画面の内容を伝えてください。"
ADMIN_HINTS: dict[str, str] = {
    "unknown_platform": (
        "学習eポータルの管理者に「ツール側に、"
        "このポータルの発行者（issuer）とクライアントIDが登録されていない」"
        "と伝えてください。このサービスの管理者が「LTI 連携」のページで登録します。"
    ),
    "unknown_deployment": (
        "学習eポータルの管理者に「このデプロイメントIDがツール側に登録されていない」と伝えてください。"
        "このサービスの管理者が「LTI 連携」のページで追加します。"
    ),
    "jwks_unreachable": (
        "続くときは、学習eポータルの管理者に「公開鍵（JWKS）のURLに接続できない」と伝えてください。"
    ),
    "jwks_unreadable": (
        "学習eポータルの管理者に「公開鍵（JWKS）のURLが、使える鍵の一覧（JSON）を返さない」と伝えてください。"
        "このサービスの「LTI 連携」のページに登録した公開鍵のURLが正しいかも確かめてください。"
    ),
    "bad_signature": (
        "学習eポータルの管理者に「id_token の署名が、"
        "登録されている公開鍵（JWKS）で確かめられない」と伝えてください。"
        "鍵を入れ替えた直後なら、公開鍵のURLが正しいかも確かめてもらってください。"
    ),
    "wrong_audience": (
        "学習eポータルの管理者に「id_token の aud がツールのクライアントIDと一致しない」と伝えてください。"
    ),
    "wrong_issuer": "学習eポータルの管理者に「id_token の iss が登録内容と一致しない」と伝えてください。",
    "expired": (
        "何度も続くときは、学習eポータルの管理者に「id_token の有効期限切れ（サーバーの時刻ずれの可能性）」"
        "と伝えてください。"
    ),
    "not_on_roster": (
        "学校の先生か学習eポータルの管理者に「名簿（OneRoster）の sourcedId または userMasterIdentifier が"
        "起動の情報に含まれていない、またはこのサービスの名簿に取り込まれていない」と伝えてください。"
    ),
    "user_disabled": "学校の先生に、アカウントの状態を確かめてもらってください。",
    "bad_version": "学習eポータルの管理者に「LTI 1.3 で起動するよう設定してほしい」と伝えてください。",
    "bad_message_type": (
        "学習eポータルの管理者に、このリンクの種類（メッセージタイプ）を確かめてもらってください。"
    ),
    "browser_not_bound": (
        "何度も続くときは、学習eポータルの管理者に「ツールをiframeの中で開くと、ブラウザの確認（クッキーまたは"
        "LTI のpostMessageストレージ lti_storage_target）ができない。新しいウィンドウで開く設定にするか、"
        "postMessageストレージを有効にしてほしい」と伝えてください。"
    ),
    "binding_mismatch": (
        "続くときは、学習eポータルの管理者に「LTI のpostMessageストレージ（lti.get_data）が、"
        "起動の確認の値を返さない」と伝えてください。"
    ),
}

HANDOFF_EXPIRED = (
    "このページの有効期限（2分）が切れたか、すでに使われています。"
    "学習eポータルに戻って、もう一度リンクを開いてください。"
)

ADMIN_NOTICES = {
    "added": "プラットフォームを登録しました。学習eポータル側にも、このページ上部のURLを登録してください。",
    "deployment": "デプロイメントIDを追加しました。",
    "updated": "プラットフォームの設定を変更しました。",
    "binding": "ブラウザの確認の設定を変えました。",
    "rotated": "署名鍵を作り直しました。ポータルは公開鍵セットURLから新しい鍵を読み込みます。",
    "linked": "ポータルのコースをクラスに対応づけました。先生の起動はそのクラスの結果のページを開きます。",
}
REFUSED_TITLE = "学習eポータルから開けませんでした"
STORAGE_TITLE = "学習eポータルから開いています"
CONTEXT_NOT_FOUND = "そのポータルのコースは見つかりません。"
CLASS_SOURCED_ID_UNKNOWN = (
    "その sourcedId のクラスが名簿にありません。OneRoster の classes.csv の sourcedId を入力してください。"
)
SIGNED_OUT_TITLE = "サインアウトしました"
CLASS_NOT_TAUGHT = "担当しているクラスから選んでください。"
TEACHER_LINK_ONLY = "ポータルのコースとクラスの対応づけは、そのクラスを担当する先生が行います。"

"""The audit log as a person reads it: each action in Japanese and each target by its name (「山田 一郎」,
「4年1組」, 「山田 一郎 の解答（5月の読解力テスト）」) instead of ``auth.login`` and 「user 758」. The stored
codes stay as they are (filters and exports use them); the page shows both."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.reading.models import Assignment, Attempt
from lms.roster.models import Org, SchoolClass, User

ACTION_LABELS: dict[str, str] = {
    "auth.login": "サインイン",
    "auth.logout": "サインアウト",
    "auth.login_failed": "サインインの失敗",
    "auth.login_refused_locked": "ロック中のサインインを拒否",
    "auth.lockout": "アカウントを一時ロック",
    "auth.mfa_enrolled": "2段階認証を登録",
    "auth.mfa_failed": "2段階認証の失敗",
    "auth.mfa_reset": "2段階認証をリセット",
    "authz.refused": "権限のない閲覧・操作を拒否",
    "board.release": "集計を公表",
    "board.release_requested": "集計の公表を依頼",
    "card.issue": "QRログインカードを発行",
    "card.revoke": "QRログインカードを無効化",
    "cards.view": "QRログインカードの一覧を閲覧",
    "token.create": "APIトークンを発行",
    "token.revoke": "APIトークンを無効化",
    "oauth.token_issued": "ハブ連携のトークンを発行",
    "lti.launch": "学習eポータルから起動（LTI）",
    "lti.launch_refused": "学習eポータルからの起動を拒否（LTI）",
    "lti.platform_add": "LTI プラットフォームを登録",
    "lti.platform_update": "LTI プラットフォームの設定を変更",
    "lti.deployment_add": "LTI デプロイメントIDを追加",
    "lti.context_link": "ポータルのコースをクラスに対応づけ（LTI）",
    "lti.key_rotate": "LTI の署名鍵を作り直し",
    "user.create": "アカウントを作成",
    "user.view": "児童生徒の情報を閲覧",
    "school.accounts_view": "学校のアカウント一覧を閲覧",
    "roster.view": "名簿を閲覧",
    "roster.import": "名簿を取り込み",
    "roster.import_refused": "名簿の取り込みを中止",
    "roster.export": "名簿を書き出し",
    "roster.rollover": "年度の切り替え",
    "roster.zip": "名簿ファイルを受け取り",
    "assignment.create": "テストを割り当て",
    "assignment.close": "テストを全員終了",
    "assignment.live_view": "実施状況を閲覧",
    "attempt.reset": "解答を最初からやり直しに",
    "attempt.resume": "解答の再開を許可",
    "reset": "解答を最初からやり直しに",
    "resume": "解答の再開を許可",
    "results.view": "結果を閲覧",
    "report.view": "クラスの結果を閲覧",
    "report.print": "クラスの結果を印刷",
    "report.export": "クラスの結果をCSVで出力",
    "lti.deep_link": "ポータルから教材を追加（ディープリンク）",
    "lti.roster_compare": "ポータルの名簿と照合",
    "lti.scores_retry": "ポータルへの成績を送り直し",
    "practice.view": "練習を閲覧",
    "practice.class_view": "クラスの練習を閲覧",
    "practice.override": "練習問題を先生が変更",
    "practice.override_cleared": "練習問題を自動のおすすめに戻す",
    "practice.assign": "練習を配布",
    "item.promote": "問題を本番用に昇格",
    "item_review.approve": "問題のレビュー：承認",
    "item_review.send_back": "問題のレビュー：差し戻し",
    "item_review.applied": "レビューの承認を問題バンクに反映",
    "item_reviewer.grant": "問題のレビュー担当に登録",
    "item_reviewer.revoke": "問題のレビュー担当から外す",
    "research.export": "研究用データを出力",
    "board.refresh": "教育委員会の集計を更新",
    "board.reference_value": "教育委員会の参照値を変更",
    "board.opendata_export": "オープンデータを出力",
    "support.grant": "サポート閲覧を許可",
    "support.revoke": "サポート閲覧の許可を取り消し",
    "support.view": "サポートとして閲覧",
    "notebook.course_create": "ノートブックのコースを作成",
    "notebook.deadline_set": "ノートブック課題の期限・延長を設定",
    "notebook.gradebook_view": "ノートブックの成績を閲覧",
    "notebook.grades_write": "ノートブックの成績を記録",
    "notebook.hub_sync": "名簿をハブに反映",
    "notebook.prestart": "授業をはじめる（全員のノートブックを起動）",
}
TARGET_LABELS: dict[str, str] = {
    "user": "利用者",
    "username": "ユーザー名",
    "qr_card": "QRログインカード（接続元）",
    "class": "クラス",
    "org": "学校・組織",
    "assignment": "テスト",
    "attempt": "解答",
    "attempt_results": "解答の結果",
    "student": "児童生徒",
    "board_release": "公表した集計",
    "board_release_job": "集計の公表の処理",
    "item": "問題",
    "notebook_course": "ノートブックのコース",
    "api_token": "APIトークン",
    "academic_session": "年度",
    "support_grant": "サポート許可",
    "oneroster_bundle": "名簿ファイル",
    "research_export": "研究用データ",
    "opendata": "オープンデータ",
    "board_figure": "集計",
    "reference_value": "参照値",
    "oauth_client": "連携先",
    "oidc_subject": "外部サインイン",
    "lti_platform": "LTI プラットフォーム（学習eポータル）",
    "lti_subject": "学習eポータルの利用者",
    "lti_context": "学習eポータルのコース",
    "lti_tool_key": "LTI の署名鍵",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def _ints(values: Sequence[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


def target_names(session: Session, events: Sequence[AuditEvent]) -> dict[tuple[str, str], str]:
    """``{(target_type, target_id): name}`` for the events' users, classes, schools, tests and answers, in
    one query per kind (a page shows at most a few hundred events)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.target_type and event.target_id is not None:
            wanted[event.target_type].update(str(event.target_id).split(","))
    names: dict[tuple[str, str], str] = {}
    if ids := _ints(sorted(wanted["user"])):
        for user in session.exec(select(User).where(col(User.id).in_(ids))):
            names[("user", str(user.id))] = user.display_name
    if ids := _ints(sorted(wanted["class"])):
        for klass in session.exec(select(SchoolClass).where(col(SchoolClass.id).in_(ids))):
            names[("class", str(klass.id))] = klass.title
    if ids := _ints(sorted(wanted["org"])):
        for org in session.exec(select(Org).where(col(Org.id).in_(ids))):
            names[("org", str(org.id))] = org.name
    if ids := _ints(sorted(wanted["assignment"])):
        for assignment in session.exec(select(Assignment).where(col(Assignment.id).in_(ids))):
            names[("assignment", str(assignment.id))] = assignment.title
    if ids := _ints(sorted(wanted["attempt"])):
        rows = session.exec(
            select(Attempt.id, User, Assignment.title)
            .join(User, col(User.id) == col(Attempt.student_id))
            .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
            .where(col(Attempt.id).in_(ids))
        ).all()
        for attempt_id, student, title in rows:
            names[("attempt", str(attempt_id))] = f"{student.display_name} の解答（{title}）"
    return names


def describe_target(event: AuditEvent, names: dict[tuple[str, str], str]) -> str:
    """「クラス: 4年1組」; several ids → each named; unknown ones keep their number."""
    if not event.target_type:
        return ""
    kind = TARGET_LABELS.get(event.target_type, event.target_type)
    if event.target_id is None:
        return kind
    parts = [names.get((event.target_type, part), part) for part in str(event.target_id).split(",")]
    return f"{kind}: {'、'.join(parts)}"


def audit_rows(session: Session, events: Sequence[tuple[AuditEvent, Any]]) -> list[dict[str, Any]]:
    """What the audit page shows per event: time, who (name and user name), action, target, ip."""
    names = target_names(session, [event for event, _ in events])
    actor_ids = sorted({event.actor_id for event, _ in events if event.actor_id is not None})
    actors = {u.id: u.display_name for u in session.exec(select(User).where(col(User.id).in_(actor_ids)))}
    return [
        {
            "event": event,
            "username": username,
            "actor_name": actors.get(event.actor_id),
            "action_label": action_label(event.action),
            "target": describe_target(event, names),
        }
        for event, username in events
    ]

"""QR sign-in cards: issue, revoke, and sign in with one. Services flush, never commit.

A card carries a random 60-bit code (12 characters of an alphabet without look-alikes: no 0/O, 1/I).
Only its HMAC-SHA-256 under the server's secret key (``GIGA_SECRET_KEY``) is stored, so a printed card
cannot be printed again — a lost card is reissued, which revokes the old one. Not a plain SHA-256: 60 bits
are few for an unkeyed fast hash once a copy of the database (a backup) leaves the server — against a city's
ten thousand cards at once, one GPU (~2·10^10 SHA-256/s) finds a first code in about an hour and a half. With
the key, a copied database alone lets nobody try codes offline. Changing the key ends every card (reissue).

Who: only students may hold a card (a QR is never a staff account's only factor); only the class's teachers
and the school administrators of its school issue or revoke (`check_may_manage`). Every issue, revocation
and sign-in (accepted or refused) is one audit event. Sign-in is throttled like a password: a failed code
counts against the caller's address (`throttle`, keys ``account:qr-card@<ip>`` and ``ip:<ip>``) and card
sign-in from that address is locked after ``login_throttle_max_per_ip`` failures within the window, the
password rule per address. A guesser does not aim at one account, so the per-account limit of passwords has no
counterpart; a school behind one NAT address is not locked out by a few children's typing mistakes, and 50
guesses per 15 minutes against 2^60 codes find nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from lms.audit.service import record_event
from lms.auth import throttle
from lms.auth.cards import messages as msg
from lms.auth.cards.models import SignInCard
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.core.jst import today_in_japan
from lms.core.settings import Settings
from lms.permissions import school_ids, taught_class_ids
from lms.roster.models import Enrollment, SchoolClass, User

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
QR_PREFIX = "GIGA-CARD:"


@dataclass(frozen=True)
class CardLine:
    """A student of the class and their active card (None: no card)."""

    user: User
    shusseki_no: int | None
    card: SignInCard | None


@dataclass(frozen=True)
class IssuedCard:
    """A card as printed once: the student and the code in clear."""

    user: User
    shusseki_no: int | None
    code: str

    @property
    def grouped(self) -> str:
        """The code as printed for typing: ``ABCD-EFGH-JKLM``."""
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    @property
    def qr_payload(self) -> str:
        return QR_PREFIX + self.code


@dataclass(frozen=True)
class CardSignIn:
    outcome: str  # "ok" | "invalid" | "locked"
    user: User | None = None
    retry_after_minutes: int = 0


def card_hash(code: str, settings: Settings) -> str:
    """The stored form of a card's code (see the module docstring)."""
    return hmac.new(settings.secret_key.encode("utf-8"), code.encode("utf-8"), hashlib.sha256).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """The code typed or scanned, without the QR prefix, spaces or hyphens (full-width accepted); None when it
    cannot be a card code."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    if text.startswith(QR_PREFIX):
        text = text[len(QR_PREFIX) :]
    text = "".join(ch for ch in text if ch not in " -ー")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


# --- who may manage -----------------------------------------------------------------------------------------


def check_may_manage(session: Session, user: User, class_: SchoolClass) -> None:
    """Teachers of the class and school administrators of its school; nobody else (not even the system
    administrator: a card is a key to a child's account, handed out by the adults who know the child)."""
    if user.role == "teacher" and class_.id in taught_class_ids(session, user):
        return
    if user.role == "school_admin" and class_.school_id in school_ids(session, user):
        return
    if user.role in ("admin", "board"):
        raise Forbidden(msg.MANAGE_REFUSED)
    raise NotFound(msg.CLASS_NOT_FOUND)


# --- the class's cards --------------------------------------------------------------------------------------


def _students(session: Session, class_: SchoolClass) -> list[tuple[User, int | None]]:
    rows = session.exec(
        select(User, Enrollment.shusseki_no)
        .join(Enrollment, col(Enrollment.user_id) == col(User.id))
        .where(
            Enrollment.class_id == class_.id,
            Enrollment.role == "student",
            Enrollment.status == "active",
            User.role == "student",
        )
    ).all()
    return sorted(rows, key=lambda row: (row[1] or 10_000, row[0].kana_family_name or "", row[0].id or 0))


def _active_rows(session: Session, user_ids: list[int]) -> list[SignInCard]:
    """Every card of these users not revoked, oldest first (two teachers issuing at the same moment can leave
    a child two; revocation takes them all)."""
    if not user_ids:
        return []
    return list(
        session.exec(
            select(SignInCard)
            .where(col(SignInCard.user_id).in_(user_ids), col(SignInCard.revoked_at).is_(None))
            .order_by(col(SignInCard.id))
        ).all()
    )


def _active_cards(session: Session, user_ids: list[int]) -> dict[int, SignInCard]:
    """The newest active card of each user."""
    return {card.user_id: card for card in _active_rows(session, user_ids)}


def class_cards(*, session: Session, class_: SchoolClass) -> list[CardLine]:
    """Every student of the class with their active card, by 出席番号."""
    students = _students(session, class_)
    cards = _active_cards(session, [user.id for user, _ in students if user.id is not None])
    return [CardLine(user=user, shusseki_no=no, card=cards.get(user.id or -1)) for user, no in students]


def _revoke(
    session: Session, card: SignInCard, *, actor: User, now: datetime, ip: str | None, why: str
) -> None:
    card.revoked_at, card.revoked_by_id = now, actor.id
    session.add(card)
    record_event(
        session=session,
        actor_id=actor.id,
        action="card.revoke",
        target_type="user",
        target_id=card.user_id,
        ip=ip,
        detail={"card_id": card.id, "class_id": card.class_id, "why": why},
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def issue_cards(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    student_ids: list[int],
    listed_at: datetime,
    now: datetime,
    ip: str | None,
    settings: Settings,
) -> list[IssuedCard]:
    """New cards for the chosen students of the class (their earlier cards stop working); the codes in clear,
    to be printed now — they are not stored.

    ``listed_at`` is when the teacher saw the list they chose from: a card issued after it is not replaced
    (409). So a reload of the print page, which sends the form again, cannot silently revoke the cards just
    printed."""
    check_may_manage(session, actor, class_)
    if class_.read_only:
        raise InvalidInput(msg.READ_ONLY_CLASS)
    students = {user.id: (user, no) for user, no in _students(session, class_)}
    wanted = list(dict.fromkeys(student_ids))
    if not wanted:
        raise InvalidInput(msg.NOBODY_CHOSEN)
    unknown = [sid for sid in wanted if sid not in students]
    if unknown:
        raise NotFound(msg.NOT_IN_CLASS)
    earlier = _active_rows(session, wanted)
    if any(_aware(card.created_at) > listed_at for card in earlier):
        raise Conflict(msg.ALREADY_ISSUED)
    for old in earlier:
        _revoke(session, old, actor=actor, now=now, ip=ip, why="reissue")
    issued: list[IssuedCard] = []
    for student_id in wanted:
        user, no = students[student_id]
        code = new_code()
        card = SignInCard(
            user_id=student_id,
            class_id=class_.id or 0,
            secret_hash=card_hash(code, settings),
            created_at=now,
            created_by_id=actor.id,
        )
        session.add(card)
        session.flush()
        record_event(
            session=session,
            actor_id=actor.id,
            action="card.issue",
            target_type="user",
            target_id=student_id,
            ip=ip,
            detail={"card_id": card.id, "class_id": class_.id},
        )
        issued.append(IssuedCard(user=user, shusseki_no=no, code=code))
    session.flush()
    return issued


def revoke_cards(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    student_ids: list[int] | None,
    now: datetime,
    ip: str | None,
) -> int:
    """Revoke the active cards of the chosen students (None: every student of the class); how many."""
    check_may_manage(session, actor, class_)
    students = {user.id for user, _ in _students(session, class_)}
    if student_ids is not None:
        if not student_ids:
            raise InvalidInput(msg.NOBODY_CHOSEN)
        if any(sid not in students for sid in student_ids):
            raise NotFound(msg.NOT_IN_CLASS)
        chosen = list(dict.fromkeys(student_ids))
    else:
        chosen = [sid for sid in students if sid is not None]
    cards = _active_rows(session, chosen)
    for card in cards:
        _revoke(session, card, actor=actor, now=now, ip=ip, why="class" if student_ids is None else "child")
    session.flush()
    return len(cards)


# --- signing in with a card ---------------------------------------------------------------------------------


def _throttle_name(ip: str | None) -> str:
    return f"qr-card@{ip or 'unknown'}"


def _card_limits(settings: Settings) -> Settings:
    """The throttle's settings for cards: the per-address limit for the card key as well."""
    return settings.model_copy(update={"login_max_failures": settings.login_throttle_max_per_ip})


def _card_holder(
    session: Session, code: str, now: datetime, settings: Settings
) -> tuple[SignInCard, User] | None:
    """The active card of ``code`` and its holder, when the holder is still an active student of its class:
    an enrollment that has ended (the roll-over ends last year's on 31 March and leaves them ``active``) or a
    past year's (read-only) class opens nothing."""
    row = session.exec(
        select(SignInCard, User)
        .join(User, col(User.id) == col(SignInCard.user_id))
        .where(SignInCard.secret_hash == card_hash(code, settings), col(SignInCard.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    card, user = row
    if user.role != "student" or not user.enabled or user.status != "active":
        return None
    enrolled = session.exec(
        select(Enrollment.id)
        .join(SchoolClass, col(SchoolClass.id) == col(Enrollment.class_id))
        .where(
            Enrollment.user_id == user.id,
            Enrollment.class_id == card.class_id,
            Enrollment.role == "student",
            Enrollment.status == "active",
            or_(col(Enrollment.end_date).is_(None), col(Enrollment.end_date) >= today_in_japan(now)),
            col(SchoolClass.read_only).is_(False),
        )
    ).first()
    return (card, user) if enrolled is not None else None


def card_sign_in(
    *, session: Session, settings: Settings, raw_code: str, ip: str | None, now: datetime
) -> CardSignIn:
    """Check a scanned or typed card code under the throttle; audit success, failure and lock-out."""
    name = _throttle_name(ip)
    settings = _card_limits(settings)
    slot = throttle.reserve(session=session, settings=settings, username=name, ip=ip, now=now)
    if not slot.allowed:
        record_event(
            session=session,
            actor_id=None,
            action="auth.login_refused_locked",
            target_type="qr_card",
            target_id=ip or "",
            ip=ip,
            detail={"method": "qr_card"},
        )
        return CardSignIn("locked", retry_after_minutes=slot.retry_after_minutes)
    code = normalise_code(raw_code)
    found = _card_holder(session, code, now, settings) if code is not None else None
    if found is None:
        locked_now = throttle.lock_if_full(session=session, settings=settings, slot=slot, now=now)
        record_event(
            session=session,
            actor_id=None,
            action="auth.login_failed",
            target_type="qr_card",
            target_id=ip or "",
            ip=ip,
            detail={"method": "qr_card"},
        )
        if locked_now:
            record_event(
                session=session,
                actor_id=None,
                action="auth.lockout",
                target_type="qr_card",
                target_id=ip or "",
                ip=ip,
                detail={"minutes": settings.login_lockout_minutes, "method": "qr_card"},
            )
        session.flush()
        return CardSignIn("invalid")
    card, user = found
    card.last_used_at = now
    session.add(card)
    throttle.release(session=session, settings=settings, slot=slot, username=name)
    session.flush()
    return CardSignIn("ok", user=user)

"""Invitations: a new user sets their own password through a single-use link that expires.

The token (32 random bytes) is shown once, to the admin who sends it; only its SHA-256 is stored, so
the database never holds a usable link. A newer link revokes the older ones. Every step is audited:
issued, accepted, and a refused use (expired, used, revoked, or the account deactivated).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import User, UserInvitation
from ..models.base import utcnow
from ..refusals import Refused

VALID_FOR = timedelta(hours=72)


class InvitationRefused(Refused):
    def __init__(self, message: str, status: int = 410) -> None:
        super().__init__(message)
        self.status = status  # 404: no such link; 410: the link existed and may not be used any more


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(user: User, by: User | None) -> tuple[str, datetime]:
    """A new link for `user` (older unused ones stop working); returns the token and when it expires.
    The caller commits."""
    now = utcnow()
    db.session.execute(sa.update(UserInvitation).where(
        UserInvitation.user_id == user.id, UserInvitation.used_at.is_(None), UserInvitation.revoked_at.is_(None))
        .values(revoked_at=now))
    token = secrets.token_urlsafe(32)
    expires = now + VALID_FOR
    db.session.add(UserInvitation(user_id=user.id, token_hash=_digest(token), expires_at=expires,
                                  created_by_user_id=by.id if by else None))
    audit.record("user.invited", user, actor=by, expires_at=expires.isoformat(timespec="minutes"))
    return token, expires


def find(token: str, attempt: bool = False) -> UserInvitation:
    """The invitation a link names, if it may still be used; refused with a reason otherwise. Only an
    attempt to use a spent link (`attempt`: a POST) is audited, once per link and reason: opening it (a
    GET, a mail scanner, 100 reloads) writes nothing."""
    invitation = db.session.scalar(sa.select(UserInvitation).where(UserInvitation.token_hash == _digest(token[:200])))
    if invitation is None:
        raise InvitationRefused("This invitation link is not valid. Ask your administrator for a new one.", status=404)
    why = None
    if invitation.used_at is not None:
        why = "was already used to set a password"
    elif invitation.revoked_at is not None:
        why = "was replaced by a newer link"
    elif invitation.expires_at <= utcnow():
        why = "has expired"
    elif not invitation.user.active:
        why = "belongs to a deactivated account"
    if why:
        if attempt and not _refusal_recorded(invitation, why):
            audit.record("user.invitation_refused", invitation.user, actor=None, reason=why, invitation_id=invitation.id)
            db.session.commit()
        raise InvitationRefused(f"This invitation link {why}. Ask your administrator for a new one.", status=410)
    return invitation


def _refusal_recorded(invitation: UserInvitation, why: str) -> bool:
    from ..models import EventAdminAction

    rows = db.session.scalars(sa.select(EventAdminAction.details).where(
        EventAdminAction.action == "user.invitation_refused", EventAdminAction.target_type == "users",
        EventAdminAction.target_id == str(invitation.user_id)).order_by(EventAdminAction.id.desc()).limit(50))
    return any(isinstance(d, dict) and d.get("reason") == why and d.get("invitation_id") == invitation.id for d in rows)


def accept(invitation: UserInvitation, password: str) -> User:
    """Set the user's password from their link; the link is spent in the same transaction, and only once
    even when two requests race (the conditional UPDATE decides)."""
    spent = db.session.execute(sa.update(UserInvitation).where(
        UserInvitation.id == invitation.id, UserInvitation.used_at.is_(None), UserInvitation.revoked_at.is_(None))
        .values(used_at=utcnow()))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InvitationRefused("This invitation link was already used to set a password.", status=410)
    user = invitation.user
    user.set_password(password)
    audit.record("user.invitation_accepted", user, actor=user)
    db.session.commit()
    return user

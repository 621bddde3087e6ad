"""Authentication and password rules, kept out of the views."""
from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db
from ..models import User
from ..models.accounts import password_method
from ..models.base import utcnow
from ..refusals import Refused
from .throttle import admit, succeeded


@cache
def _dummy_hash(method: str) -> str:
    """A real hash to check against when the email is unknown, so timing does not reveal accounts."""
    return generate_password_hash("no account has this password", method=method)


class LoginRefused(Refused):
    def __init__(self, message: str, bad_credentials: bool = True) -> None:
        super().__init__(message)
        self.bad_credentials = bad_credentials


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str, address: str) -> User:
    """Return the signed-in user (its sign-in recorded), or raise LoginRefused with a message safe to show
    (the failed attempt is kept: the throttle counts it)."""
    try:
        user = _check(normalize_email(email)[:254], password, address)
    except LoginRefused as refused:
        # in the audit log too: who tried which account from where (never the password), and lock-outs
        audit.record("auth.login_locked_out" if not refused.bad_credentials else "auth.login_failed", None,
                     actor=None, account=normalize_email(email)[:254])
        db.session.commit()
        raise
    user.last_login_at = utcnow()
    audit.record("auth.login", user, actor=user)
    db.session.commit()
    return user


def sign_out(user: User) -> None:
    """End every session of the user: the session version moves on, so a copied session or remember
    cookie no longer opens the console anywhere."""
    audit.record("auth.logout", user)
    user.session_version = (user.session_version or 0) + 1
    db.session.commit()


def _check(email: str, password: str, address: str) -> User:
    attempt, wait = admit(email, address[:64])
    if wait:
        raise LoginRefused(
            f"Too many failed sign-in attempts. Try again in {wait} minute{'s' if wait != 1 else ''}.",
            bad_credentials=False,
        )
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        check_password_hash(_dummy_hash(password_method()), password)
    if user is None or not (user.check_password(password) and user.active):
        raise LoginRefused("Email or password is not right, or the account is deactivated.")
    if user.client is not None and user.client.archived:
        raise LoginRefused("Your organisation's access to this portal has ended. Ask your agency contact.")
    succeeded(attempt)
    return user


def change_password(user: User, current: str, new: str) -> bool:
    if not user.check_password(current):
        return False
    user.set_password(new)
    audit.record("auth.password_changed", user)
    db.session.commit()
    return True


def password_problem(password: str, *context: str | None, current_hash: str | None = None) -> str | None:
    """Why a new password is refused, or None. zxcvbn scores guessability (score 3 or more needed), with
    the user's own email and name as words an attacker would try first."""
    from zxcvbn import zxcvbn

    if len(password) < 12:
        return "Use at least 12 characters."
    if current_hash and check_password_hash(current_hash, password):
        return "Choose a password other than the current one."
    words = [w for c in context if c for w in [c, *c.replace("@", " ").replace(".", " ").split()]]
    result = zxcvbn(password[:100], user_inputs=words)
    if result["score"] < 3:
        hint = (result.get("feedback") or {}).get("warning") or "it is too easy to guess"
        return f"Choose a harder password: {hint.rstrip('.').lower()}. Several unrelated words work well."
    return None
